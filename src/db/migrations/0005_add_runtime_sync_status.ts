import type { Kysely } from "kysely";

// What a runtime last reported about its sync (SPEC §12): one row per runtime, replaced by every
// report, so a runtime syncing every few seconds never grows the table. Kept apart from `runtimes`
// so that a report (frequent, written with a runtime token) never touches the runtime's own row or
// its `updated_at`.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("runtime_sync_status")
    .addColumn("runtime_id", "text", (c) => c.primaryKey().references("runtimes.id").onDelete("cascade"))
    .addColumn("last_seen_at", "text", (c) => c.notNull())
    .addColumn("applied_digest", "text")
    .addColumn("agent_name", "text", (c) => c.notNull())
    .addColumn("agent_version", "text", (c) => c.notNull())
    .addColumn("host", "text")
    /** JSON array of {capability, name, ok, duration_ms, output?}. */
    .addColumn("checks", "text", (c) => c.notNull())
    .addColumn("checks_failed", "integer", (c) => c.notNull())
    /** JSON array of strings. */
    .addColumn("errors", "text", (c) => c.notNull())
    .addColumn("reported_by_key_id", "text")
    .execute();
  // `GET WS/runtimes?stale=true` compares last_seen_at.
  await db.schema
    .createIndex("runtime_sync_status_last_seen_idx")
    .on("runtime_sync_status")
    .columns(["last_seen_at"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("runtime_sync_status").execute();
}
