// Runtime capability bindings (SPEC §7.1–7.5) and the reconciliation of a runtime's bindings to a
// declared list (SPEC §6). Reads of the list come from memory (binding-cache.ts); every write
// publishes {kind: "runtime"} after commit so that cache, and other instances', drop the runtime.
import type { Kysely, Transaction } from "kysely";
import type { BindingCreateBody, BindingPatchBody, RuntimeCapabilityBinding } from "../contract/bindings.js";
import type { Dialect } from "../db/connect.js";
import {
  type BindingChanges,
  type BindingJoinedRow,
  type CapabilityRef,
  type Db,
  deleteBindingAtRevision,
  findBinding,
  findCapabilityById,
  findCapabilityByOwner,
  findRuntimeInWorkspace,
  findRuntimeLocation,
  findVersionById,
  insertBinding,
  listJoinedBindings,
  type RuntimeRef,
  updateBindingAtRevision,
  type VersionRow,
} from "../db/repositories/binding-repository.js";
import { findVersion, holdCapability } from "../db/repositories/capability-repository.js";
import type { Database, Row } from "../db/schema.js";
import type { Issue } from "../domain/types.js";
import { AppError, conflict, notFound } from "../errors.js";
import { newId } from "../lib/ids.js";
import { requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import {
  cachedViewFor,
  type RuntimeView,
  RuntimeViewCache,
  readViewFor,
  type SerializedBody,
  serialized,
} from "./binding-cache.js";
import {
  byCapabilityName,
  type DeclaredFlags,
  displayName,
  type FlagOverrides,
  keepDeclared,
  mergeFlagChanges,
  parseJsonObject,
  revisionFromIfMatch,
  serializeOverrides,
  toBindingItem,
} from "./binding-views.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import type { OrgRoleCache } from "./org-role-cache.js";
import { requireRuntimeTokenRead } from "./runtime-token-service.js";
import { previewUpgrade, type UpgradePreview } from "./upgrade-preview.js";

/** Where a request points: `/org/{org}/ws/{workspace}/runtimes/{runtimeId}` (id lower-cased). */
export interface RuntimePath {
  org: string;
  workspace: string;
  runtimeId: string;
}

export interface DesiredBinding {
  name: string;
  version?: string;
  enabled?: boolean;
}

export interface ReconciliationPlan {
  install: { name: string; version: string; enabled: boolean }[];
  update: { name: string; from: string; to: string; enabled: boolean }[];
  remove: { name: string; version: string }[];
}

interface OrgRef {
  id: string;
  key: string;
}

/** The serialized response: sent as is, joined to the headers in one write. */
type BindingListView = RuntimeView & SerializedBody;

/** Unconditional PATCHes that keep losing the race this often give up with 409 after all. */
const UNCONDITIONAL_ATTEMPTS = 20;

/** The binding's revision moved between reading and writing it (409 unless retried). */
class ConcurrentChangeError extends AppError {
  constructor() {
    super("conflict_error", "The binding was changed concurrently; read it again and retry");
  }
}

export class BindingService {
  private readonly lists: RuntimeViewCache<BindingListView>;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly roles: OrgRoleCache,
  ) {
    this.lists = new RuntimeViewCache(deps.changes);
  }

  /**
   * `GET RT/capabilities`, serialized: from memory unless something it shows has changed. When the
   * caller's role and the list are both in memory the answer is synchronous: the product's hottest
   * request allocates no promise and makes no query.
   */
  listBody(actor: Actor, path: RuntimePath): Buffer | Promise<Buffer> {
    return this.cachedList(actor, path)?.body ?? this.readListBody(actor, path);
  }

  /** The list from memory when the caller may read it and it is cached (see cachedViewFor). */
  cachedList(actor: Actor, path: RuntimePath): SerializedBody | undefined {
    return cachedViewFor(this.lists, this.roles, actor, path);
  }

  private async readListBody(actor: Actor, path: RuntimePath): Promise<Buffer> {
    const view = await readViewFor(this.deps, this.lists, this.roles, actor, path, () =>
      this.loadList(path.runtimeId),
    );
    return view.body;
  }

  private async loadList(runtimeId: string): Promise<BindingListView> {
    const location = await findRuntimeLocation(this.deps.db, runtimeId);
    if (!location) throw notFound("Runtime");
    const rows = await listJoinedBindings(this.deps.db, runtimeId);
    const items = rows.map(toBindingItem).sort(byCapabilityName);
    return {
      orgId: location.org_id,
      workspaceKey: location.workspace_key,
      capabilityIds: rows.map((row) => row.capability_id),
      ...serialized({ items }),
    };
  }

  async get(actor: Actor, path: RuntimePath, bindingId: string): Promise<RuntimeCapabilityBinding> {
    if (actor.runtimeId !== null) await requireRuntimeTokenRead(this.deps, actor, { runtime: path });
    const { org } = await requireOrgRole(this.deps, actor, path.org, "reader");
    const runtime = await requireRuntime(this.deps.db, org.id, path);
    return presentBinding(this.deps.db, runtime.id, bindingId);
  }

  async create(
    scope: RequestScope,
    path: RuntimePath,
    body: BindingCreateBody,
  ): Promise<RuntimeCapabilityBinding> {
    const { org } = await requireOrgRole(this.deps, scope.actor, path.org, "contributor");
    const at = this.deps.now().toISOString();
    const item = await this.deps.db.transaction().execute(async (trx) => {
      const runtime = await requireRuntime(trx, org.id, path);
      const capability = await resolveCapability(trx, org, body.name);
      const version = await resolveVersion(
        trx,
        this.deps.dialect,
        capability,
        body.version ?? "latest",
        body.name,
      );
      const declared = parseJsonObject<DeclaredFlags>(version.flags);
      const overrides = mergeFlagChanges({}, body.flags ?? {}, declared, { allowRemoval: false });
      const name = nameFor(capability, org.id);
      const binding: Row<"bindings"> = {
        id: newId(),
        org_id: runtime.org_id,
        runtime_id: runtime.id,
        capability_id: capability.id,
        version_id: version.id,
        enabled: body.enabled === false ? 0 : 1,
        flags: serializeOverrides(overrides),
        revision: 1,
        created_at: at,
        updated_at: at,
      };
      await insertBinding(trx, binding, name);
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          action: "runtime.capability.installed",
          targetType: "binding",
          targetId: binding.id,
          data: {
            runtime_id: runtime.id,
            name,
            version: version.version,
            enabled: binding.enabled === 1,
            flags: overrides,
          },
        },
        at,
      );
      return presentBinding(trx, runtime.id, binding.id);
    });
    this.deps.changes.publish({ kind: "runtime", runtimeId: path.runtimeId });
    return item;
  }

  /**
   * `PATCH RT/capabilities/{id}`. The write is conditional on the revision read in the same
   * transaction, so of concurrent PATCHes each either applies to the latest state or gets 409.
   * Without `If-Match` the caller asked for no such condition: a PATCH that lost the race is
   * planned again on the new state (PostgreSQL lets concurrent transactions read the same
   * revision; SQLite serialises them). A PATCH that changes nothing keeps the revision.
   */
  async update(
    scope: RequestScope,
    path: RuntimePath,
    bindingId: string,
    body: BindingPatchBody,
    ifMatch: string | undefined,
  ): Promise<RuntimeCapabilityBinding> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.updateOnce(scope, path, bindingId, body, ifMatch);
      } catch (error) {
        if (
          !(error instanceof ConcurrentChangeError) ||
          ifMatch !== undefined ||
          attempt >= UNCONDITIONAL_ATTEMPTS
        ) {
          throw error;
        }
      }
    }
  }

  private async updateOnce(
    scope: RequestScope,
    path: RuntimePath,
    bindingId: string,
    body: BindingPatchBody,
    ifMatch: string | undefined,
  ): Promise<RuntimeCapabilityBinding> {
    const { org } = await requireOrgRole(this.deps, scope.actor, path.org, "contributor");
    const at = this.deps.now().toISOString();
    const { item, changed } = await this.deps.db.transaction().execute(async (trx) => {
      const runtime = await requireRuntime(trx, org.id, path);
      const binding = await requireBinding(trx, runtime.id, bindingId, ifMatch);
      const plan = await planBindingChange(trx, this.deps.dialect, org, binding, body);
      if (Object.keys(plan.changes).length === 0) {
        return { item: await presentBinding(trx, runtime.id, binding.id), changed: false };
      }
      if (!(await updateBindingAtRevision(trx, binding.id, binding.revision, plan.changes, at))) {
        throw new ConcurrentChangeError();
      }
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          action: "runtime.capability.updated",
          targetType: "binding",
          targetId: binding.id,
          data: { runtime_id: runtime.id, revision: binding.revision + 1, ...plan.summary },
        },
        at,
      );
      return { item: await presentBinding(trx, runtime.id, binding.id), changed: true };
    });
    if (changed) this.deps.changes.publish({ kind: "runtime", runtimeId: path.runtimeId });
    return item;
  }

  async remove(
    scope: RequestScope,
    path: RuntimePath,
    bindingId: string,
    ifMatch: string | undefined,
  ): Promise<void> {
    const { org } = await requireOrgRole(this.deps, scope.actor, path.org, "contributor");
    const at = this.deps.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      const runtime = await requireRuntime(trx, org.id, path);
      const binding = await requireBinding(trx, runtime.id, bindingId, ifMatch);
      const [row] = await listJoinedBindings(trx, runtime.id, binding.id);
      if (!(await deleteBindingAtRevision(trx, binding.id, binding.revision))) {
        throw conflict("The binding was changed concurrently; read it again and retry");
      }
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          action: "runtime.capability.removed",
          targetType: "binding",
          targetId: binding.id,
          data: { runtime_id: runtime.id, name: nameOfRow(row), version: row.version },
        },
        at,
      );
    });
    this.deps.changes.publish({ kind: "runtime", runtimeId: path.runtimeId });
  }

  async upgradePreview(
    actor: Actor,
    path: RuntimePath,
    bindingId: string,
    selector: string,
  ): Promise<UpgradePreview> {
    const { org } = await requireOrgRole(this.deps, actor, path.org, "reader");
    const db = this.deps.db;
    const runtime = await requireRuntime(db, org.id, path);
    const binding = await requireBinding(db, runtime.id, bindingId, undefined);
    const current = await requireVersionById(db, binding.version_id);
    const target = await targetVersion(db, this.deps.dialect, org, binding, current, selector);
    return previewUpgrade(current, target, parseJsonObject<FlagOverrides>(binding.flags));
  }
}

