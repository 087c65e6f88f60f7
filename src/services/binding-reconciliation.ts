// The reconciliation of a runtime's bindings to a declared list (SPEC §6), called inside the runtime
// service's transactions; the caller commits and then publishes {kind: "runtime"}.
import type { Dialect } from "../db/connect.js";
import {
  type BindingChanges,
  type BindingJoinedRow,
  type CapabilityRef,
  deleteBinding,
  insertBinding,
  listJoinedBindings,
  updateBindingAtRevision,
} from "../db/repositories/binding-repository.js";
import { findOrgRef } from "../db/repositories/org-repository.js";
import type { Db, NewRow } from "../db/schema.js";
import type { Issue } from "../domain/types.js";
import { AppError, conflict, notFound } from "../errors.js";
import { newId } from "../lib/ids.js";
import { appendAudit } from "./audit.js";
import {
  type DeclaredFlags,
  type FlagOverrides,
  keepDeclared,
  parseJsonObject,
  serializeOverrides,
} from "./binding-views.js";
import {
  findReferencedCapability,
  isVisibleTo,
  nameFor,
  nameOfRow,
  type OrgRef,
  resolveVersion,
  splitReference,
  trackOf,
} from "./capability-resolution.js";
import { assertRuntimeRequirements } from "./dependency-resolution.js";
import type { RequestScope } from "./deps.js";
import {
  type DeclaredSecrets,
  keepDeclaredMapping,
  mergeSecretMapping,
  type SecretMapping,
  serializeMapping,
} from "./secret-views.js";

import { assertSignedIfRequired } from "./signing-service.js";

const secretsLoc = (name: string) => ["body", "config", "capabilities", name, "secrets"];

import { requiresOf } from "./upgrade-preview.js";

export interface DesiredBinding {
  name: string;
  version?: string;
  enabled?: boolean;
  /** The whole mapping of declared secrets to workspace secrets; absent keeps the current one. */
  secrets?: Record<string, string>;
  /**
   * Follow the tracked tag or latest (SPEC §13). Absent: a new binding does not, an existing one
   * keeps its setting (off when the entry pins a version). `true` with a fixed version is 422.
   */
  auto_update?: boolean;
}

/** What a binding tracks after the apply, shown on each install and update of the plan. */
interface Tracking {
  track: string | null;
  auto_update: boolean;
}

export interface ReconciliationPlan {
  install: ({ name: string; version: string; enabled: boolean } & Tracking)[];
  update: ({ name: string; from: string; to: string; enabled: boolean } & Tracking)[];
  remove: { name: string; version: string }[];
}

/**
 * Makes the runtime's bindings exactly `desired` (install missing, re-point or enable/disable
 * listed, remove unlisted), writing an audit row per binding; with `dryRun` only the plan.
 * An entry without `version` keeps an existing binding's version (installs take latest), so
 * re-applying the same file changes nothing; `latest` explicitly follows the latest version.
 * The caller commits and then publishes {kind: "runtime"}.
 */
export async function reconcileRuntimeBindings(
  trx: Db,
  scope: RequestScope,
  runtime: { id: string; org_id: string; workspace_id: string },
  desired: DesiredBinding[],
  options: { dryRun: boolean; dialect: Dialect; at: string; requireSigned?: boolean },
): Promise<ReconciliationPlan> {
  const org = await findOrgRef(trx, runtime.org_id);
  assertNoDuplicates(desired, org);
  assertAutoUpdateTracks(desired);
  const at = options.at;
  const context: ReconcileContext = {
    trx,
    dialect: options.dialect,
    org,
    runtimeId: runtime.id,
    at,
    requireSigned: options.requireSigned ?? false,
    audit: (action, targetId, data) =>
      appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          workspaceId: runtime.workspace_id,
          action,
          targetType: "binding",
          targetId,
          data: { runtime_id: runtime.id, ...data },
        },
        at,
      ),
  };
  const bound = new Map((await listJoinedBindings(trx, runtime.id)).map((row) => [row.capability_id, row]));
  const plan: ReconciliationPlan = { install: [], update: [], remove: [] };
  const writes: (() => Promise<void>)[] = [];
  // `owner/name` of every binding the apply installs, changes or removes.
  const touched = new Set<string>();

  const listed = new Set<string>();
  for (const entry of desired) {
    const capability = await findReferencedCapability(trx, org, entry.name);
    const existing = capability ? bound.get(capability.id) : undefined;
    // A binding to a public capability that has since gone private stays as long as it is kept as is.
    const keptAsIs =
      existing !== undefined && (entry.version === undefined || entry.version === existing.version);
    if (!capability || (!isVisibleTo(capability, org.id) && !keptAsIs)) {
      throw notFound(`Capability '${entry.name}'`);
    }
    listed.add(capability.id);
    if (!existing) {
      touched.add(`${capability.owner_key}/${capability.name}`);
      const step = await planInstall(context, capability, entry);
      plan.install.push(step.item);
      writes.push(step.write);
      continue;
    }
    const step = await planUpdate(context, capability, existing, entry);
    if (step) {
      touched.add(`${existing.owner_key}/${existing.capability_name}`);
      plan.update.push(step.item);
      writes.push(step.write);
    }
  }
  for (const existing of bound.values()) {
    if (listed.has(existing.capability_id)) continue;
    touched.add(`${existing.owner_key}/${existing.capability_name}`);
    const step = planRemove(context, existing);
    plan.remove.push(step.item);
    writes.push(step.write);
  }

  if (!options.dryRun) {
    for (const write of writes) await write();
    // Checked on the result, so the order of the listed entries does not matter.
    await assertRuntimeRequirements(trx, runtime.id, touched);
  }
  plan.install.sort(byName);
  plan.update.sort(byName);
  plan.remove.sort(byName);
  return plan;
}

