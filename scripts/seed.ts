// Capabilities and versions inserted straight into the database, with the JSON columns a publish
// would store (manifest, component counts and details, flags, file manifest, digests). Tests of
// bindings need many shapes of versions without building bundles; the benchmark seeds its
// registry from the same row builders.
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database, Row } from "../src/db/schema.js";
import { runtimeDigestOf } from "../src/domain/digests.js";
import type {
  ComponentCounts,
  ComponentDetail,
  FileManifestEntry,
  FlagDefinition,
} from "../src/domain/types.js";
import { generateApiKey } from "../src/lib/api-key-format.js";
import { newId } from "../src/lib/ids.js";
import type { ServiceDeps } from "../src/services/deps.js";
import { refreshLatest } from "../src/services/registry-admin-service.js";

export type VersionStatus = Row<"capability_versions">["status"];

type ComponentSpec = { type: "agent" | "tool" | "skill"; name: string };

export interface VersionSpec {
  version: string;
  status?: VersionStatus;
  description?: string;
  /** Declared flags; `default` false when absent, as the manifest parser fills it in. */
  flags?: Record<string, { description?: string; default?: boolean }>;
  /** Components besides the MCP servers and workers below; default one agent and one tool. */
  components?: ComponentSpec[];
  /** Inline MCP servers (capability.yaml `mcp.servers`). */
  mcpServers?: Record<string, Record<string, unknown>>;
  workers?: Record<string, Record<string, unknown>>;
  dependencies?: Record<string, string[]>;
  /** Extra bytes mixed into the file contents: same spec, different salt → different digests. */
  salt?: string;
}

export interface CapabilitySpec {
  name: string;
  /** Owner org key; default `default`. */
  org?: string;
  public?: boolean;
  versions: (string | VersionSpec)[];
}

export interface SeededCapability {
  id: string;
  orgId: string;
  name: string;
  /** version → version (artifact) id */
  versionIds: Map<string, string>;
}

const DEFAULT_COMPONENTS: ComponentSpec[] = [
  { type: "agent", name: "assistant" },
  { type: "tool", name: "search" },
];

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

export function capabilityRow(
  orgId: string,
  name: string,
  isPublic: boolean,
  at: string,
): Row<"capabilities"> {
  return {
    id: newId(),
    org_id: orgId,
    name,
    is_public: isPublic ? 1 : 0,
    latest_version_id: null,
    latest_version: null,
    created_at: at,
    updated_at: at,
  };
}

/** A capability_versions row as a publish of `spec` would store it. */
export function versionRow(
  capability: { id: string; org_id: string; name: string },
  input: string | VersionSpec,
  at: string,
): Row<"capability_versions"> {
  const spec = typeof input === "string" ? { version: input } : input;
  const flags: Record<string, FlagDefinition> = {};
  for (const [name, flag] of Object.entries(spec.flags ?? {})) {
    flags[name] = { description: flag.description ?? `Toggles ${name}`, default: flag.default ?? false };
  }
  const details = componentDetails(spec);
  const files = fileManifest(capability.name, spec);
  const description = spec.description ?? `${capability.name} ${spec.version}: a capability for tests`;
  const manifest: Record<string, unknown> = {
    schema: 1,
    name: capability.name,
    version: spec.version,
    description,
    ...(Object.keys(flags).length > 0 && { flags }),
    ...(spec.mcpServers && { mcp: { servers: spec.mcpServers } }),
    ...(spec.workers && { workers: spec.workers }),
    ...(spec.dependencies && { dependencies: spec.dependencies }),
  };
  return {
    id: newId(),
    capability_id: capability.id,
    org_id: capability.org_id,
    version: spec.version,
    status: spec.status ?? "active",
    deprecation_message: spec.status === "deprecated" ? "Use a newer version" : null,
    description,
    author_name: "Capstan Tests",
    license: "Apache-2.0",
    keywords: JSON.stringify(["testing"]),
    manifest: JSON.stringify(manifest),
    component_counts: JSON.stringify(countsOf(details)),
    component_details: JSON.stringify(details),
    flags: JSON.stringify(flags),
    secrets: "{}",
    warnings: "[]",
    file_manifest: JSON.stringify(files),
    readme_path: null,
    artifact_sha256: sha256(`bundle ${capability.id} ${spec.version} ${spec.salt ?? ""}`),
    runtime_digest: runtimeDigestOf(files),
    size_bytes: 2048,
    published_by: null,
    created_at: at,
    updated_at: at,
    scan_summary: JSON.stringify({
      status: "passed",
      counts: { high: 0, medium: 0, low: 0 },
      suppressed: 0,
      complete: true,
    }),
  };
}

