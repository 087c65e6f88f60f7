import type { Kysely } from "kysely";

// Distribution tags and tracking bindings (SPEC §13).
// - capability_tags: one row per (capability, tag) naming a version; `latest` is computed and never
//   stored. A yank or delete of a version removes its rows in the same transaction.
// - bindings.track: the tag (or "latest") a binding follows, null for an explicit version;
//   bindings.auto_update: whether moving that target re-points the binding.
// - bindings_tracking_idx: what a publish, tag move or yank reads to find the bindings to move, so
//   that costs O(bindings tracking that capability), never a scan of all bindings.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("capability_tags")
    .addColumn("capability_id", "text", (c) => c.notNull().references("capabilities.id").onDelete("cascade"))
    .addColumn("tag", "text", (c) => c.notNull())
    .addColumn("version_id", "text", (c) =>
      c.notNull().references("capability_versions.id").onDelete("cascade"),
    )
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("capability_tags_pkey", ["capability_id", "tag"])
    .execute();
  await db.schema
    .createIndex("capability_tags_version_idx")
    .on("capability_tags")
    .column("version_id")
    .execute();

  await db.schema.alterTable("bindings").addColumn("track", "text").execute();
  await db.schema
    .alterTable("bindings")
    .addColumn("auto_update", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex("bindings_tracking_idx")
    .on("bindings")
    .columns(["capability_id", "auto_update", "track"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("bindings_tracking_idx").execute();
  await db.schema.alterTable("bindings").dropColumn("auto_update").execute();
  await db.schema.alterTable("bindings").dropColumn("track").execute();
  await db.schema.dropTable("capability_tags").execute();
}
