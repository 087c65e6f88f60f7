// The MCP registry API (SPEC §13): every MCP server of every visible capability version as a
// `server.json` entry (schema 2025-12-11), so MCP clients and aggregators can use Capstan as a
// subregistry. Anonymous callers see public capabilities; a key also sees its orgs' private ones.
import type { McpServerEntry, McpServerList } from "../contract/mcp-registry.js";
import {
  listMcpVersions,
  listMemberOrgIds,
  listVisibleCapabilitiesByName,
  type McpVersionFilter,
  type McpVersionRow,
} from "../db/repositories/mcp-registry-repository.js";
import { DEFINITION_FILE_LIMITS, parseBoundedJson } from "../domain/bounded-parse.js";
import {
  distributionOf,
  MCP_SERVER_SCHEMA_URL,
  parseRegistryServerName,
  registryDescription,
  registryRepository,
  registryServerName,
} from "../domain/mcp-registry.js";
import { AppError, validationIssue } from "../errors.js";
import type { Actor, ServiceDeps } from "./deps.js";

const OFFICIAL_META = "io.modelcontextprotocol.registry/official";
const CAPSTAN_META = "io.capstan/capability";
const MANIFEST_PATH = "capability.yaml";
/**
 * Versions one list request reads at most. A search that matches few servers may return a short
 * page with a `nextCursor`: the caller pages on, and no request scans the whole registry.
 */
const MAX_SCANNED_VERSIONS = 1000;
/** Versions one `/versions` request lists at most: far more than any capability publishes. */
const MAX_LISTED_VERSIONS = 1000;
/**
 * Both budgets for a caller without a key: anyone on the network may call, as often as the per-address
 * rate limit allows, so one request reads (and parses, and maps) at most 100 versions, as one page
 * of `limit=100` needs. A key keeps the budgets above.
 */
const ANONYMOUS_MAX_VERSIONS = 100;

export interface ServerListQuery {
  limit: number;
  cursor?: string;
  search?: string;
  updatedSince?: string;
  version?: string;
  includeDeleted: boolean;
}

/** Keyset position: the last entry a page returned (version id, server key); no key = whole version. */
interface Position {
  id: string;
  server: string | null;
}

/** One MCP server of one version, before it becomes an entry. */
interface ServerOfVersion {
  row: McpVersionRow;
  key: string;
  name: string;
}

export async function listServers(
  deps: ServiceDeps,
  actor: Actor | null,
  query: ServerListQuery,
): Promise<McpServerList> {
  const memberOrgIds = actor ? await listMemberOrgIds(deps.db, actor.userId, actor.keyOrgId) : [];
  // Upstream: deleted entries are listed on request, and always to a sync (`updated_since`), so
  // that a mirror learns which versions it must stop offering.
  const withDeleted = query.includeDeleted || query.updatedSince !== undefined;
  const filter: McpVersionFilter = {
    memberOrgIds,
    statuses: withDeleted ? ["active", "deprecated", "yanked"] : ["active", "deprecated"],
    ...(query.version === "latest"
      ? { latestOnly: true }
      : query.version !== undefined && { version: query.version }),
    ...(query.updatedSince !== undefined && { updatedSince: query.updatedSince }),
  };
  const search = query.search?.toLowerCase();
  let position = query.cursor === undefined ? null : decodeCursor(query.cursor);
  const found: ServerOfVersion[] = [];
  let scanned = 0;
  let exhausted = false;
  const maxScanned = actor ? MAX_SCANNED_VERSIONS : ANONYMOUS_MAX_VERSIONS;
  while (found.length <= query.limit && scanned < maxScanned) {
    const batch = Math.min(query.limit + 1, maxScanned - scanned);
    const after = position && { id: position.id, inclusive: position.server !== null };
    const rows = await listMcpVersions(deps.db, { ...filter, ...(after && { after }) }, batch);
    for (const row of rows) {
      scanned += 1;
      const skipThrough = position?.id === row.id ? position.server : null;
      for (const server of serversOf(deps, row)) {
        if (skipThrough !== null && server.key <= skipThrough) continue;
        if (search === undefined || server.name.toLowerCase().includes(search)) found.push(server);
      }
      position = { id: row.id, server: null };
      if (found.length > query.limit) break;
    }
    if (rows.length < batch) {
      exhausted = true;
      break;
    }
  }
  const page = found.slice(0, query.limit);
  let next: Position | null = null;
  if (found.length > query.limit) {
    const last = page[page.length - 1];
    next = { id: last.row.id, server: last.key };
  } else if (!exhausted && position !== null) {
    next = position;
  }
  const servers = await Promise.all(page.map((server) => entryOf(deps, server)));
  return {
    servers,
    metadata: { ...(next && { nextCursor: encodeCursor(next) }), count: servers.length },
  };
}

