import { type Kysely, PostgresAdapter, sql } from "kysely";

// Blobs kept in the database (CAPSTAN_BLOB_STORE=postgres): content-addressed, chunked so that a
// download streams chunk by chunk instead of buffering a whole bundle. Created on both dialects
// to keep one schema; only PostgreSQL uses them.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema types
export async function up(db: Kysely<any>): Promise<void> {
  const bytes = db.getExecutor().adapter instanceof PostgresAdapter ? sql`bytea` : sql`blob`;
  await db.schema
    .createTable("blobs")
    .addColumn("sha256", "text", (c) => c.primaryKey())
    .addColumn("size_bytes", "bigint", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("blob_chunks")
    .addColumn("sha256", "text", (c) => c.notNull().references("blobs.sha256").onDelete("cascade"))
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("data", bytes, (c) => c.notNull())
    .addPrimaryKeyConstraint("blob_chunks_pk", ["sha256", "seq"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("blob_chunks").execute();
  await db.schema.dropTable("blobs").execute();
}
