import type { Kysely } from "kysely";

// Publish-time scanning (SPEC §14): the findings of each version, its summary on the version row
// (the detail shows it, and the detail's cached part is read from that row alone), and each org's
// policy for which findings refuse a publish. Versions published before this have no summary
// (`scan_summary` null): they were never scanned, and the detail says so.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("capability_versions").addColumn("scan_summary", "text").execute();

  await db.schema
    .createTable("scan_findings")
    .addColumn("version_id", "text", (c) =>
      c.notNull().references("capability_versions.id").onDelete("cascade"),
    )
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("org_id", "text", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("rule", "text", (c) => c.notNull())
    .addColumn("severity", "text", (c) => c.notNull())
    .addColumn("path", "text", (c) => c.notNull())
    .addColumn("line", "integer", (c) => c.notNull())
    .addColumn("message", "text", (c) => c.notNull())
    .addColumn("suppressed_reason", "text")
    .addPrimaryKeyConstraint("scan_findings_pk", ["version_id", "seq"])
    .execute();

  await db.schema
    .createTable("org_policies")
    .addColumn("org_id", "text", (c) => c.primaryKey().references("orgs.id").onDelete("cascade"))
    .addColumn("block_severity", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("org_policies").execute();
  await db.schema.dropTable("scan_findings").execute();
  await db.schema.alterTable("capability_versions").dropColumn("scan_summary").execute();
}
