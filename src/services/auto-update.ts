// Auto-update (SPEC §13): a binding with `auto_update` follows its track ("latest" or a tag). Every
// write that can move a target (publish, status change, delete, tag set or removal) calls
// moveTrackingBindings inside its own transaction, after "latest" and the tags are up to date, so
// the bindings move with the target or not at all.

import { findCapabilityById, findVersionById } from "../db/repositories/binding-repository.js";
import { hasCountedSignature } from "../db/repositories/signing-key-repository.js";
import {
  deleteTagsOfVersion,
  listBindingsOffTarget,
  listBindingsOfRuntimes,
  listTags,
  listVersionRequirements,
  listVersionSecrets,
  repointBindings,
  type TagRow,
  type TrackingBindingRow,
} from "../db/repositories/tag-repository.js";
import type { Db } from "../db/schema.js";
import { type AuditEntry, appendAuditBatch } from "./audit.js";
import {
  type DeclaredFlags,
  type FlagOverrides,
  keepDeclared,
  parseJsonObject,
  serializeOverrides,
} from "./binding-views.js";
import { checkMove, type RequirementBinding } from "./dependency-resolution.js";
import type { RequestScope } from "./deps.js";
import { requiresSigned } from "./signing-service.js";
import { requiresOf } from "./upgrade-preview.js";

/** A version a track can point at. */
export interface TrackTarget {
  id: string;
  version: string;
  /** JSON: the version's declared flags. */
  flags: string;
}

/** The capability as a move needs it (read after "latest" was refreshed in this transaction). */
export interface TrackedCapability {
  id: string;
  org_id: string;
  name: string;
  is_public: number;
  owner_key: string;
}

/** Why the targets moved: recorded on every auto-update audit event. */
export interface MoveCause {
  action: string;
  /** The user whose request moved the target; the re-point itself is the system's. */
  by_user_id: string | null;
  request_id: string | null;
}

/**
 * The version an auto-update binding on `track` moves to, or undefined to leave it where it is (the
 * tag was removed, or nothing is installable). This is the single place an auto-update chooses its
 * new version: a runtime policy (for example one that requires signed versions) hooks in here.
 */
export function pickAutoUpdateTarget(
  track: string,
  latest: TrackTarget | null,
  tags: ReadonlyMap<string, TrackTarget>,
): TrackTarget | undefined {
  if (track === "latest") return latest ?? undefined;
  return tags.get(track);
}

/**
 * Re-points every auto-update binding of the capability that is not on its track's target, keeping
 * the overrides the new version declares, and audits each move as the system actor in the
 * binding's org. Returns the runtimes that changed (their caches are dropped by the caller's
 * {kind: "capability"} event). Reads only the bindings tracking this capability (index).
 */
export async function moveTrackingBindings(
  trx: Db,
  capability: TrackedCapability,
  latest: TrackTarget | null,
  cause: MoveCause,
  at: string,
): Promise<Set<string>> {
  const tags = new Map((await listTags(trx, capability.id)).map((t: TagRow) => [t.tag, toTarget(t)]));
  const targets = new Map<string, TrackTarget>();
  for (const track of ["latest", ...tags.keys()]) {
    const target = pickAutoUpdateTarget(track, latest, tags);
    if (target) targets.set(track, target);
  }
  const idsByTrack = new Map([...targets].map(([track, target]) => [track, target.id]));
  const rows = await listBindingsOffTarget(trx, capability.id, idsByTrack);
  // A private capability moves only its own org's bindings: other orgs no longer see its versions.
  const visible = rows.filter((row) => capability.is_public === 1 || row.org_id === capability.org_id);
  const allowed = await withoutUnsignedMoves(
    trx,
    await withoutSecretWidening(trx, visible, targets),
    targets,
  );
  const { movable, skipped } = await withoutBrokenRequirements(trx, allowed, targets, capability, cause);

  // Bindings that end up identical (same target, same kept overrides) are updated together.
  const groups = new Map<string, { target: TrackTarget; flags: string; ids: string[] }>();
  const declaredOf = new Map<string, DeclaredFlags>();
  for (const row of movable) {
    const target = targets.get(row.track) as TrackTarget;
    const declared = declaredOf.get(target.id) ?? parseJsonObject<DeclaredFlags>(target.flags);
    declaredOf.set(target.id, declared);
    const flags = serializeOverrides(keepDeclared(parseJsonObject<FlagOverrides>(row.flags), declared));
    const key = `${target.id}\u0000${flags}`;
    const group = groups.get(key) ?? { target, flags, ids: [] };
    group.ids.push(row.id);
    groups.set(key, group);
  }
  for (const group of groups.values())
    await repointBindings(trx, group.ids, group.target.id, group.flags, at);

  const entries = movable.map((row) => {
    const target = targets.get(row.track) as TrackTarget;
    const declared = declaredOf.get(target.id) as DeclaredFlags;
    const dropped = Object.keys(parseJsonObject<FlagOverrides>(row.flags)).filter(
      (name) => !Object.hasOwn(declared, name),
    );
    return {
      orgId: row.org_id,
      workspaceId: row.runtime_workspace_id,
      action: "runtime.capability.auto_updated",
      targetType: "binding",
      targetId: row.id,
      data: {
        runtime_id: row.runtime_id,
        name:
          row.org_id === capability.org_id ? capability.name : `${capability.owner_key}/${capability.name}`,
        track: row.track,
        from_version: row.version,
        to_version: target.version,
        dropped_overrides: dropped,
        cause,
      },
    };
  });
  await appendAuditBatch(trx, null, [...entries, ...skipped], at);
  return new Set(movable.map((row) => row.runtime_id));
}