/** Every visible version carrying the server, newest first (upstream: by publication). */
export async function listServerVersions(
  deps: ServiceDeps,
  actor: Actor | null,
  serverName: string,
  includeDeleted: boolean,
): Promise<McpServerList> {
  const { rows, server } = await findServer(deps, actor, serverName, includeDeleted, {});
  const servers = await Promise.all(rows.map((row) => entryOf(deps, { row, key: server, name: serverName })));
  return { servers, metadata: { count: servers.length } };
}

/** One version of the server: an exact version, or `latest` (the capability's latest version). */
export async function getServerVersion(
  deps: ServiceDeps,
  actor: Actor | null,
  serverName: string,
  version: string,
  includeDeleted: boolean,
): Promise<McpServerEntry> {
  const selector = version === "latest" ? { latestOnly: true } : { version };
  const { rows, server } = await findServer(deps, actor, serverName, includeDeleted, selector);
  const row = rows[0];
  if (!row) throw serverNotFound(serverName, version);
  return entryOf(deps, { row, key: server, name: serverName });
}

/**
 * The capability a registry name belongs to (the longest capability name that fits: names are
 * `<capability>-<server>` and both may contain hyphens) and its visible versions carrying the
 * server. Unknown, invisible and other orgs' private names are all the same 404.
 */
async function findServer(
  deps: ServiceDeps,
  actor: Actor | null,
  serverName: string,
  includeDeleted: boolean,
  selector: { latestOnly?: boolean; version?: string },
): Promise<{ rows: McpVersionRow[]; server: string }> {
  const parsed = parseRegistryServerName(deps.config.mcpNamespace, serverName);
  if (!parsed) throw serverNotFound(serverName);
  const memberOrgIds = actor ? await listMemberOrgIds(deps.db, actor.userId, actor.keyOrgId) : [];
  const capabilities = await listVisibleCapabilitiesByName(
    deps.db,
    parsed.org,
    parsed.capabilities,
    memberOrgIds,
  );
  capabilities.sort((a, b) => b.name.length - a.name.length);
  for (const capability of capabilities) {
    const server = parsed.rest.slice(capability.name.length + 1);
    const rows = await listMcpVersions(
      deps.db,
      {
        memberOrgIds,
        statuses: includeDeleted ? ["active", "deprecated", "yanked"] : ["active", "deprecated"],
        capabilityId: capability.id,
        ...selector,
      },
      actor ? MAX_LISTED_VERSIONS : ANONYMOUS_MAX_VERSIONS,
      true,
    );
    const carrying = rows.filter((row) => serversOf(deps, row).some((s) => s.key === server));
    if (carrying.length > 0) return { rows: carrying, server };
  }
  throw serverNotFound(serverName, selector.version ?? (selector.latestOnly ? "latest" : undefined));
}

function serverNotFound(serverName: string, version?: string): AppError {
  const what =
    version === undefined ? "" : version === "latest" ? " (latest version)" : ` version ${version}`;
  return new AppError("not_found_error", `MCP server '${serverName}'${what} not found`);
}

interface ComponentRef {
  type: string;
  name: string;
  path: string;
  metadata?: { transport?: string; gated_by?: string[] };
}

