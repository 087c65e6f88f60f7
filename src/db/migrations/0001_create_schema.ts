import type { Kysely } from "kysely";

// Written with the schema builder only, so the same migration runs on SQLite and PostgreSQL.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("users")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("email", "text", (c) => c.notNull().unique())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("orgs")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("key", "text", (c) => c.notNull().unique())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("memberships")
    .addColumn("org_id", "text", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("memberships_pk", ["org_id", "user_id"])
    .execute();
  await db.schema.createIndex("memberships_user_idx").on("memberships").columns(["user_id"]).execute();

  await db.schema
    .createTable("workspaces")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("org_id", "text", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("is_default", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("workspaces_org_key_uq", ["org_id", "key"])
    .execute();

  await db.schema
    .createTable("projects")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("org_id", "text", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("is_default", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("projects_workspace_key_uq", ["workspace_id", "key"])
    .execute();

  await db.schema
    .createTable("runtimes")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("org_id", "text", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
    .addColumn("project_id", "text", (c) => c.notNull().references("projects.id").onDelete("cascade"))
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("config", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("runtimes_workspace_key_uq", ["workspace_id", "key"])
    .execute();
  // Keyset pagination of the runtime list: ids are UUIDv7, so id order is creation order.
  await db.schema
    .createIndex("runtimes_workspace_id_idx")
    .on("runtimes")
    .columns(["workspace_id", "id"])
    .execute();
  await db.schema.createIndex("runtimes_project_idx").on("runtimes").columns(["project_id"]).execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("prefix", "text", (c) => c.notNull().unique())
    .addColumn("key_hash", "text", (c) => c.notNull().unique())
    .addColumn("read_only", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("runtime_id", "text", (c) => c.references("runtimes.id").onDelete("cascade"))
    .addColumn("expires_at", "text")
    .addColumn("revoked_at", "text")
    .addColumn("last_used_at", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("api_keys_user_idx").on("api_keys").columns(["user_id"]).execute();

  await db.schema
    .createTable("capabilities")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("org_id", "text", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("is_public", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("latest_version_id", "text")
    .addColumn("latest_version", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("capabilities_org_name_uq", ["org_id", "name"])
    .execute();
  await db.schema
    .createIndex("capabilities_public_idx")
    .on("capabilities")
    .columns(["is_public", "name"])
    .execute();

  await db.schema
    .createTable("capability_versions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("capability_id", "text", (c) => c.notNull().references("capabilities.id").onDelete("cascade"))
    .addColumn("org_id", "text", (c) => c.notNull())
    .addColumn("version", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("deprecation_message", "text")
    .addColumn("description", "text")
    .addColumn("author_name", "text")
    .addColumn("license", "text")
    .addColumn("keywords", "text", (c) => c.notNull())
    .addColumn("manifest", "text", (c) => c.notNull())
    .addColumn("component_counts", "text", (c) => c.notNull())
    .addColumn("component_details", "text", (c) => c.notNull())
    .addColumn("flags", "text", (c) => c.notNull())
    .addColumn("warnings", "text", (c) => c.notNull())
    .addColumn("file_manifest", "text", (c) => c.notNull())
    .addColumn("readme_path", "text")
    .addColumn("artifact_sha256", "text", (c) => c.notNull())
    .addColumn("runtime_digest", "text", (c) => c.notNull())
    .addColumn("size_bytes", "bigint", (c) => c.notNull())
    .addColumn("published_by", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    // A deleted version stays as a tombstone row, so its number can never be published again.
    .addUniqueConstraint("capability_versions_cap_version_uq", ["capability_id", "version"])
    .execute();

  await db.schema
    .createTable("bindings")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("org_id", "text", (c) => c.notNull())
    .addColumn("runtime_id", "text", (c) => c.notNull().references("runtimes.id").onDelete("cascade"))
    .addColumn("capability_id", "text", (c) => c.notNull().references("capabilities.id").onDelete("cascade"))
    .addColumn("version_id", "text", (c) => c.notNull().references("capability_versions.id"))
    .addColumn("enabled", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("flags", "text", (c) => c.notNull())
    .addColumn("revision", "integer", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("bindings_runtime_capability_uq", ["runtime_id", "capability_id"])
    .execute();
  await db.schema.createIndex("bindings_version_idx").on("bindings").columns(["version_id"]).execute();
  await db.schema.createIndex("bindings_capability_idx").on("bindings").columns(["capability_id"]).execute();

  await db.schema
    .createTable("audit_events")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("org_id", "text")
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("actor_user_id", "text")
    .addColumn("api_key_id", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target_type", "text", (c) => c.notNull())
    .addColumn("target_id", "text")
    .addColumn("request_id", "text")
    .addColumn("data", "text", (c) => c.notNull())
    .execute();
  // Newest-first keyset pagination per org (ids are UUIDv7).
  await db.schema
    .createIndex("audit_events_org_id_idx")
    .on("audit_events")
    .columns(["org_id", "id"])
    .execute();

  await db.schema
    .createTable("settings")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    "settings",
    "audit_events",
    "bindings",
    "capability_versions",
    "capabilities",
    "api_keys",
    "runtimes",
    "projects",
    "workspaces",
    "memberships",
    "orgs",
    "users",
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
