// Runtime capability bindings (SPEC §7.1–7.5). Reads of the list come from memory
// (binding-cache.ts); every write publishes {kind: "runtime"} after commit so that cache, and other
// instances', drop the runtime. Which capability and version a reference names is
// capability-resolution.ts; reconciling a runtime to its declared config is binding-reconciliation.ts.

import type { BindingCreateBody, BindingPatchBody, RuntimeCapabilityBinding } from "../contract/bindings.js";
import type { Dialect } from "../db/connect.js";
import {
  type BindingChanges,
  type BindingJoinedRow,
  deleteBindingAtRevision,
  findBinding,
  findCapabilityById,
  insertBinding,
  listJoinedBindings,
  updateBindingAtRevision,
} from "../db/repositories/binding-repository.js";
import {
  findRuntimeInWorkspace,
  findRuntimeLocation,
  type RuntimeRef,
} from "../db/repositories/runtime-repository.js";
import { workspaceSecretVersions } from "../db/repositories/secret-repository.js";
import type { Db, NewRow, Row } from "../db/schema.js";
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
  type FlagOverrides,
  keepDeclared,
  mergeFlagChanges,
  parseJsonObject,
  revisionFromIfMatch,
  serializeOverrides,
  toBindingItem,
} from "./binding-views.js";
import {
  nameFor,
  nameOfRow,
  type OrgRef,
  requireVersionById,
  resolveCapability,
  resolveVersion,
  targetVersion,
  trackOf,
} from "./capability-resolution.js";
import { assertDependantsAccept, assertNotRequired, satisfyRequirements } from "./dependency-resolution.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import type { OrgRoleCache } from "./org-role-cache.js";
import type { RuntimePath } from "./runtime-path.js";
import { requireRuntimeTokenRead } from "./runtime-token-service.js";
import {
  type DeclaredSecrets,
  keepDeclaredMapping,
  mergeSecretMapping,
  type SecretMapping,
  serializeMapping,
} from "./secret-views.js";
import { assertSignedIfRequired, requiresSigned } from "./signing-service.js";
import { inTransaction } from "./transaction.js";
import { previewUpgrade, type UpgradePreview } from "./upgrade-preview.js";

/** The serialized response: sent as is, joined to the headers in one write. */
type BindingListView = RuntimeView & SerializedBody;

/** Unconditional PATCHes that keep losing the race this often give up with 409 after all. */
const UNCONDITIONAL_ATTEMPTS = 20;

