import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { AppError } from "../http/errors.js";
import type { BlobStore } from "./blob-store.js";

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Blobs as files under `<dir>/ab/cd/<sha256>`. A blob is written to a temporary file in the same
 * directory and renamed into place, so a crash never leaves a partial blob under its final name.
 */
export class FsBlobStore implements BlobStore {
  constructor(private readonly dir: string) {}

  private pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new AppError("s3_error", "invalid blob name");
    return path.join(this.dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async put(sha256: string, data: Buffer): Promise<void> {
    const actual = createHash("sha256").update(data).digest("hex");
    if (actual !== sha256) throw new AppError("s3_error", "blob content does not match its digest");
    const target = this.pathOf(sha256);
    if (await this.has(sha256)) return;
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(temp, data);
      await rename(temp, target);
    } catch (cause) {
      await rm(temp, { force: true });
      throw new AppError("s3_error", "could not store blob", undefined, { cause });
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
}
