// What re-pointing a binding from one version to another would change in the runtime (SPEC §7.5).
// It compares two stored versions and the binding's overrides; the only thing it reads beyond them,
// through the caller's `readFile`, is an MCP JSON file whose servers must be compared one by one.
import type { VersionRow } from "../db/repositories/binding-repository.js";
import { DEFINITION_FILE_LIMITS, parseBoundedJson } from "../domain/bounded-parse.js";
import { canonicalJson } from "../domain/digests.js";
import { type UpgradeKind, upgradeKind } from "../domain/semver.js";
import type { ComponentDetail, FileManifestEntry } from "../domain/types.js";
import { type DeclaredFlags, type FlagOverrides, parseJsonObject } from "./binding-views.js";

export interface ComponentRef {
  type: string;
  name: string;
}

export interface UpgradePreview {
  from: string;
  to: string;
  upgrade_kind: UpgradeKind;
  components: { added: ComponentRef[]; removed: ComponentRef[] };
  flags: { added: string[]; removed: string[] };
  dropped_overrides: string[];
  mcp_servers_changed: string[];
  workers_changed: string[];
  dependencies_changed: boolean;
  /** Requirement changes (SPEC §13): names whose range appears, disappears or changes. */
  requires: RequirementChanges;
}

export interface RequirementChanges {
  added: string[];
  removed: string[];
  changed: { name: string; from: string; to: string }[];
}

/** What differs between two versions' `requires` maps (name → range), sorted by name. */
export function requirementChanges(
  from: Record<string, string>,
  to: Record<string, string>,
): RequirementChanges {
  const names = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
  const changes: RequirementChanges = { added: [], removed: [], changed: [] };
  for (const name of names) {
    const before = Object.hasOwn(from, name) ? from[name] : undefined;
    const after = Object.hasOwn(to, name) ? to[name] : undefined;
    if (before === undefined && after !== undefined) changes.added.push(name);
    else if (after === undefined && before !== undefined) changes.removed.push(name);
    else if (before !== after && before !== undefined && after !== undefined)
      changes.changed.push({ name, from: before, to: after });
  }
  return changes;
}