async function requireRuntime(db: Db, orgId: string, path: RuntimePath): Promise<RuntimeRef> {
  const runtime = await findRuntimeInWorkspace(db, orgId, path.workspace, path.runtimeId);
  if (!runtime) throw notFound("Runtime");
  return runtime;
}

/** The binding, checked against an `If-Match` revision when one is given (mismatch → 409). */
async function requireBinding(
  db: Db,
  runtimeId: string,
  bindingId: string,
  ifMatch: string | undefined,
): Promise<Row<"bindings">> {
  const binding = await findBinding(db, runtimeId, bindingId);
  if (!binding) throw notFound("Binding");
  const expected = ifMatch === undefined ? undefined : revisionFromIfMatch(ifMatch);
  if (expected !== undefined && expected !== binding.revision) {
    throw conflict(`If-Match does not match: the binding is at revision ${binding.revision}`);
  }
  return binding;
}

async function requireVersionById(db: Db, versionId: string): Promise<VersionRow> {
  const version = await findVersionById(db, versionId);
  if (!version) throw notFound("Version");
  return version;
}

async function presentBinding(
  db: Db,
  runtimeId: string,
  bindingId: string,
): Promise<RuntimeCapabilityBinding> {
  const [row] = await listJoinedBindings(db, runtimeId, bindingId);
  if (!row) throw notFound("Binding");
  return toBindingItem(row);
}