/** The binding's revision moved between reading and writing it (409 unless retried). */
export class ConcurrentChangeError extends AppError {
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
    // One query for the workspace's secrets, whatever the number of bindings.
    const secrets = await workspaceSecretVersions(this.deps.db, location.workspace_id);
    const items = rows.map((row) => toBindingItem(row, secrets)).sort(byCapabilityName);
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
    const item = await inTransaction(this.deps, async (trx) => {
      const runtime = await requireRuntime(trx, org.id, path);
      const capability = await resolveCapability(trx, org, body.name);
      const selector = body.version ?? "latest";
      const track = trackOf(selector);
      const autoUpdate = body.auto_update === true;
      if (autoUpdate && track === null) throw autoUpdateNeedsTrack(selector);
      const version = await resolveVersion(trx, this.deps.dialect, capability, selector, body.name);
      await assertSignedIfRequired(trx, requiresSigned(runtime.config), version, body.name);
      const declared = parseJsonObject<DeclaredFlags>(version.flags);
      const overrides = mergeFlagChanges({}, body.flags ?? {}, declared, { allowRemoval: false });
      const mapping = mergeSecretMapping(
        {},
        body.secrets ?? {},
        parseJsonObject<DeclaredSecrets>(version.secrets),
      );
      const name = nameFor(capability, org.id);
      const binding: NewRow<"bindings"> = {
        id: newId(),
        org_id: runtime.org_id,
        runtime_id: runtime.id,
        capability_id: capability.id,
        version_id: version.id,
        enabled: body.enabled === false ? 0 : 1,
        flags: serializeOverrides(overrides),
        secrets: serializeMapping(mapping),
        revision: 1,
        track,
        auto_update: autoUpdate ? 1 : 0,
        created_at: at,
        updated_at: at,
      };
      await insertBinding(trx, binding, name);
      // A disabled binding needs nothing yet: its requirements are checked when it is enabled.
      const dependencies =
        binding.enabled === 1
          ? await satisfyRequirements(
              {
                trx,
                dialect: this.deps.dialect,
                runtime,
                at,
                withDependencies: body.with_dependencies === true,
                requireSigned: requiresSigned(runtime.config),
              },
              { capability, version },
            )
          : [];
      for (const dependency of dependencies) {
        await appendAudit(
          trx,
          scope,
          {
            orgId: org.id,
            workspaceId: runtime.workspace_id,
            action: "runtime.capability.installed",
            targetType: "binding",
            targetId: dependency.id,
            data: {
              runtime_id: runtime.id,
              name: dependency.name,
              version: dependency.version,
              enabled: true,
              flags: {},
              required_by: name,
            },
          },
          at,
        );
      }
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          workspaceId: runtime.workspace_id,
          action: "runtime.capability.installed",
          targetType: "binding",
          targetId: binding.id,
          data: {
            runtime_id: runtime.id,
            name,
            version: version.version,
            enabled: binding.enabled === 1,
            flags: overrides,
            track,
            auto_update: autoUpdate,
            ...(Object.keys(mapping).length === 0 ? {} : { secrets: mapping }),
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
    const { item, changed } = await inTransaction(this.deps, async (trx) => {
      const runtime = await requireRuntime(trx, org.id, path);
      const binding = await requireBinding(trx, runtime.id, bindingId, ifMatch);
      const plan = await planBindingChange(trx, this.deps.dialect, org, binding, body, runtime.config);
      if (Object.keys(plan.changes).length === 0) {
        return { item: await presentBinding(trx, runtime.id, binding.id), changed: false };
      }
      await this.checkRequirements(trx, runtime, binding, plan, at);
      if (!(await updateBindingAtRevision(trx, binding.id, binding.revision, plan.changes, at))) {
        throw new ConcurrentChangeError();
      }
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          workspaceId: runtime.workspace_id,
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

  /**
   * A PATCH that disables a binding others require is refused (409); one that enables a binding, or
   * points an enabled one at another version, must find that version's requirements met (422).
   * Moving a binding out of the range another enabled binding requires of it is refused (409).
   */
  private async checkRequirements(
    trx: Db,
    runtime: RuntimeRef,
    binding: Row<"bindings">,
    plan: BindingChangePlan,
    at: string,
  ): Promise<void> {
    if (plan.changes.version_id !== undefined) {
      const target = await requireVersionById(trx, plan.changes.version_id);
      await assertDependantsAccept(trx, runtime, binding.capability_id, target, ["body", "version"]);
    }
    const enabled = plan.changes.enabled ?? binding.enabled;
    if (enabled === 0 && binding.enabled === 1) {
      const [row] = await listJoinedBindings(trx, runtime.id, binding.id);
      await assertNotRequired(trx, runtime.id, requiredTarget(row), "disabled");
      return;
    }
    if (enabled === 1 && (binding.enabled === 0 || plan.changes.version_id !== undefined)) {
      const capability = await findCapabilityById(trx, binding.capability_id);
      const version = await requireVersionById(trx, plan.changes.version_id ?? binding.version_id);
      if (!capability) throw notFound("Capability");
      await satisfyRequirements(
        { trx, dialect: this.deps.dialect, runtime, at, withDependencies: false },
        { capability, version },
      );
    }
  }

  async remove(
    scope: RequestScope,
    path: RuntimePath,
    bindingId: string,
    ifMatch: string | undefined,
  ): Promise<void> {
    const { org } = await requireOrgRole(this.deps, scope.actor, path.org, "contributor");
    const at = this.deps.now().toISOString();
    await inTransaction(this.deps, async (trx) => {
      const runtime = await requireRuntime(trx, org.id, path);
      const binding = await requireBinding(trx, runtime.id, bindingId, ifMatch);
      const [row] = await listJoinedBindings(trx, runtime.id, binding.id);
      await assertNotRequired(trx, runtime.id, requiredTarget(row), "removed");
      if (!(await deleteBindingAtRevision(trx, binding.id, binding.revision))) {
        throw new ConcurrentChangeError();
      }
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          workspaceId: runtime.workspace_id,
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
    const overrides = parseJsonObject<FlagOverrides>(binding.flags);
    return previewUpgrade(current, target, overrides, (sha256) => this.deps.blobs.read(sha256));
  }
}

/** The binding as a requirement names it: its capability's owner and name. */
function requiredTarget(row: BindingJoinedRow) {
  return {
    bindingId: row.id,
    capabilityId: row.capability_id,
    name: row.capability_name,
    ownerKey: row.owner_key,
    orgId: row.capability_org_id,
  };
}

function autoUpdateNeedsTrack(selector: string): AppError {
  return new AppError("validation_error", "auto_update needs a tag or latest to follow", [
    {
      loc: ["body", "auto_update"],
      msg: `version '${selector}' is a fixed version; bind a tag or "latest" to auto-update`,
      type: "binding.auto_update",
    },
  ]);
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

async function presentBinding(
  db: Db,
  runtimeId: string,
  bindingId: string,
): Promise<RuntimeCapabilityBinding> {
  const [row] = await listJoinedBindings(db, runtimeId, bindingId);
  if (!row) throw notFound("Binding");
  const location = await findRuntimeLocation(db, runtimeId);
  return toBindingItem(row, location ? await workspaceSecretVersions(db, location.workspace_id) : new Map());
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
  runtimeConfig: string,
): Promise<BindingChangePlan> {
  const current = await requireVersionById(db, binding.version_id);
  const target =
    body.version === undefined
      ? current
      : await targetVersion(db, dialect, runtimeOrg, binding, current, body.version);
  // Only a move is checked: enabling or re-flagging the bound version is not binding anything new.
  if (target.id !== current.id) {
    const capability = await findCapabilityById(db, binding.capability_id);
    const reference = capability ? nameFor(capability, runtimeOrg.id) : "capability";
    await assertSignedIfRequired(db, requiresSigned(runtimeConfig), target, reference);
  }
  const declared = parseJsonObject<DeclaredFlags>(target.flags);
  const overrides = parseJsonObject<FlagOverrides>(binding.flags);
  const kept = keepDeclared(overrides, declared);
  const merged =
    body.flags === undefined ? kept : mergeFlagChanges(kept, body.flags, declared, { allowRemoval: true });
  const enabled = body.enabled === undefined ? binding.enabled : body.enabled ? 1 : 0;
  const declaredSecrets = parseJsonObject<DeclaredSecrets>(target.secrets);
  const mapping = parseJsonObject<SecretMapping>(binding.secrets);
  const keptMapping = keepDeclaredMapping(mapping, declaredSecrets);
  const mergedMapping =
    body.secrets === undefined ? keptMapping : mergeSecretMapping(keptMapping, body.secrets, declaredSecrets);

  // Naming a version (or a tag, or latest) again re-decides what the binding tracks; a pinned
  // version tracks nothing, so auto-update goes off with it unless the body asks for it.
  const track = body.version === undefined ? binding.track : trackOf(body.version);
  const autoUpdate = body.auto_update ?? (track === null ? false : binding.auto_update === 1);
  if (autoUpdate && track === null) throw autoUpdateNeedsTrack(body.version ?? current.version);

  const changes: BindingChanges = {};
  if (target.id !== current.id) changes.version_id = target.id;
  if (track !== binding.track) changes.track = track;
  if ((autoUpdate ? 1 : 0) !== binding.auto_update) changes.auto_update = autoUpdate ? 1 : 0;
  if (enabled !== binding.enabled) changes.enabled = enabled;
  const flags = serializeOverrides(merged);
  if (flags !== serializeOverrides(overrides)) changes.flags = flags;
  const secrets = serializeMapping(mergedMapping);
  if (secrets !== serializeMapping(mapping)) changes.secrets = secrets;
  return {
    changes,
    summary: {
      from_version: current.version,
      to_version: target.version,
      enabled: enabled === 1,
      flags: merged,
      track,
      auto_update: autoUpdate,
      dropped_overrides: Object.keys(overrides).filter((name) => !Object.hasOwn(kept, name)),
      ...(changes.secrets === undefined ? {} : { secrets: mergedMapping }),
    },
  };
}