/**
 * moveTrackingBindings for a capability by id, reading what it needs (the capability, its owner's
 * key and its latest version) in the caller's transaction. Call after "latest" is refreshed.
 */
export async function followTargets(
  trx: Db,
  capabilityId: string,
  cause: MoveCause,
  at: string,
): Promise<Set<string>> {
  const capability = await findCapabilityById(trx, capabilityId);
  if (!capability) return new Set();
  const latestId = capability.latest_version_id;
  const latest = latestId === null ? undefined : await findVersionById(trx, latestId);
  return moveTrackingBindings(trx, capability, latest ?? null, cause, at);
}

export function causeOf(scope: RequestScope, action: string): MoveCause {
  return { action, by_user_id: scope.actor.userId, request_id: scope.requestId };
}

/** A yanked or deleted version loses its tags (SPEC §13). */
export function untagVersion(trx: Db, versionId: string): Promise<string[]> {
  return deleteTagsOfVersion(trx, versionId);
}

function toTarget(tag: TagRow): TrackTarget {
  return { id: tag.version_id, version: tag.version, flags: tag.flags };
}

/**
 * Drops the moves a runtime's `policy: {require_signed: true}` forbids (SPEC §14): such a binding
 * stays on its version; the next publish, tag move or status change that finds a signed target
 * moves it. One signature lookup per distinct target, and only when some runtime asks.
 */
async function withoutUnsignedMoves<T extends { track: string; runtime_config: string }>(
  trx: Db,
  rows: T[],
  targets: ReadonlyMap<string, TrackTarget>,
): Promise<T[]> {
  const guarded = new Set(rows.filter((row) => requiresSigned(row.runtime_config)));
  if (guarded.size === 0) return rows;
  const signed = new Map<string, boolean>();
  for (const row of guarded) {
    const target = targets.get(row.track) as TrackTarget;
    if (!signed.has(target.id)) signed.set(target.id, await hasCountedSignature(trx, target.id));
  }
  return rows.filter((row) => !guarded.has(row) || signed.get((targets.get(row.track) as TrackTarget).id));
}

/**
 * Drops the moves whose target declares a secret the bound version does not: secrets map to the
 * workspace secret of the same name by default, so following such a version unattended would hand
 * that secret (a GITHUB_TOKEN, say) to code nobody reviewed — and for a public capability, to
 * another org's publisher. The binding stays, `upgrade_available` shows the new version, and a
 * person upgrades it. One query for the few distinct targets.
 */
