import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { link, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AppError } from "../errors.js";
import type { BlobStore } from "./blob-store.js";
import { isAbandonedTemp, isTempFileName, sweepTempDir, tempFileName } from "./temp-files.js";

const SHA256 = /^[0-9a-f]{64}$/;
const FANOUT = /^[0-9a-f]{2}$/;
const LIST_BATCH = 500;

/**
 * Blobs as files under `<dir>/ab/cd/<sha256>`. A blob is written to a temporary file in
 * `<dir>/.tmp` (same file system) and renamed into place, so a crash never leaves a partial blob
 * under its final name, and the temporary files a crash leaves are all in one directory. A blob's
 * mtime is when it was last written or put again: the collector's grace period counts from it.
 */
export class FsBlobStore implements BlobStore {
  private readonly tempDir: string;
  /** Directories known to exist: a bundle of 10,000 files would otherwise cost 20,000 mkdir calls. */
  private readonly madeDirs = new Set<string>();

  constructor(private readonly dir: string) {
    this.tempDir = path.join(dir, ".tmp");
  }

  private pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new AppError("s3_error", "invalid blob name");
    return path.join(this.dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async put(sha256: string, data: Buffer): Promise<void> {
    const actual = createHash("sha256").update(data).digest("hex");
    if (actual !== sha256) throw new AppError("s3_error", "blob content does not match its digest");
    if (await this.touch(sha256)) return;
    await this.writeThroughTemp(sha256, (temp) => writeFile(temp, data));
  }

  async putFile(sha256: string, filePath: string): Promise<void> {
    const target = this.pathOf(sha256);
    if (await this.touch(sha256)) return;
    await this.writeThroughTemp(sha256, async (temp) => {
      const hash = createHash("sha256");
      const source = createReadStream(filePath);
      source.on("data", (chunk) => hash.update(chunk));
      await pipeline(source, createWriteStream(temp));
      if (hash.digest("hex") !== sha256) {
        throw new AppError("s3_error", "blob content does not match its digest", undefined, {
          cause: new Error(`${path.basename(target)} mismatch`),
        });
      }
    });
  }

  private async writeThroughTemp(sha256: string, write: (temp: string) => Promise<void>): Promise<void> {
    const target = this.pathOf(sha256);
    const temp = path.join(this.tempDir, tempFileName(sha256));
    try {
      await this.makeDir(this.tempDir);
      await write(temp);
      await this.makeDir(path.dirname(target));
      await rename(temp, target).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
        // Removed behind our back since we made it: make it again.
        this.madeDirs.clear();
        await this.makeDir(path.dirname(target));
        await rename(temp, target);
      });
    } catch (cause) {
      await rm(temp, { force: true });
      if (cause instanceof AppError) throw cause;
      throw new AppError("s3_error", "could not store blob", undefined, { cause });
    }
  }

  private async makeDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.madeDirs.add(dir);
  }

  /** Marks an existing blob as just written; false when there is none. */
  private async touch(sha256: string): Promise<boolean> {
    const now = new Date();
    try {
      await utimes(this.pathOf(sha256), now, now);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw new AppError("s3_error", "could not read blob", undefined, { cause: error });
    }
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.size(sha256)) !== null;
  }

  async size(sha256: string): Promise<number | null> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw new AppError("s3_error", "could not read blob", undefined, { cause: error });
    }
  }

  async open(sha256: string, range?: { start: number; end: number }): Promise<Readable | null> {
    if (!(await this.has(sha256))) return null;
    return createReadStream(this.pathOf(sha256), range);
  }

  async read(sha256: string): Promise<Buffer | null> {
    try {
      return await readFile(this.pathOf(sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw new AppError("s3_error", "could not read blob", undefined, { cause: error });
    }
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  async *listWrittenBefore(cutoff: Date): AsyncIterable<string[]> {
    let batch: string[] = [];
    for (const first of await listDir(this.dir)) {
      if (!FANOUT.test(first)) continue;
      for (const second of await listDir(path.join(this.dir, first))) {
        if (!FANOUT.test(second)) continue;
        const leaf = path.join(this.dir, first, second);
        for (const name of await listDir(leaf)) {
          if (!SHA256.test(name)) continue;
          const info = await stat(path.join(leaf, name)).catch(() => null);
          if (info === null || info.mtimeMs >= cutoff.getTime()) continue;
          batch.push(name);
          if (batch.length >= LIST_BATCH) {
            yield batch;
            batch = [];
          }
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  async deleteIfWrittenBefore(sha256: string, cutoff: Date): Promise<boolean> {
    const target = this.pathOf(sha256);
    const before = await stat(target).catch(() => null);
    if (before === null || before.mtimeMs >= cutoff.getTime()) return false;
    // Moved aside first, then checked again: a publish that put this blob again between the stat
    // and the rename has touched it, and it goes back. One that comes after the rename finds no
    // blob and writes it anew.
    await this.makeDir(this.tempDir);
    const doomed = path.join(this.tempDir, tempFileName(sha256));
    try {
      await rename(target, doomed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
    const after = await stat(doomed);
    if (after.mtimeMs >= cutoff.getTime()) {
      await link(doomed, target).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "EEXIST") throw error;
      });
      await rm(doomed, { force: true });
      return false;
    }
    await rm(doomed, { force: true });
    return true;
  }

  async sweepTemporary(options: { atBoot: boolean; graceMs: number; nowMs: number }): Promise<number> {
    let removed = await sweepTempDir(this.tempDir, options);
    if (options.atBoot) return removed;
    // Earlier versions wrote temporary files next to the blob: found by the walk, removed by age.
    for (const first of await listDir(this.dir)) {
      if (!FANOUT.test(first)) continue;
      for (const second of await listDir(path.join(this.dir, first))) {
        if (!FANOUT.test(second)) continue;
        const leaf = path.join(this.dir, first, second);
        for (const name of await listDir(leaf)) {
          if (!isTempFileName(name)) continue;
          const info = await stat(path.join(leaf, name)).catch(() => null);
          if (info === null || !isAbandonedTemp(name, info.mtimeMs, options)) continue;
          await rm(path.join(leaf, name), { force: true });
          removed += 1;
        }
      }
    }
    return removed;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}