/** A stored manifest's `requires` (validated at publish), `{}` when it has none. */
export function requiresOf(manifest: Record<string, unknown>): Record<string, string> {
  const requires = manifest.requires;
  if (typeof requires !== "object" || requires === null || Array.isArray(requires)) return {};
  return Object.fromEntries(
    Object.entries(requires).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}

/** The stored JSON of one version, parsed once for the comparison. */
interface VersionContent {
  version: string;
  manifest: Record<string, unknown>;
  components: ComponentDetail[];
  flags: DeclaredFlags;
  files: Map<string, string>;
}

/** The content of a stored file by its hex SHA-256; null when the blob is gone. */
export type ReadStoredFile = (sha256: string) => Promise<Buffer | null>;

export async function previewUpgrade(
  from: VersionRow,
  to: VersionRow,
  overrides: FlagOverrides,
  readFile: ReadStoredFile,
): Promise<UpgradePreview> {
  const current = contentOf(from);
  const target = contentOf(to);
  return {
    from: current.version,
    to: target.version,
    upgrade_kind: upgradeKind(current.version, target.version),
    components: diffComponents(current.components, target.components),
    flags: {
      added: sortedDifference(Object.keys(target.flags), Object.keys(current.flags)),
      removed: sortedDifference(Object.keys(current.flags), Object.keys(target.flags)),
    },
    dropped_overrides: Object.keys(overrides)
      .filter((name) => !Object.hasOwn(target.flags, name))
      .sort(),
    mcp_servers_changed: await changedMcpServers(current, target, readFile),
    workers_changed: changedNames(workerConfigs(current), workerConfigs(target)),
    dependencies_changed:
      canonicalJson(current.manifest.dependencies ?? null) !==
      canonicalJson(target.manifest.dependencies ?? null),
    requires: requirementChanges(requiresOf(current.manifest), requiresOf(target.manifest)),
  };
}

function contentOf(row: VersionRow): VersionContent {
  const files = parseJsonObject<FileManifestEntry[]>(row.file_manifest);
  return {
    version: row.version,
    manifest: parseJsonObject<Record<string, unknown>>(row.manifest),
    components: parseJsonObject<ComponentDetail[]>(row.component_details),
    flags: parseJsonObject<DeclaredFlags>(row.flags),
    files: new Map(files.map((file) => [file.path, file.sha256])),
  };
}

const componentKey = (component: ComponentRef): string => `${component.type}\u0000${component.name}`;

function diffComponents(current: ComponentDetail[], target: ComponentDetail[]): UpgradePreview["components"] {
  const currentKeys = new Set(current.map(componentKey));
  const targetKeys = new Set(target.map(componentKey));
  const ref = ({ type, name }: ComponentDetail): ComponentRef => ({ type, name });
  return {
    added: target
      .filter((c) => !currentKeys.has(componentKey(c)))
      .map(ref)
      .sort(compareComponents),
    removed: current
      .filter((c) => !targetKeys.has(componentKey(c)))
      .map(ref)
      .sort(compareComponents),
  };
}

function compareComponents(a: ComponentRef, b: ComponentRef): number {
  return compareText(a.type, b.type) || compareText(a.name, b.name);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedDifference(names: string[], without: string[]): string[] {
  const excluded = new Set(without);
  return names.filter((name) => !excluded.has(name)).sort();
}

/** Names present on one side only, or whose configuration differs. */
function changedNames(current: Map<string, string>, target: Map<string, string>): string[] {
  const names = new Set([...current.keys(), ...target.keys()]);
  return [...names].filter((name) => current.get(name) !== target.get(name)).sort();
}

function recordOf(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/**
 * Servers present in both versions whose own definition differs. One that was added or removed is
 * already in `components` and is not listed again. A server defined in an MCP JSON file is read
 * from that file only when the file differs between the versions: an edit of one server in a
 * shared file does not make its neighbours look changed.
 */
async function changedMcpServers(
  current: VersionContent,
  target: VersionContent,
  readFile: ReadStoredFile,
): Promise<string[]> {
  const before = mcpServerSources(current);
  const after = mcpServerSources(target);
  const changed: string[] = [];
  const definitions = new Map<string, Promise<Record<string, unknown>>>();
  const definitionOf = async (source: McpServerSource): Promise<string> => {
    if (source.kind === "inline") return canonicalJson({ definition: source.definition, gate: source.gate });
    // A component whose file is missing from the manifest (data that should not exist) has no
    // definition to read: compare it as absent rather than asking the blob store for "".
    if (source.sha256 === null) return canonicalJson({ definition: null, gate: source.gate });
    let servers = definitions.get(source.sha256);
    if (servers === undefined) {
      servers = readFile(source.sha256).then(mcpServersOfFile);
      definitions.set(source.sha256, servers);
    }
    const definition = (await servers)[source.name] ?? null;
    return canonicalJson({ definition, gate: source.gate });
  };
  for (const [name, old] of before) {
    const next = after.get(name);
    if (next === undefined) continue;
    const sameFile = old.kind === "file" && next.kind === "file" && old.sha256 === next.sha256;
    if (sameFile && canonicalJson(old.gate) === canonicalJson(next.gate)) continue;
    if ((await definitionOf(old)) !== (await definitionOf(next))) changed.push(name);
  }
  return changed.sort(compareText);
}

type McpServerSource =
  | { kind: "inline"; definition: unknown; gate: unknown }
  | { kind: "file"; name: string; sha256: string | null; gate: unknown };

/**
 * Where each MCP server of a version is defined: inline in capability.yaml (its entry, `when`
 * aside, which shows in the gate), or in a JSON file (that file's digest). The gate is the
 * component's metadata: transport and the flags that switch it on.
 */
function mcpServerSources(content: VersionContent): Map<string, McpServerSource> {
  const inline = recordOf(recordOf(content.manifest.mcp).servers);
  const sources = new Map<string, McpServerSource>();
  for (const component of content.components) {
    if (component.type !== "mcp_server") continue;
    const gate = component.metadata ?? null;
    const name = component.name;
    if (Object.hasOwn(inline, name)) {
      const { when: _when, ...definition } = recordOf(inline[name]);
      sources.set(name, { kind: "inline", definition, gate });
    } else {
      sources.set(name, { kind: "file", name, sha256: content.files.get(component.path) ?? null, gate });
    }
  }
  return sources;
}

/** The `mcpServers` object of a stored MCP file; empty when it cannot be read any more. */
function mcpServersOfFile(content: Buffer | null): Record<string, unknown> {
  if (content === null) return {};
  const parsed = parseBoundedJson(content.toString("utf8").replace(/^\uFEFF/, ""), DEFINITION_FILE_LIMITS);
  return parsed.ok ? recordOf(recordOf(parsed.value).mcpServers) : {};
}

function workerConfigs(content: VersionContent): Map<string, string> {
  const workers = recordOf(content.manifest.workers);
  return new Map(Object.entries(workers).map(([name, config]) => [name, canonicalJson(config)]));
}
