import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { AppError } from "../http/errors.js";
import type { BlobStore } from "./blob-store.js";

/** 256 KiB: small enough to stream, large enough to keep the row count of a 50 MiB bundle low. */
const CHUNK_BYTES = 256 * 1024;

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
    if (await this.has(sha256)) return;
    try {
      await this.db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto("blobs")
          .values({ sha256, size_bytes: data.length, created_at: new Date().toISOString() })
          .onConflict((oc) => oc.column("sha256").doNothing())
          .returning("sha256")
          .executeTakeFirst();
        if (!inserted) return; // stored concurrently by someone else: same bytes, nothing to do
        for (let seq = 0, offset = 0; offset < data.length || seq === 0; seq++, offset += CHUNK_BYTES) {
          await trx
            .insertInto("blob_chunks")
            .values({ sha256, seq, data: data.subarray(offset, offset + CHUNK_BYTES) })
            .execute();
        }
      });
    } catch (cause) {
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
}
