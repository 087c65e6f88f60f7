import type { Readable } from "node:stream";

/** Content-addressed blob storage: a blob's name is the hex SHA-256 of its bytes. */
export interface BlobStore {
  /**
   * Stores bytes under their SHA-256 (the caller's claim is verified). A second put stores nothing
   * but marks the blob as just written, so the collector's grace period protects it again until the
   * version that names it is committed.
   */
  put(sha256: string, data: Buffer): Promise<void>;
  /** put() for content in a file, streamed: a bundle archive is never held in memory whole. */
  putFile(sha256: string, filePath: string): Promise<void>;
  has(sha256: string): Promise<boolean>;
  size(sha256: string): Promise<number | null>;
  /** A stream of the blob, or of the inclusive byte range [start, end]. */
  open(sha256: string, range?: { start: number; end: number }): Promise<Readable | null>;
  read(sha256: string): Promise<Buffer | null>;
  delete(sha256: string): Promise<void>;
  /** Batches of the blobs last written before `cutoff`: the collector's candidates. */
  listWrittenBefore(cutoff: Date): AsyncIterable<string[]>;
  /** Deletes the blob unless it was written (or put again) at or after `cutoff`; true if deleted. */
  deleteIfWrittenBefore(sha256: string, cutoff: Date): Promise<boolean>;
  /** Removes temporary files a crashed write left behind; returns how many. */
  sweepTemporary(options: { atBoot: boolean; graceMs: number; nowMs: number }): Promise<number>;
}
