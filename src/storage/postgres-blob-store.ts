import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { AppError } from "../errors.js";
import type { BlobStore } from "./blob-store.js";

/** 256 KiB: small enough to stream, large enough to keep the row count of a 50 MiB bundle low. */
const CHUNK_BYTES = 256 * 1024;
const LIST_BATCH = 500;

/**
 * Blobs in PostgreSQL (scale mode without a shared file system). A blob's chunks are inserted in
 * one transaction together with its `blobs` row, so a reader never sees a partial blob; reads
 * stream chunk by chunk.
 */
export class PostgresBlobStore implements BlobStore {
  constructor(private readonly db: Kysely<Database>) {}

  async put(sha256: string, data: Buffer): Promise<void> {
    if (createHash("sha256").update(data).digest("hex") !== sha256) {
      throw new AppError("s3_error", "blob content does not match its digest");
    }
    await this.store(sha256, data.length, async function* () {
      for (let offset = 0; offset < data.length; offset += CHUNK_BYTES) {
        yield data.subarray(offset, offset + CHUNK_BYTES);
      }
    });
  }

  async putFile(sha256: string, filePath: string): Promise<void> {
    const { size } = await stat(filePath);
    await this.store(sha256, size, async function* () {
      const hash = createHash("sha256");
      for await (const chunk of exactChunks(createReadStream(filePath, { highWaterMark: CHUNK_BYTES }))) {
        hash.update(chunk);
        yield chunk;
      }
      // Checked before the transaction commits: a mismatch leaves nothing behind.
      if (hash.digest("hex") !== sha256)
        throw new AppError("s3_error", "blob content does not match its digest");
    });
  }

  /**
   * A blob that exists is only marked as written now. That update and the collector's conditional
   * delete touch the same row, so one of them wins: either the blob stays, or it is gone and is
   * inserted again here.
   */
  private async store(sha256: string, size: number, chunks: () => AsyncIterable<Buffer>): Promise<void> {
    try {
      const touched = await this.db
        .updateTable("blobs")
        .set({ created_at: new Date().toISOString() })
        .where("sha256", "=", sha256)
        .executeTakeFirst();
      if (Number(touched.numUpdatedRows) > 0) return;
      await this.db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto("blobs")
          .values({ sha256, size_bytes: size, created_at: new Date().toISOString() })
          .onConflict((oc) => oc.column("sha256").doNothing())
          .returning("sha256")
          .executeTakeFirst();
        if (!inserted) return; // stored concurrently by someone else: same bytes, nothing to do
        let seq = 0;
        for await (const data of chunks()) {
          await trx.insertInto("blob_chunks").values({ sha256, seq, data }).execute();
          seq += 1;
        }
        if (seq === 0) {
          await trx
            .insertInto("blob_chunks")
            .values({ sha256, seq, data: Buffer.alloc(0) })
            .execute();
        }
      });
    } catch (cause) {
      if (cause instanceof AppError) throw cause;
      throw new AppError("s3_error", "could not store blob", undefined, { cause });
    }
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.size(sha256)) !== null;
  }

  async size(sha256: string): Promise<number | null> {
    const row = await this.db
      .selectFrom("blobs")
      .select("size_bytes")
      .where("sha256", "=", sha256)
      .executeTakeFirst();
    return row ? Number(row.size_bytes) : null;
  }

  async open(sha256: string, range?: { start: number; end: number }): Promise<Readable | null> {
    const size = await this.size(sha256);
    if (size === null) return null;
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    const db = this.db;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let seq = Math.floor(start / CHUNK_BYTES); seq * CHUNK_BYTES <= end; seq++) {
        const row = await db
          .selectFrom("blob_chunks")
          .select("data")
          .where("sha256", "=", sha256)
          .where("seq", "=", seq)
          .executeTakeFirst();
        if (!row) throw new AppError("s3_error", "blob chunk missing");
        const chunkStart = seq * CHUNK_BYTES;
        yield row.data.subarray(
          Math.max(0, start - chunkStart),
          Math.min(row.data.length, end - chunkStart + 1),
        );
      }
    }
    return Readable.from(chunks());
  }

  async read(sha256: string): Promise<Buffer | null> {
    const rows = await this.db
      .selectFrom("blob_chunks")
      .select("data")
      .where("sha256", "=", sha256)
      .orderBy("seq")
      .execute();
    if (rows.length === 0) return (await this.has(sha256)) ? Buffer.alloc(0) : null;
    return Buffer.concat(rows.map((r) => r.data));
  }

  async delete(sha256: string): Promise<void> {
    await this.db.deleteFrom("blobs").where("sha256", "=", sha256).execute();
  }

  async *listWrittenBefore(cutoff: Date): AsyncIterable<string[]> {
    let after = "";
    for (;;) {
      const rows = await this.db
        .selectFrom("blobs")
        .select("sha256")
        .where("sha256", ">", after)
        .where("created_at", "<", cutoff.toISOString())
        .orderBy("sha256")
        .limit(LIST_BATCH)
        .execute();
      if (rows.length === 0) return;
      yield rows.map((row) => row.sha256);
      after = rows[rows.length - 1].sha256;
    }
  }

  async deleteIfWrittenBefore(sha256: string, cutoff: Date): Promise<boolean> {
    const result = await this.db
      .deleteFrom("blobs")
      .where("sha256", "=", sha256)
      .where("created_at", "<", cutoff.toISOString())
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Nothing to sweep: a blob is written in one transaction, which a crash rolls back. */
  async sweepTemporary(): Promise<number> {
    return 0;
  }
}

/** Re-slices a stream into CHUNK_BYTES pieces: range reads rely on every chunk but the last being full. */
async function* exactChunks(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    while (pendingBytes >= CHUNK_BYTES) {
      const joined = Buffer.concat(pending);
      yield joined.subarray(0, CHUNK_BYTES);
      pending = [joined.subarray(CHUNK_BYTES)];
      pendingBytes = joined.length - CHUNK_BYTES;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}