function isVisibleTo(capability: CapabilityRef, orgId: string): boolean {
  return capability.org_id === orgId || capability.is_public === 1;
}

function nameFor(capability: CapabilityRef, runtimeOrgId: string): string {
  return displayName(capability.name, capability.owner_key, capability.org_id === runtimeOrgId);
}

function nameOfRow(row: BindingJoinedRow): string {
  return displayName(row.capability_name, row.owner_key, row.capability_org_id === row.runtime_org_id);
}

/** `name` → the runtime org's own capability; `owner/name` → that org's capability. */
function splitReference(reference: string, runtimeOrg: OrgRef): { ownerKey: string; name: string } {
  const slash = reference.indexOf("/");
  if (slash === -1) return { ownerKey: runtimeOrg.key, name: reference };
  return { ownerKey: reference.slice(0, slash), name: reference.slice(slash + 1) };
}

async function findReferencedCapability(
  db: Db,
  runtimeOrg: OrgRef,
  reference: string,
): Promise<CapabilityRef | undefined> {
  const { ownerKey, name } = splitReference(reference, runtimeOrg);
  return findCapabilityByOwner(db, ownerKey, name);
}

async function resolveCapability(db: Db, runtimeOrg: OrgRef, reference: string): Promise<CapabilityRef> {
  const capability = await findReferencedCapability(db, runtimeOrg, reference);
  if (!capability || !isVisibleTo(capability, runtimeOrg.id)) throw notFound(`Capability '${reference}'`);
  return capability;
}