interface ReconcileContext {
  trx: Db;
  dialect: Dialect;
  org: OrgRef;
  runtimeId: string;
  at: string;
  /** The config's `policy.require_signed`: every version the apply binds or moves to is checked. */
  requireSigned: boolean;
  audit: (action: string, targetId: string, data: Record<string, unknown>) => Promise<void>;
}

/** One line of the plan and the write that carries it out. */
interface PlanStep<T> {
  item: T;
  write: () => Promise<void>;
}

function requiresItem(version: { manifest: string }): { requires?: Record<string, string> } {
  const requires = requiresOf(JSON.parse(version.manifest));
  return Object.keys(requires).length > 0 ? { requires } : {};
}

const byName = (a: { name: string }, b: { name: string }): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

async function planInstall(
  context: ReconcileContext,
  capability: CapabilityRef,
  entry: DesiredBinding,
): Promise<PlanStep<ReconciliationPlan["install"][number]>> {
  const { trx, org, runtimeId, at } = context;
  const version = await resolveVersion(
    trx,
    context.dialect,
    capability,
    entry.version ?? "latest",
    entry.name,
  );
  await assertSignedIfRequired(trx, context.requireSigned, version, entry.name);
  const name = nameFor(capability, org.id);
  const enabled = entry.enabled ?? true;
  const track = trackOf(entry.version ?? "latest");
  const autoUpdate = entry.auto_update === true;
  const mapping = mergeSecretMapping(
    {},
    entry.secrets ?? {},
    parseJsonObject<DeclaredSecrets>(version.secrets),
    secretsLoc(entry.name),
  );
  const binding: NewRow<"bindings"> = {
    id: newId(),
    org_id: org.id,
    runtime_id: runtimeId,
    capability_id: capability.id,
    version_id: version.id,
    enabled: enabled ? 1 : 0,
    flags: "{}",
    secrets: serializeMapping(mapping),
    revision: 1,
    track,
    auto_update: autoUpdate ? 1 : 0,
    created_at: at,
    updated_at: at,
  };
  return {
    item: {
      name,
      version: version.version,
      enabled,
      track,
      auto_update: autoUpdate,
      ...requiresItem(version),
    },
    write: async () => {
      await insertBinding(trx, binding, name);
      await context.audit("runtime.capability.installed", binding.id, {
        name,
        version: version.version,
        enabled,
        flags: {},
        track,
        auto_update: autoUpdate,
      });
    },
  };
}

