// The capability versions behind the MCP registry API (SPEC §13): versions with at least one MCP
// server that a caller may see, in id (creation) order for keyset paging.
import { type SqlBool, sql } from "kysely";
import type { Db, Row } from "../schema.js";

/** What the registry shows of a version, with its capability and org. */
export interface McpVersionRow {
  id: string;
  capability_id: string;
  version: string;
  status: Row<"capability_versions">["status"];
  deprecation_message: string | null;
  description: string | null;
  manifest: string;
  component_details: string;
  file_manifest: string;
  artifact_sha256: string;
  runtime_digest: string;
  created_at: string;
  updated_at: string;
  org_key: string;
  capability_name: string;
  is_public: number;
  latest_version_id: string | null;
}

export interface McpVersionFilter {
  /** Orgs whose private capabilities the caller sees; public ones are always visible. */
  memberOrgIds: string[];
  statuses: Row<"capability_versions">["status"][];
  /** Only each capability's latest version. */
  latestOnly?: boolean;
  version?: string;
  /** Versions updated strictly after this ISO timestamp. */
  updatedSince?: string;
  /** Keyset position: versions with an id after (or, when inclusive, at or after) this one. */
  after?: { id: string; inclusive: boolean };
  capabilityId?: string;
}

/**
 * Component details are stored as JSON text with `type` first: a version with an MCP server holds
 * this text. Written as a literal, not a parameter: it is the predicate of the partial indexes of
 * migration 0009, which the databases use only for a query that states it as written there.
 */
const HAS_MCP_SERVER = sql<SqlBool>`v.component_details like '%"type":"mcp_server"%'`;

export function listMcpVersions(db: Db, filter: McpVersionFilter, limit: number, newestFirst = false) {
  return mcpVersionsQuery(db, filter, limit, newestFirst).execute() as Promise<McpVersionRow[]>;
}

/** The query of listMcpVersions, unexecuted (the bench explains its plan). */
export function mcpVersionsQuery(db: Db, filter: McpVersionFilter, limit: number, newestFirst = false) {
  return (
    db
      .selectFrom("capability_versions as v")
      // CROSS JOIN makes SQLite keep the versions as the outer loop, walking the partial index in
      // page order; left to itself (it keeps no statistics) it starts from every public
      // capability and sorts all their versions. PostgreSQL plans it as the inner join it is.
      .crossJoin("capabilities as c")
      .whereRef("c.id", "=", "v.capability_id")
      .innerJoin("orgs as o", "o.id", "c.org_id")
      .select([
        "v.id",
        "v.capability_id",
        "v.version",
        "v.status",
        "v.deprecation_message",
        "v.description",
        "v.manifest",
        "v.component_details",
        "v.file_manifest",
        "v.artifact_sha256",
        "v.runtime_digest",
        "v.created_at",
        "v.updated_at",
        "o.key as org_key",
        "c.name as capability_name",
        "c.is_public",
        "c.latest_version_id",
      ])
      .where((eb) =>
        filter.memberOrgIds.length > 0
          ? eb.or([eb("c.is_public", "=", 1), eb("c.org_id", "in", filter.memberOrgIds)])
          : eb("c.is_public", "=", 1),
      )
      .where("v.status", "in", filter.statuses)
      .where(HAS_MCP_SERVER)
      .$if(filter.latestOnly === true, (qb) => qb.whereRef("v.id", "=", "c.latest_version_id"))
      .$if(filter.version !== undefined, (qb) => qb.where("v.version", "=", filter.version!))
      .$if(filter.updatedSince !== undefined, (qb) => qb.where("v.updated_at", ">", filter.updatedSince!))
      .$if(filter.capabilityId !== undefined, (qb) => qb.where("v.capability_id", "=", filter.capabilityId!))
      .$if(filter.after !== undefined, (qb) =>
        qb.where("v.id", filter.after!.inclusive ? ">=" : ">", filter.after!.id),
      )
      .orderBy("v.id", newestFirst ? "desc" : "asc")
      .limit(limit)
  );
}

/** The orgs whose private capabilities `userId` sees: its memberships, within the key's limit. */
export async function listMemberOrgIds(db: Db, userId: string, keyOrgId: string | null): Promise<string[]> {
  const rows = await db
    .selectFrom("memberships")
    .select("org_id")
    .where("user_id", "=", userId)
    .$if(keyOrgId !== null, (qb) => qb.where("org_id", "=", keyOrgId!))
    .execute();
  return rows.map((row) => row.org_id);
}

/** Capabilities of org `orgKey` among `names` that the caller sees. */
export function listVisibleCapabilitiesByName(
  db: Db,
  orgKey: string,
  names: string[],
  memberOrgIds: string[],
) {
  if (names.length === 0) return Promise.resolve([]);
  return db
    .selectFrom("capabilities as c")
    .innerJoin("orgs as o", "o.id", "c.org_id")
    .select(["c.id", "c.name"])
    .where("o.key", "=", orgKey)
    .where("c.name", "in", names)
    .where((eb) =>
      memberOrgIds.length > 0
        ? eb.or([eb("c.is_public", "=", 1), eb("c.org_id", "in", memberOrgIds)])
        : eb("c.is_public", "=", 1),
    )
    .execute();
}