/**
 * `latest` or an exact version; deleted → 404, yanked → 409 (no new bindings to a yanked version).
 * On PostgreSQL the capability row is first locked FOR SHARE until the transaction ends. A version
 * delete, status change or publish locks it FOR UPDATE, so it either commits before the reads below
 * (which then see its outcome) or waits for this binding to commit (and then sees the binding).
 * Without it a binding could be written to a version deleted at the same moment.
 */
async function resolveVersion(
  db: Db,
  dialect: Dialect,
  capability: CapabilityRef,
  selector: string,
  reference: string,
): Promise<VersionRow> {
  const held = await holdCapability(db, dialect, capability.id);
  if (!held) throw notFound(`Capability '${reference}'`);
  const latestVersionId = held.latest_version_id;
  if (selector === "latest") {
    const latest = latestVersionId === null ? undefined : await findVersionById(db, latestVersionId);
    if (!latest)
      throw new AppError("not_found_error", `Capability '${reference}' has no installable version`);
    return latest;
  }
  const version = await findVersion(db, capability.id, selector);
  if (!version || version.status === "deleted") throw notFound(`Version ${selector} of '${reference}'`);
  if (version.status === "yanked") throw conflict(`Version ${selector} of '${reference}' is yanked`);
  return version;
}

/** The version a PATCH or preview points at; naming the bound version again is always allowed. */
async function targetVersion(
  db: Db,
  dialect: Dialect,
  runtimeOrg: OrgRef,
  binding: Row<"bindings">,
  current: VersionRow,
  selector: string,
): Promise<VersionRow> {
  if (selector === current.version) return current;
  const capability = await findCapabilityById(db, binding.capability_id);
  const reference = capability ? nameFor(capability, runtimeOrg.id) : "capability";
  if (!capability || !isVisibleTo(capability, runtimeOrg.id)) throw notFound(`Capability '${reference}'`);
  return resolveVersion(db, dialect, capability, selector, reference);
}

interface BindingChangePlan {
  changes: BindingChanges;
  summary: Record<string, unknown>;
}

async function planBindingChange(
  db: Db,
  dialect: Dialect,
  runtimeOrg: OrgRef,
  binding: Row<"bindings">,
  body: BindingPatchBody,
): Promise<BindingChangePlan> {
  const current = await requireVersionById(db, binding.version_id);
  const target =
    body.version === undefined
      ? current
      : await targetVersion(db, dialect, runtimeOrg, binding, current, body.version);
  const declared = parseJsonObject<DeclaredFlags>(target.flags);
  const overrides = parseJsonObject<FlagOverrides>(binding.flags);
  const kept = keepDeclared(overrides, declared);
  const merged =
    body.flags === undefined ? kept : mergeFlagChanges(kept, body.flags, declared, { allowRemoval: true });
  const enabled = body.enabled === undefined ? binding.enabled : body.enabled ? 1 : 0;

  const changes: BindingChanges = {};
  if (target.id !== current.id) changes.version_id = target.id;
  if (enabled !== binding.enabled) changes.enabled = enabled;
  const flags = serializeOverrides(merged);
  if (flags !== serializeOverrides(overrides)) changes.flags = flags;
  return {
    changes,
    summary: {
      from_version: current.version,
      to_version: target.version,
      enabled: enabled === 1,
      flags: merged,
      dropped_overrides: Object.keys(overrides).filter((name) => !Object.hasOwn(kept, name)),
    },
  };
}

// ---- Reconciliation (SPEC §6), called inside the runtime service's transactions ----------------

