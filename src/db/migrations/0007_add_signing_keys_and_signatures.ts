import type { Kysely } from "kysely";

// Org signing keys and the DSSE signatures of capability versions (SPEC §14). A revoked key keeps
// its row (`revoked_at`): revocation stops its signatures from counting, and keeping the row stops
// the same key from being registered again, which would quietly undo the revocation.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("signing_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("org_id", "text", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("public_key", "text", (c) => c.notNull())
    .addColumn("fingerprint", "text", (c) => c.notNull())
    .addColumn("created_by", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .addUniqueConstraint("signing_keys_org_fingerprint_key", ["org_id", "fingerprint"])
    .execute();

  await db.schema
    .createTable("capability_signatures")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("org_id", "text", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("version_id", "text", (c) =>
      c.notNull().references("capability_versions.id").onDelete("cascade"),
    )
    .addColumn("key_id", "text", (c) => c.notNull().references("signing_keys.id").onDelete("cascade"))
    .addColumn("envelope", "text", (c) => c.notNull())
    .addColumn("verified_at", "text", (c) => c.notNull())
    .addColumn("created_by", "text")
    .addUniqueConstraint("capability_signatures_version_key_key", ["version_id", "key_id"])
    .execute();
  // The unique constraint's index serves the hot lookup (signatures of a set of versions).
  await db.schema
    .createIndex("capability_signatures_key_idx")
    .on("capability_signatures")
    .columns(["key_id"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("capability_signatures").execute();
  await db.schema.dropTable("signing_keys").execute();
}
