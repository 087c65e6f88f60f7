import type { Readable } from "node:stream";

/** Content-addressed blob storage: a blob's name is the hex SHA-256 of its bytes. */
export interface BlobStore {
  /** Stores bytes under their SHA-256 (the caller's claim is verified); a second put is a no-op. */
  put(sha256: string, data: Buffer): Promise<void>;
  has(sha256: string): Promise<boolean>;
  size(sha256: string): Promise<number | null>;
  /** A stream of the blob, or of the inclusive byte range [start, end]. */
  open(sha256: string, range?: { start: number; end: number }): Promise<Readable | null>;
  read(sha256: string): Promise<Buffer | null>;
  delete(sha256: string): Promise<void>;
}