/** The MCP servers of a version whose registry name is valid, sorted by key (the page order). */
function serversOf(deps: ServiceDeps, row: McpVersionRow): ServerOfVersion[] {
  const components = JSON.parse(row.component_details) as ComponentRef[];
  const servers: ServerOfVersion[] = [];
  for (const component of components) {
    if (component.type !== "mcp_server") continue;
    const name = registryServerName(
      deps.config.mcpNamespace,
      row.org_key,
      row.capability_name,
      component.name,
    );
    // A server key outside the registry's name alphabet (or too long) has no registry name.
    if (name !== null) servers.push({ row, key: component.name, name });
  }
  return servers.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

async function entryOf(deps: ServiceDeps, { row, key, name }: ServerOfVersion): Promise<McpServerEntry> {
  const manifest = JSON.parse(row.manifest) as Record<string, unknown>;
  const components = JSON.parse(row.component_details) as ComponentRef[];
  const component = components.find((c) => c.type === "mcp_server" && c.name === key);
  const definition = await definitionOf(deps, row, manifest, component);
  const gatedBy = component?.metadata?.gated_by ?? [];
  const flags = recordOf(manifest.flags);
  const repository = registryRepository(manifest.repository);
  const auth = oauthOf(definition.auth);
  const server = {
    $schema: MCP_SERVER_SCHEMA_URL,
    name,
    description: registryDescription(row.description ?? `${row.capability_name} ${key}`),
    version: row.version,
    ...(repository && { repository }),
    ...distributionOf(definition),
  };
  const status = row.status === "yanked" ? "deleted" : row.status;
  const statusMessage = row.deprecation_message ?? (row.status === "yanked" ? "yanked" : null);
  return {
    server,
    _meta: {
      [OFFICIAL_META]: {
        status,
        ...(statusMessage !== null && row.status !== "active" && { statusMessage }),
        publishedAt: row.created_at,
        updatedAt: row.updated_at,
        isLatest: row.latest_version_id === row.id,
      },
      [CAPSTAN_META]: {
        org: row.org_key,
        name: row.capability_name,
        version: row.version,
        status: row.status,
        is_public: row.is_public === 1,
        artifact_digest: `sha256:${row.artifact_sha256}`,
        runtime_digest: row.runtime_digest,
        server: key,
        transport: component?.metadata?.transport ?? (typeof definition.url === "string" ? "http" : "stdio"),
        gated_by: gatedBy,
        // Without a gate a server is always on; with one, when any gating flag defaults to true.
        enabled_by_default:
          gatedBy.length === 0 || gatedBy.some((flag) => recordOf(flags[flag]).default === true),
        // server.json has no place for how a remote authenticates; clients that know Capstan read it here.
        ...(auth && { auth }),
      },
    },
  };
}

/**
 * The server's own definition: inline in capability.yaml, or the entry of the same name in the
 * bundle's MCP JSON file (read from the blob store; only the files of the page's servers are read).
 */
async function definitionOf(
  deps: ServiceDeps,
  row: McpVersionRow,
  manifest: Record<string, unknown>,
  component: ComponentRef | undefined,
): Promise<Record<string, unknown>> {
  if (!component) return {};
  if (component.path === MANIFEST_PATH) {
    const { when: _when, ...definition } = recordOf(recordOf(recordOf(manifest.mcp).servers)[component.name]);
    return definition;
  }
  const files = JSON.parse(row.file_manifest) as { path: string; sha256: string }[];
  const file = files.find((entry) => entry.path === component.path);
  if (!file) return {};
  const content = await deps.blobs.read(file.sha256);
  if (content === null) return {};
  const parsed = parseBoundedJson(content.toString("utf8").replace(/^\uFEFF/, ""), DEFINITION_FILE_LIMITS);
  if (!parsed.ok) return {};
  return recordOf(recordOf(recordOf(parsed.value).mcpServers)[component.name]);
}

/** An HTTP server's `auth: {type: "oauth", scope?, client_name?}`, those fields only. */
function oauthOf(value: unknown): Record<string, string> | null {
  const auth = recordOf(value);
  if (auth.type !== "oauth") return null;
  const fields = ["type", "scope", "client_name"].filter((field) => typeof auth[field] === "string");
  return Object.fromEntries(fields.map((field) => [field, auth[field] as string]));
}

function recordOf(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

// --- cursors ------------------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function encodeCursor(position: Position): string {
  const value = position.server === null ? [position.id] : [position.id, position.server];
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

/** The position inside a cursor this server issued; anything else is 422 at `["query","cursor"]`. */
function decodeCursor(cursor: string): Position {
  const invalid = () =>
    validationIssue(["query", "cursor"], "Not a cursor this server issued", "value_error.cursor");
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(value) || value.length < 1 || value.length > 2) throw invalid();
  const [id, server] = value as unknown[];
  if (typeof id !== "string" || !UUID.test(id)) throw invalid();
  if (value.length === 2 && (typeof server !== "string" || server.length === 0 || server.length > 200)) {
    throw invalid();
  }
  return { id, server: value.length === 2 ? (server as string) : null };
}