async function planUpdate(
  context: ReconcileContext,
  capability: CapabilityRef,
  existing: BindingJoinedRow,
  entry: DesiredBinding,
): Promise<PlanStep<ReconciliationPlan["update"][number]> | null> {
  const { trx, at } = context;
  const enabled = entry.enabled ?? true;
  const repoint = entry.version !== undefined && entry.version !== existing.version;
  const target = repoint
    ? await resolveVersion(trx, context.dialect, capability, entry.version ?? "latest", entry.name)
    : null;
  const versionChanged = target !== null && target.id !== existing.version_id;
  const declaredSecrets = parseJsonObject<DeclaredSecrets>(
    target ? target.secrets : existing.declared_secrets,
  );
  const mapping =
    entry.secrets === undefined
      ? keepDeclaredMapping(parseJsonObject<SecretMapping>(existing.secrets), declaredSecrets)
      : mergeSecretMapping({}, entry.secrets, declaredSecrets, secretsLoc(entry.name));
  const secrets = serializeMapping(mapping);
  const secretsChanged = secrets !== serializeMapping(parseJsonObject<SecretMapping>(existing.secrets));
  if (versionChanged) await assertSignedIfRequired(trx, context.requireSigned, target, entry.name);
  // Naming another version (or a tag, or latest) re-decides what the binding tracks; naming the
  // bound number again, or nothing, keeps it. A pinned version follows nothing.
  const track = target ? trackOf(entry.version ?? "latest") : existing.track;
  const autoUpdate = track !== null && (entry.auto_update ?? existing.auto_update === 1);
  const trackingChanged = track !== existing.track || autoUpdate !== (existing.auto_update === 1);
  if (!versionChanged && !secretsChanged && !trackingChanged && enabled === (existing.enabled === 1))
    return null;

  const name = nameOfRow(existing);
  const to = target?.version ?? existing.version;
  const overrides = parseJsonObject<FlagOverrides>(existing.flags);
  const flags = target ? keepDeclared(overrides, parseJsonObject<DeclaredFlags>(target.flags)) : overrides;
  const changes: BindingChanges = {
    enabled: enabled ? 1 : 0,
    flags: serializeOverrides(flags),
    secrets,
    track,
    auto_update: autoUpdate ? 1 : 0,
  };
  if (target) changes.version_id = target.id;
  return {
    item: {
      name,
      from: existing.version,
      to,
      enabled,
      track,
      auto_update: autoUpdate,
      ...(target ? requiresItem(target) : {}),
    },
    write: async () => {
      if (!(await updateBindingAtRevision(trx, existing.id, existing.revision, changes, at))) {
        throw conflict(`The binding of '${name}' was changed concurrently; apply again`);
      }
      await context.audit("runtime.capability.updated", existing.id, {
        revision: existing.revision + 1,
        from_version: existing.version,
        to_version: to,
        enabled,
        flags,
        track,
        auto_update: autoUpdate,
      });
    },
  };
}

function planRemove(
  context: ReconcileContext,
  existing: BindingJoinedRow,
): PlanStep<ReconciliationPlan["remove"][number]> {
  const name = nameOfRow(existing);
  return {
    item: { name, version: existing.version },
    write: async () => {
      await deleteBinding(context.trx, existing.id);
      await context.audit("runtime.capability.removed", existing.id, { name, version: existing.version });
    },
  };
}

/** `auto_update: true` next to a fixed version has nothing to follow: 422, as on the binding routes. */
function assertAutoUpdateTracks(desired: DesiredBinding[]): void {
  const issues: Issue[] = [];
  desired.forEach((entry, index) => {
    if (entry.auto_update !== true || entry.version === undefined || trackOf(entry.version) !== null) return;
    issues.push({
      loc: ["body", "config", "capabilities", index, "auto_update"],
      msg: `version '${entry.version}' is a fixed version; list a tag or "latest" to auto-update`,
      type: "binding.auto_update",
    });
  });
  if (issues.length > 0)
    throw new AppError("validation_error", "auto_update needs a tag or latest to follow", issues);
}

/** The same capability listed twice (also as `own-org/name` and `name`) → 422 on each repeat. */
function assertNoDuplicates(desired: DesiredBinding[], runtimeOrg: OrgRef): void {
  const seen = new Set<string>();
  const issues: Issue[] = [];
  desired.forEach((entry, index) => {
    const { ownerKey, name } = splitReference(entry.name, runtimeOrg);
    const key = `${ownerKey}/${name}`;
    if (seen.has(key)) {
      issues.push({
        loc: ["body", "config", "capabilities", index, "name"],
        msg: `'${entry.name}' is listed more than once`,
        type: "value_error.duplicate",
      });
    }
    seen.add(key);
  });
  if (issues.length > 0)
    throw new AppError("validation_error", "A capability is listed more than once", issues);
}

/** The runtime's bindings as `config.capabilities` shows them, sorted by name. */
export async function listBindingsForConfig(
  db: Db,
  runtimeId: string,
): Promise<{ name: string; version: string; enabled: boolean }[]> {
  const rows = await listJoinedBindings(db, runtimeId);
  return rows
    .map((row) => ({ name: nameOfRow(row), version: row.version, enabled: row.enabled === 1 }))
    .sort(byName);
}
