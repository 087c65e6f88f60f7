import type { Kysely } from "kysely";

// Workspace secrets (SPEC §11): one row per name and workspace, its value AES-256-GCM encrypted
// (never in clear text here); bindings gain their secret mapping and versions the secrets their
// manifest declares, so the binding list and the resolved set read both in the query they already make.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("workspace_secrets")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("org_id", "text", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("version", "integer", (c) => c.notNull())
    // Which master key encrypted the value (CAPSTAN_SECRETS_KEY ids), so a rotation finds the rest.
    .addColumn("key_id", "text", (c) => c.notNull())
    // base64 of nonce (12 bytes) ‖ ciphertext ‖ GCM tag (16 bytes).
    .addColumn("ciphertext", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("updated_by", "text")
    .addUniqueConstraint("workspace_secrets_workspace_name_uq", ["workspace_id", "name"])
    .execute();
  await db.schema
    .createIndex("workspace_secrets_key_idx")
    .on("workspace_secrets")
    .columns(["key_id"])
    .execute();

  // JSON object NAME → workspace secret name: explicit mappings only (absent: the same name).
  await db.schema
    .alterTable("bindings")
    .addColumn("secrets", "text", (c) => c.notNull().defaultTo("{}"))
    .execute();
  // JSON object NAME → {description, required}: the version's declared secrets.
  await db.schema
    .alterTable("capability_versions")
    .addColumn("secrets", "text", (c) => c.notNull().defaultTo("{}"))
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("capability_versions").dropColumn("secrets").execute();
  await db.schema.alterTable("bindings").dropColumn("secrets").execute();
  await db.schema.dropTable("workspace_secrets").execute();
}
