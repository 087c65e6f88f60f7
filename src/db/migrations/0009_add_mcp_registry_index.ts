import { type Kysely, type SqlBool, sql } from "kysely";

// The MCP registry API (SPEC §13) pages through the capability versions that carry an MCP server,
// in id order, and syncs by `updated_at`. Partial indexes hold exactly those versions, so a page
// walks only them instead of every version of every capability. The predicate is the literal the
// repository's query repeats (src/db/repositories/mcp-registry-repository.ts): both SQLite and
// PostgreSQL use a partial index only for a query whose WHERE clause states its predicate.
const HAS_MCP_SERVER = sql<SqlBool>`component_details like '%"type":"mcp_server"%'`;

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex("capability_versions_mcp_id_idx")
    .on("capability_versions")
    .column("id")
    .where(HAS_MCP_SERVER)
    .execute();
  await db.schema
    .createIndex("capability_versions_mcp_updated_idx")
    .on("capability_versions")
    .columns(["updated_at", "id"])
    .where(HAS_MCP_SERVER)
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("capability_versions_mcp_updated_idx").execute();
  await db.schema.dropIndex("capability_versions_mcp_id_idx").execute();
}