/**
 * Makes the runtime's bindings exactly `desired` (install missing, re-point or enable/disable
 * listed, remove unlisted), writing an audit row per binding; with `dryRun` only the plan.
 * An entry without `version` keeps an existing binding's version (installs take latest), so
 * re-applying the same file changes nothing; `latest` explicitly follows the latest version.
 * The caller commits and then publishes {kind: "runtime"}.
 */
export async function reconcileRuntimeBindings(
  trx: Transaction<Database>,
  scope: RequestScope,
  runtime: { id: string; org_id: string },
  desired: DesiredBinding[],
  options: { dryRun: boolean; dialect: Dialect; at?: string },
): Promise<ReconciliationPlan> {
  const org = await trx
    .selectFrom("orgs")
    .select(["id", "key"])
    .where("id", "=", runtime.org_id)
    .executeTakeFirstOrThrow();
  assertNoDuplicates(desired, org);
  const at = options.at ?? new Date().toISOString();
  const context: ReconcileContext = {
    trx,
    dialect: options.dialect,
    org,
    runtimeId: runtime.id,
    at,
    audit: (action, targetId, data) =>
      appendAudit(
        trx,
        scope,
        { orgId: org.id, action, targetType: "binding", targetId, data: { runtime_id: runtime.id, ...data } },
        at,
      ),
  };
  const bound = new Map((await listJoinedBindings(trx, runtime.id)).map((row) => [row.capability_id, row]));
  const plan: ReconciliationPlan = { install: [], update: [], remove: [] };
  const writes: (() => Promise<void>)[] = [];

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
      const step = await planInstall(context, capability, entry);
      plan.install.push(step.item);
      writes.push(step.write);
      continue;
    }
    const step = await planUpdate(context, capability, existing, entry);
    if (step) {
      plan.update.push(step.item);
      writes.push(step.write);
    }
  }
  for (const existing of bound.values()) {
    if (listed.has(existing.capability_id)) continue;
    const step = planRemove(context, existing);
    plan.remove.push(step.item);
    writes.push(step.write);
  }

  if (!options.dryRun) for (const write of writes) await write();
  plan.install.sort(byName);
  plan.update.sort(byName);
  plan.remove.sort(byName);
  return plan;
}

interface ReconcileContext {
  trx: Transaction<Database>;
  dialect: Dialect;
  org: OrgRef;
  runtimeId: string;
  at: string;
  audit: (action: string, targetId: string, data: Record<string, unknown>) => Promise<void>;
}

/** One line of the plan and the write that carries it out. */
interface PlanStep<T> {
  item: T;
  write: () => Promise<void>;
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
  const name = nameFor(capability, org.id);
  const enabled = entry.enabled ?? true;
  const binding: Row<"bindings"> = {
    id: newId(),
    org_id: org.id,
    runtime_id: runtimeId,
    capability_id: capability.id,
    version_id: version.id,
    enabled: enabled ? 1 : 0,
    flags: "{}",
    revision: 1,
    created_at: at,
    updated_at: at,
  };
  return {
    item: { name, version: version.version, enabled },
    write: async () => {
      await insertBinding(trx, binding, name);
      await context.audit("runtime.capability.installed", binding.id, {
        name,
        version: version.version,
        enabled,
        flags: {},
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
  if (!versionChanged && enabled === (existing.enabled === 1)) return null;

  const name = nameOfRow(existing);
  const to = target?.version ?? existing.version;
  const overrides = parseJsonObject<FlagOverrides>(existing.flags);
  const flags = target ? keepDeclared(overrides, parseJsonObject<DeclaredFlags>(target.flags)) : overrides;
  const changes: BindingChanges = { enabled: enabled ? 1 : 0, flags: serializeOverrides(flags) };
  if (target) changes.version_id = target.id;
  return {
    item: { name, from: existing.version, to, enabled },
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
      await context.trx.deleteFrom("bindings").where("id", "=", existing.id).execute();
      await context.audit("runtime.capability.removed", existing.id, { name, version: existing.version });
    },
  };
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
  db: Kysely<Database> | Transaction<Database>,
  runtimeId: string,
): Promise<{ name: string; version: string; enabled: boolean }[]> {
  const rows = await listJoinedBindings(db, runtimeId);
  return rows
    .map((row) => ({ name: nameOfRow(row), version: row.version, enabled: row.enabled === 1 }))
    .sort(byName);
}
