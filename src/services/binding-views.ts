// Pure rules and presenters of bindings: names as a runtime sees them, flag overrides, and the
// JSON shapes of SPEC §7.1 and §7.6. No I/O here.
import type { RuntimeCapabilityBinding } from "../contract/bindings.js";
import type { BindingJoinedRow } from "../db/repositories/binding-repository.js";
import { compareSemver } from "../domain/semver.js";
import type { ComponentCounts, FlagDefinition, Issue } from "../domain/types.js";
import { AppError } from "../errors.js";
import { type DeclaredSecrets, missingSecrets, type SecretMapping } from "./secret-views.js";

export type FlagOverrides = Record<string, boolean>;
export type DeclaredFlags = Record<string, FlagDefinition>;

/** Bare for the runtime's own org, `owner/name` for another org's public capability (SPEC §7.1). */
export function displayName(name: string, ownerKey: string, ownedByRuntimeOrg: boolean): string {
  return ownedByRuntimeOrg ? name : `${ownerKey}/${name}`;
}

export function parseJsonObject<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** Overrides stored with sorted keys, so equal override sets are equal strings. */
export function serializeOverrides(overrides: FlagOverrides): string {
  const sorted: FlagOverrides = {};
  for (const name of Object.keys(overrides).sort()) sorted[name] = overrides[name];
  return JSON.stringify(sorted);
}

/** Overrides the given version still declares; the rest are dropped on a version change. */
export function keepDeclared(overrides: FlagOverrides, declared: DeclaredFlags): FlagOverrides {
  const kept: FlagOverrides = {};
  for (const [name, value] of Object.entries(overrides))
    if (Object.hasOwn(declared, name)) kept[name] = value;
  return kept;
}

/**
 * Merges requested flag changes into `overrides`: true/false sets, null removes (when allowed).
 * Every undeclared name and non-boolean value is reported at once as 422 invalid_flag_error.
 */
export function mergeFlagChanges(
  overrides: FlagOverrides,
  changes: Record<string, unknown>,
  declared: DeclaredFlags,
  options: { allowRemoval: boolean },
): FlagOverrides {
  const merged = { ...overrides };
  const issues: Issue[] = [];
  for (const [name, value] of Object.entries(changes)) {
    const loc = ["body", "flags", name];
    if (!Object.hasOwn(declared, name)) {
      issues.push({ loc, msg: `the bound version declares no flag '${name}'`, type: "flag.name" });
    } else if (value === null && options.allowRemoval) {
      delete merged[name];
    } else if (typeof value === "boolean") {
      merged[name] = value;
    } else {
      const expected = options.allowRemoval ? "true, false or null" : "true or false";
      issues.push({ loc, msg: `flag '${name}' must be ${expected}`, type: "flag.value" });
    }
  }
  if (issues.length > 0) throw new AppError("invalid_flag_error", "Invalid flag override", issues);
  return merged;
}

/** Every declared flag: its default, overlaid with the persisted override. */
export function effectiveFlags(declared: DeclaredFlags, overrides: FlagOverrides): FlagOverrides {
  const effective: FlagOverrides = {};
  for (const name of Object.keys(declared).sort()) {
    effective[name] = Object.hasOwn(overrides, name) ? overrides[name] : declared[name].default === true;
  }
  return effective;
}

/**
 * `secrets`: name → version of the workspace's secrets, for `missing_secrets` and `secrets` (SPEC
 * §11); read once per list, not per item.
 */
export function toBindingItem(
  row: BindingJoinedRow,
  secrets: ReadonlyMap<string, number> = new Map(),
): RuntimeCapabilityBinding {
  const mapping = parseJsonObject<SecretMapping>(row.secrets);
  const own = row.capability_org_id === row.runtime_org_id;
  // After a public capability goes private, its bindings in other orgs stay but see no "latest".
  const latest = own || row.is_public === 1 ? row.latest_version : null;
  return {
    id: row.id,
    artifact_id: row.version_id,
    capability_name: displayName(row.capability_name, row.owner_key, own),
    version: row.version,
    latest_version: latest,
    enabled: row.enabled === 1,
    flags: parseJsonObject<FlagOverrides>(row.flags),
    description: row.description,
    source: own ? "org" : "public",
    component_counts: parseJsonObject<ComponentCounts>(row.component_counts),
    status: row.status as RuntimeCapabilityBinding["status"],
    upgrade_available: upgradeAvailable(row, latest),
    track: row.track,
    auto_update: row.auto_update === 1,
    revision: row.revision,
    created_at: row.created_at,
    updated_at: row.updated_at,
    secrets: mapping,
    missing_secrets: missingSecrets(parseJsonObject<DeclaredSecrets>(row.declared_secrets), mapping, secrets),
  };
}

/**
 * Whether the tracked target differs from the bound version (SPEC §13): a tag's version when the
 * binding tracks a tag (in either direction: the binding follows the tag), else a newer latest.
 */
function upgradeAvailable(row: BindingJoinedRow, latest: string | null): boolean {
  if (row.track !== null && row.track !== "latest") {
    return row.tag_version !== null && row.tag_version !== row.version;
  }
  return latest !== null && compareSemver(latest, row.version) > 0;
}

export function byCapabilityName(a: { capability_name: string }, b: { capability_name: string }): number {
  return a.capability_name < b.capability_name ? -1 : a.capability_name > b.capability_name ? 1 : 0;
}

/**
 * The revision an `If-Match` header asks for: a number, `undefined` for `*` (any), or -1 when
 * the value cannot be a revision (it then matches nothing).
 */
export function revisionFromIfMatch(header: string): number | undefined {
  const value = header.trim().replace(/^W\//, "");
  if (value === "*") return undefined;
  const match = /^"?(\d{1,15})"?$/.exec(value);
  return match ? Number(match[1]) : -1;
}