async function withoutSecretWidening<T extends { track: string; declared_secrets: string }>(
  trx: Db,
  rows: T[],
  targets: ReadonlyMap<string, TrackTarget>,
): Promise<T[]> {
  if (rows.length === 0) return rows;
  const targetIds = [...new Set([...targets.values()].map((target) => target.id))];
  const declaredByTarget = new Map(
    (await listVersionSecrets(trx, targetIds)).map((row) => [
      row.id,
      Object.keys(parseJsonObject(row.secrets)),
    ]),
  );
  return rows.filter((row) => {
    const wanted = declaredByTarget.get((targets.get(row.track) as TrackTarget).id) ?? [];
    if (wanted.length === 0) return true;
    const had = parseJsonObject<Record<string, unknown>>(row.declared_secrets);
    return wanted.every((name) => Object.hasOwn(had, name));
  });
}

/** How a runtime's org names the capability: bare in its own org, `owner/name` in another. */
function displayName(capability: TrackedCapability, orgId: string): string {
  return orgId === capability.org_id ? capability.name : `${capability.owner_key}/${capability.name}`;
}

/**
 * Drops the moves that would break a requirement on the binding's runtime (SPEC §13): the target
 * requires something the runtime does not have bound, enabled and in range, or another enabled
 * binding requires this capability in a range the target leaves. Such a binding stays where it
 * is; each skip is audited (`runtime.capability.auto_update_skipped`, with the reasons), and
 * `upgrade_available` keeps showing the new version. Costs one query per 500 moving runtimes for
 * their bindings and one for the distinct versions' manifests: never a query per binding.
 */
async function withoutBrokenRequirements<T extends TrackingBindingRow>(
  trx: Db,
  rows: T[],
  targets: ReadonlyMap<string, TrackTarget>,
  capability: TrackedCapability,
  cause: MoveCause,
): Promise<{ movable: T[]; skipped: AuditEntry[] }> {
  if (rows.length === 0) return { movable: rows, skipped: [] };
  const orgOfRuntime = new Map(rows.map((row) => [row.runtime_id, row.org_id]));
  const bound = await listBindingsOfRuntimes(trx, [...orgOfRuntime.keys()]);
  const versionIds = new Set(bound.map((row) => row.version_id));
  for (const target of targets.values()) versionIds.add(target.id);
  const versions = new Map(
    (await listVersionRequirements(trx, [...versionIds])).map((row) => [
      row.id,
      { ...row, requires: requiresOf(parseJsonObject<Record<string, unknown>>(row.manifest)) },
    ]),
  );
  // Nothing bound on these runtimes requires anything, and no target does: every move stands.
  if ([...versions.values()].every((version) => Object.keys(version.requires).length === 0))
    return { movable: rows, skipped: [] };

  const byRuntime = new Map<string, RequirementBinding[]>();
  for (const row of bound) {
    const version = versions.get(row.version_id);
    if (!version) continue;
    const orgId = orgOfRuntime.get(row.runtime_id) as string;
    const list = byRuntime.get(row.runtime_id) ?? [];
    list.push({
      capability_id: row.capability_id,
      owner_key: version.owner_key,
      name: version.name,
      display: version.capability_org_id === orgId ? version.name : `${version.owner_key}/${version.name}`,
      enabled: row.enabled === 1,
      version: version.version,
      requires: version.requires,
    });
    byRuntime.set(row.runtime_id, list);
  }
  const movable: T[] = [];
  const skipped: AuditEntry[] = [];
  for (const row of rows) {
    const target = targets.get(row.track) as TrackTarget;
    const bindings = byRuntime.get(row.runtime_id) ?? [];
    const moving = bindings.find((binding) => binding.capability_id === capability.id);
    if (!moving) {
      movable.push(row);
      continue;
    }
    const check = checkMove(
      bindings,
      moving,
      { version: target.version, requires: versions.get(target.id)?.requires ?? {} },
      ["binding"],
    );
    if (check.unmet.length === 0 && check.dependants.length === 0) {
      movable.push(row);
      continue;
    }
    skipped.push({
      orgId: row.org_id,
      workspaceId: row.runtime_workspace_id,
      action: "runtime.capability.auto_update_skipped",
      targetType: "binding",
      targetId: row.id,
      data: {
        runtime_id: row.runtime_id,
        name: displayName(capability, row.org_id),
        track: row.track,
        version: row.version,
        target_version: target.version,
        reason: "requirements",
        unmet: check.unmet.map((item) => item.msg),
        dependants: check.dependants.map((item) => item.msg),
        cause,
      },
    });
  }
  return { movable, skipped };
}
