// What re-pointing a binding from one version to another would change in the runtime (SPEC §7.5).
// Pure: it compares two stored versions and the binding's overrides.
import type { VersionRow } from "../db/repositories/binding-repository.js";
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
}

/** The stored JSON of one version, parsed once for the comparison. */
interface VersionContent {
  version: string;
  manifest: Record<string, unknown>;
  components: ComponentDetail[];
  flags: DeclaredFlags;
  files: Map<string, string>;
}

export function previewUpgrade(from: VersionRow, to: VersionRow, overrides: FlagOverrides): UpgradePreview {
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
    mcp_servers_changed: changedNames(mcpServerConfigs(current), mcpServerConfigs(target)),
    workers_changed: changedNames(workerConfigs(current), workerConfigs(target)),
    dependencies_changed:
      canonicalJson(current.manifest.dependencies ?? null) !==
      canonicalJson(target.manifest.dependencies ?? null),
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
 * An MCP server's configuration: its inline entry in capability.yaml, or — for a server defined in
 * a JSON file, whose entry is not stored on its own — the content digest of that file, so an edit
 * of the file shows up as a change of its servers.
 */
function mcpServerConfigs(content: VersionContent): Map<string, string> {
  const inline = recordOf(recordOf(content.manifest.mcp).servers);
  const configs = new Map<string, string>();
  for (const component of content.components) {
    if (component.type !== "mcp_server") continue;
    const source = Object.hasOwn(inline, component.name)
      ? { inline: inline[component.name] }
      : { file: component.path, sha256: content.files.get(component.path) ?? null };
    configs.set(component.name, canonicalJson({ ...source, metadata: component.metadata ?? null }));
  }
  for (const [name, config] of Object.entries(inline)) {
    if (!configs.has(name)) configs.set(name, canonicalJson({ inline: config }));
  }
  return configs;
}

function workerConfigs(content: VersionContent): Map<string, string> {
  const workers = recordOf(content.manifest.workers);
  return new Map(Object.entries(workers).map(([name, config]) => [name, canonicalJson(config)]));
}