function componentDetails(spec: VersionSpec): ComponentDetail[] {
  const paths = { agent: "agents", tool: "tools", skill: "skills" } as const;
  const details: ComponentDetail[] = (spec.components ?? DEFAULT_COMPONENTS).map(({ type, name }) => ({
    type,
    name,
    path:
      type === "skill" ? `${paths[type]}/${name}` : `${paths[type]}/${name}.${type === "tool" ? "py" : "md"}`,
    description: `The ${name} ${type}`,
  }));
  for (const [name, server] of Object.entries(spec.mcpServers ?? {})) {
    const transport = "url" in server ? "http" : "stdio";
    details.push({
      type: "mcp_server",
      name,
      path: "capability.yaml",
      metadata: { transport, gated_by: server.when ?? [] },
    });
  }
  for (const [name, worker] of Object.entries(spec.workers ?? {})) {
    const kind = "path" in worker ? "in_process" : "subprocess";
    const path = typeof worker.path === "string" ? worker.path : "capability.yaml";
    details.push({ type: "worker", name, path, metadata: { kind, gated_by: worker.when ?? [] } });
  }
  return details.sort((a, b) => (a.type === b.type ? (a.name < b.name ? -1 : 1) : a.type < b.type ? -1 : 1));
}

function countsOf(details: ComponentDetail[]): ComponentCounts {
  const count = (type: ComponentDetail["type"]) => details.filter((d) => d.type === type).length;
  return {
    agents: count("agent"),
    tools: count("tool"),
    skills: count("skill"),
    mcp_servers: count("mcp_server"),
    workers: count("worker"),
  };
}

function fileManifest(name: string, spec: VersionSpec): FileManifestEntry[] {
  const paths = ["capability.yaml", "agents/assistant.md", "tools/search.py"];
  return paths.map((path) => {
    const content = `${name}@${spec.version}:${path}:${spec.salt ?? ""}`;
    return { path, sha256: sha256(content), size: content.length };
  });
}

async function orgIdOf(db: Kysely<Database>, orgKey: string): Promise<string> {
  const org = await db.selectFrom("orgs").select("id").where("key", "=", orgKey).executeTakeFirstOrThrow();
  return org.id;
}

/** Inserts a capability with its versions (in the given order) and sets its latest version. */
export async function seedCapability(deps: ServiceDeps, spec: CapabilitySpec): Promise<SeededCapability> {
  const at = deps.now().toISOString();
  const orgId = await orgIdOf(deps.db, spec.org ?? "default");
  const capability = capabilityRow(orgId, spec.name, spec.public ?? false, at);
  await deps.db.insertInto("capabilities").values(capability).execute();
  const seeded: SeededCapability = { id: capability.id, orgId, name: spec.name, versionIds: new Map() };
  for (const version of spec.versions) await insertVersion(deps, seeded, version);
  await refreshLatest(deps.db, capability.id, at);
  return seeded;
}

async function insertVersion(
  deps: ServiceDeps,
  capability: SeededCapability,
  spec: string | VersionSpec,
): Promise<string> {
  const row = versionRow(
    { id: capability.id, org_id: capability.orgId, name: capability.name },
    spec,
    deps.now().toISOString(),
  );
  await deps.db.insertInto("capability_versions").values(row).execute();
  capability.versionIds.set(row.version, row.id);
  return row.id;
}

/** Adds a version as a publish would, including the change notification caches listen to. */
export async function seedVersion(
  deps: ServiceDeps,
  capability: SeededCapability,
  spec: string | VersionSpec,
): Promise<string> {
  const id = await insertVersion(deps, capability, spec);
  await refreshLatest(deps.db, capability.id, deps.now().toISOString());
  deps.changes.publish({ kind: "capability", capabilityId: capability.id });
  return id;
}

export async function setVersionStatus(
  deps: ServiceDeps,
  capability: SeededCapability,
  version: string,
  status: VersionStatus,
): Promise<void> {
  await deps.db
    .updateTable("capability_versions")
    .set({ status })
    .where("capability_id", "=", capability.id)
    .where("version", "=", version)
    .execute();
  await refreshLatest(deps.db, capability.id, deps.now().toISOString());
  deps.changes.publish({ kind: "capability", capabilityId: capability.id });
}

export async function setVisibility(
  deps: ServiceDeps,
  capability: SeededCapability,
  isPublic: boolean,
): Promise<void> {
  await deps.db
    .updateTable("capabilities")
    .set({ is_public: isPublic ? 1 : 0 })
    .where("id", "=", capability.id)
    .execute();
  deps.changes.publish({ kind: "capability", capabilityId: capability.id });
}

/**
 * Another key for the bootstrap admin, inserted straight into the database (for tests that need a
 * key the API would not mint them as easily); `runtimeId` makes it that runtime's read-only token.
 */
export async function insertAdminKey(
  deps: ServiceDeps,
  options: { name: string; runtimeId?: string },
): Promise<string> {
  const admin = await deps.db
    .selectFrom("users")
    .select("id")
    .where("email", "=", "admin@localhost")
    .executeTakeFirstOrThrow();
  const key = generateApiKey();
  await deps.db
    .insertInto("api_keys")
    .values({
      id: newId(),
      user_id: admin.id,
      name: options.name,
      prefix: key.prefix,
      key_hash: key.hash,
      read_only: options.runtimeId ? 1 : 0,
      runtime_id: options.runtimeId ?? null,
      expires_at: null,
      revoked_at: null,
      last_used_at: null,
      created_at: deps.now().toISOString(),
    })
    .execute();
  return key.key;
}
