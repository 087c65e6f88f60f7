// Runtimes (SPEC §6): workspace-scoped, created idempotently by key, configured declaratively.
// Bindings are the truth for `config.capabilities`: the stored config never holds them, and the
// config (and so `config_digest`) is assembled on read from the stored settings plus the bindings.

import type {
  CreateRuntimeInput,
  RuntimeConfigInputValue,
  RuntimeConfigViewValue,
  RuntimeSyncView,
  RuntimeView,
  UpdateRuntimeInput,
} from "../contract/runtimes.js";
import { isForeignKeyViolation, isUniqueViolation } from "../db/driver-errors.js";
import { listJoinedBindingsOfRuntimes } from "../db/repositories/binding-repository.js";
import { findDefaultProject } from "../db/repositories/project-repository.js";
import {
  deleteRuntimeRow,
  findRuntimeByKey,
  findRuntimeLocation,
  findRuntimeWithCount,
  findWorkspaceRuntimeWithCount,
  insertRuntime,
  listConfigBindingsOfRuntimes,
  listWorkspaceRuntimesWithCount,
  type RuntimeWithCountRow,
  updateRuntimeRow,
} from "../db/repositories/runtime-repository.js";
import { workspaceSecretVersions } from "../db/repositories/secret-repository.js";
import { findWorkspaceByKey } from "../db/repositories/workspace-repository.js";
import type { Db, Row } from "../db/schema.js";
import { canonicalDigest } from "../domain/digests.js";
import { notFound } from "../errors.js";
import { decodeIdCursor, encodeIdCursor } from "../lib/id-cursor.js";
import { newId } from "../lib/ids.js";
import { type Role, requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import {
  type DesiredBinding,
  listBindingsForConfig,
  type ReconciliationPlan,
  reconcileRuntimeBindings,
} from "./binding-reconciliation.js";
import { displayName } from "./binding-views.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import { findProject } from "./project-service.js";
import { resolvedDigestOf } from "./resolved-service.js";
import { inTransaction } from "./transaction.js";

export interface WorkspaceRef {
  org: string;
  workspace: string;
}

export interface RuntimeRef extends WorkspaceRef {
  runtimeId: string;
}

export interface RuntimeListOptions {
  limit: number;
  cursor?: string;
  projectId?: string;
  statuses?: string[];
  /** `sync.in_sync` must equal this. */
  inSync?: boolean;
  /** true: not seen for STALE_AFTER_MS (or never); false: seen within it. */
  stale?: boolean;
}

export interface RuntimePage {
  items: RuntimeView[];
  next_cursor: string | null;
}

export interface AppliedConfig {
  config: RuntimeConfigViewValue;
  runtime: RuntimeView;
  plan: ReconciliationPlan;
}

type ConfigCapability = RuntimeConfigViewValue["capabilities"][number];
type StoredConfig = Omit<RuntimeConfigViewValue, "capabilities">;
type RuntimeRow = RuntimeWithCountRow;

const INITIAL_STATUS = "idle";
/** A runtime that has not reported for this long is stale (SPEC §12). */
export const STALE_AFTER_MS = 5 * 60_000;
/** Runtimes one list request examines at most for the `in_sync` filter. */
const IN_SYNC_SCAN_BUDGET = 1_000;
const EMPTY_PLAN: ReconciliationPlan = { install: [], update: [], remove: [] };

export async function listRuntimes(
  deps: ServiceDeps,
  actor: Actor,
  ref: WorkspaceRef,
  options: RuntimeListOptions,
): Promise<RuntimePage> {
  const { workspace } = await locateWorkspace(deps, actor, ref, "reader");
  let after = options.cursor === undefined ? undefined : decodeIdCursor(options.cursor);
  const staleBefore = new Date(deps.now().getTime() - STALE_AFTER_MS).toISOString();
  // `in_sync` is computed, not stored (it moves with every binding change): with that filter the
  // rows are read in batches until the page is full or the scan budget is spent, and a short page
  // then carries a cursor to go on from.
  const batch = options.inSync === undefined ? options.limit + 1 : Math.max(options.limit + 1, 100);
  const items: RuntimeView[] = [];
  for (let scanned = 0; ; ) {
    const rows = await listWorkspaceRuntimesWithCount(deps.db, workspace.id, {
      projectId: options.projectId?.toLowerCase(),
      statuses: options.statuses,
      seen: options.stale === undefined ? undefined : { before: staleBefore, stale: options.stale },
      afterId: after,
      limit: batch,
    });
    for (const view of await presentRuntimes(deps.db, rows)) {
      if (options.inSync !== undefined && view.sync.in_sync !== options.inSync) continue;
      if (items.length === options.limit)
        return { items, next_cursor: encodeIdCursor(items[items.length - 1].id) };
      items.push(view);
    }
    if (rows.length < batch) return { items, next_cursor: null };
    after = rows[rows.length - 1].id;
    scanned += rows.length;
    if (scanned >= IN_SYNC_SCAN_BUDGET) return { items, next_cursor: encodeIdCursor(after) };
  }
}

/**
 * Idempotent by key: a second create with a key the workspace already has returns that runtime
 * unchanged (`created: false`), whatever the rest of the body says.
 */
export async function createRuntime(
  deps: ServiceDeps,
  scope: RequestScope,
  ref: WorkspaceRef,
  input: CreateRuntimeInput,
): Promise<{ runtime: RuntimeView; created: boolean }> {
  const { org, workspace } = await locateWorkspace(deps, scope.actor, ref, "contributor");
  const existing = await findRuntimeByKey(deps.db, workspace.id, input.key);
  if (existing) return { runtime: await getRuntimeView(deps.db, existing.id), created: false };

  const project = await resolveProject(deps.db, workspace.id, input.project);
  const at = deps.now().toISOString();
  const { capabilities, settings } = splitConfig(input.config);
  const row: Row<"runtimes"> = {
    id: newId(),
    org_id: org.id,
    workspace_id: workspace.id,
    project_id: project.id,
    key: input.key,
    name: input.name,
    description: input.description ?? null,
    status: INITIAL_STATUS,
    config: JSON.stringify(settings),
    created_at: at,
    updated_at: at,
  };
  try {
    await inTransaction(deps, async (trx) => {
      await insertRuntime(trx, row);
      if (capabilities)
        await reconcileRuntimeBindings(trx, scope, row, capabilities, {
          dryRun: false,
          dialect: deps.dialect,
          at,
          requireSigned: input.config?.policy?.require_signed === true,
        });
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          workspaceId: row.workspace_id,
          action: "runtime.created",
          targetType: "runtime",
          targetId: row.id,
          data: { key: row.key, name: row.name, project_id: row.project_id },
        },
        at,
      );
    });
  } catch (error) {
    // A concurrent create with the same key won the insert: answer as an idempotent repeat.
    const raced = isUniqueViolation(error)
      ? await findRuntimeByKey(deps.db, workspace.id, input.key)
      : undefined;
    if (raced) return { runtime: await getRuntimeView(deps.db, raced.id), created: false };
    // The project (or workspace) was deleted between our read of it and the insert.
    if (isForeignKeyViolation(error)) throw notFound(`Project '${project.key}' (or its workspace)`);
    throw error;
  }
  deps.changes.publish({ kind: "runtime", runtimeId: row.id });
  return { runtime: await getRuntimeView(deps.db, row.id), created: true };
}

export async function getRuntime(deps: ServiceDeps, actor: Actor, ref: RuntimeRef): Promise<RuntimeView> {
  const { runtime } = await locateRuntime(deps, actor, ref, "reader");
  return presentRuntime(
    runtime,
    await listBindingsForConfig(deps.db, runtime.id),
    await currentDigestOf(deps.db, runtime.id),
  );
}

export async function updateRuntime(
  deps: ServiceDeps,
  scope: RequestScope,
  ref: RuntimeRef,
  patch: UpdateRuntimeInput,
): Promise<RuntimeView> {
  const { org, runtime } = await locateRuntime(deps, scope.actor, ref, "contributor");
  const at = deps.now().toISOString();
  await inTransaction(deps, async (trx) => {
    await updateRuntimeRow(trx, runtime.id, { ...patch, updated_at: at });
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        workspaceId: runtime.workspace_id,
        action: "runtime.updated",
        targetType: "runtime",
        targetId: runtime.id,
        data: { ...patch },
      },
      at,
    );
  });
  deps.changes.publish({ kind: "runtime", runtimeId: runtime.id });
  return getRuntimeView(deps.db, runtime.id);
}

/** Its bindings and runtime tokens go with it (foreign keys cascade). */
export async function deleteRuntime(deps: ServiceDeps, scope: RequestScope, ref: RuntimeRef): Promise<void> {
  const { org, runtime } = await locateRuntime(deps, scope.actor, ref, "contributor");
  const at = deps.now().toISOString();
  await inTransaction(deps, async (trx) => {
    if (!(await deleteRuntimeRow(trx, runtime.id))) throw notFound("Runtime");
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        workspaceId: runtime.workspace_id,
        action: "runtime.deleted",
        targetType: "runtime",
        targetId: runtime.id,
        data: { key: runtime.key },
      },
      at,
    );
  });
  deps.changes.publish({ kind: "runtime", runtimeId: runtime.id });
}

export async function getRuntimeConfig(
  deps: ServiceDeps,
  actor: Actor,
  ref: RuntimeRef,
): Promise<RuntimeConfigViewValue> {
  const { runtime } = await locateRuntime(deps, actor, ref, "reader");
  return configViewOf(runtime, await listBindingsForConfig(deps.db, runtime.id));
}

/**
 * Replaces the stored config. With `capabilities`, the bindings are reconciled to exactly that
 * list in the same transaction; without it, the bindings are left as they are.
 */
export async function replaceRuntimeConfig(
  deps: ServiceDeps,
  scope: RequestScope,
  ref: RuntimeRef,
  config: RuntimeConfigInputValue,
): Promise<AppliedConfig> {
  const { org, runtime } = await locateRuntime(deps, scope.actor, ref, "contributor");
  const { capabilities, settings } = splitConfig(config);
  const at = deps.now().toISOString();
  const plan = await inTransaction(deps, async (trx) => {
    await updateRuntimeRow(trx, runtime.id, { config: JSON.stringify(settings), updated_at: at });
    const applied = capabilities
      ? await reconcileRuntimeBindings(trx, scope, runtime, capabilities, {
          dryRun: false,
          dialect: deps.dialect,
          at,
          requireSigned: config.policy?.require_signed === true,
        })
      : EMPTY_PLAN;
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        workspaceId: runtime.workspace_id,
        action: "runtime.config.updated",
        targetType: "runtime",
        targetId: runtime.id,
        data: { reconciled: capabilities !== undefined, plan: applied },
      },
      at,
    );
    return applied;
  });
  deps.changes.publish({ kind: "runtime", runtimeId: runtime.id });
  const { row, capabilities: bound } = await loadRuntime(deps.db, runtime.id);
  return {
    config: configViewOf(row, bound),
    runtime: presentRuntime(row, bound, await currentDigestOf(deps.db, row.id)),
    plan,
  };
}

/**
 * `PUT RT/config?dry_run=true`: what the apply would change. The reconciliation runs in a
 * transaction that is always rolled back, so even a write it makes by mistake never lands.
 */
export async function planRuntimeConfig(
  deps: ServiceDeps,
  scope: RequestScope,
  ref: RuntimeRef,
  config: RuntimeConfigInputValue,
): Promise<ReconciliationPlan> {
  const { runtime } = await locateRuntime(deps, scope.actor, ref, "contributor");
  const { capabilities } = splitConfig(config);
  if (!capabilities) return EMPTY_PLAN;
  const trx = await deps.db.startTransaction().execute();
  try {
    return await reconcileRuntimeBindings(trx, scope, runtime, capabilities, {
      dryRun: true,
      dialect: deps.dialect,
      at: deps.now().toISOString(),
      requireSigned: config.policy?.require_signed === true,
    });
  } finally {
    await trx.rollback().execute();
  }
}

async function locateWorkspace(deps: ServiceDeps, actor: Actor, ref: WorkspaceRef, minimum: Role) {
  const { org } = await requireOrgRole(deps, actor, ref.org, minimum);
  const workspace = await findWorkspaceByKey(deps.db, org.id, ref.workspace);
  if (!workspace) throw notFound(`Workspace '${ref.workspace}'`);
  return { org, workspace };
}

async function locateRuntime(deps: ServiceDeps, actor: Actor, ref: RuntimeRef, minimum: Role) {
  const { org, workspace } = await locateWorkspace(deps, actor, ref, minimum);
  const runtime = await findWorkspaceRuntimeWithCount(deps.db, workspace.id, ref.runtimeId.toLowerCase());
  if (!runtime) throw notFound(`Runtime '${ref.runtimeId}'`);
  return { org, workspace, runtime };
}

/** `reference` is a project key or id in the workspace; absent means the workspace's default project. */
async function resolveProject(
  db: Db,
  workspaceId: string,
  reference: string | undefined,
): Promise<Row<"projects">> {
  if (reference !== undefined) return findProject(db, workspaceId, reference);
  const fallback = await findDefaultProject(db, workspaceId);
  if (!fallback) throw notFound("The workspace's default project");
  return fallback;
}

async function loadRuntime(
  db: Db,
  runtimeId: string,
): Promise<{ row: RuntimeRow; capabilities: ConfigCapability[] }> {
  const row = await findRuntimeWithCount(db, runtimeId);
  if (!row) throw notFound("Runtime");
  return { row, capabilities: await listBindingsForConfig(db, row.id) };
}

async function getRuntimeView(db: Db, runtimeId: string): Promise<RuntimeView> {
  const { row, capabilities } = await loadRuntime(db, runtimeId);
  return presentRuntime(row, capabilities, await currentDigestOf(db, row.id));
}

/** Many runtimes, presented with two queries whatever their number (config names, resolved digests). */
async function presentRuntimes(db: Db, rows: RuntimeRow[]): Promise<RuntimeView[]> {
  const capabilities = await configCapabilitiesOf(db, rows);
  const digests = await currentDigestsOf(db, rows);
  return rows.map((row) => presentRuntime(row, capabilities.get(row.id) ?? [], digests.get(row.id) ?? ""));
}

/** The runtime_digest each runtime's resolved set has now: what `in_sync` compares a report with. */
async function currentDigestsOf(
  db: Db,
  runtimes: Pick<Row<"runtimes">, "id" | "workspace_id">[],
): Promise<Map<string, string>> {
  const bindings = await listJoinedBindingsOfRuntimes(
    db,
    runtimes.map((runtime) => runtime.id),
  );
  // A page lists one workspace: one query for its secret versions.
  const secretsOf = new Map<string, ReadonlyMap<string, number>>();
  for (const workspaceId of new Set(runtimes.map((runtime) => runtime.workspace_id))) {
    secretsOf.set(workspaceId, await workspaceSecretVersions(db, workspaceId));
  }
  return new Map(
    runtimes.map((runtime) => [
      runtime.id,
      resolvedDigestOf(bindings.get(runtime.id) ?? [], secretsOf.get(runtime.workspace_id) ?? new Map()),
    ]),
  );
}

export async function currentDigestOf(db: Db, runtimeId: string): Promise<string> {
  const location = await findRuntimeLocation(db, runtimeId);
  if (!location) return "";
  return (
    (await currentDigestsOf(db, [{ id: runtimeId, workspace_id: location.workspace_id }])).get(runtimeId) ??
    ""
  );
}

/** The `sync` member of a runtime (SPEC §12) from its last report and its current resolved digest. */
export function syncView(
  report: {
    last_seen_at: string | null;
    applied_digest: string | null;
    checks_failed: number | string | null;
  },
  currentDigest: string,
): RuntimeSyncView {
  return {
    last_seen_at: report.last_seen_at,
    applied_digest: report.applied_digest,
    in_sync: report.applied_digest !== null && report.applied_digest === currentDigest,
    checks_failed: Number(report.checks_failed ?? 0),
  };
}

/**
 * `config.capabilities` of many runtimes in one query (the list must not query per runtime).
 * Names follow the same rule as `listBindingsForConfig` (`displayName`).
 */
async function configCapabilitiesOf(
  db: Db,
  runtimes: Pick<Row<"runtimes">, "id" | "org_id">[],
): Promise<Map<string, ConfigCapability[]>> {
  const byRuntime = new Map<string, ConfigCapability[]>(runtimes.map((r) => [r.id, []]));
  if (runtimes.length === 0) return byRuntime;
  const orgOf = new Map(runtimes.map((r) => [r.id, r.org_id]));
  const rows = await listConfigBindingsOfRuntimes(db, [...orgOf.keys()]);
  for (const row of rows) {
    const name = displayName(row.name, row.owner_key, row.owner_id === orgOf.get(row.runtime_id));
    byRuntime.get(row.runtime_id)!.push({ name, version: row.version, enabled: Boolean(row.enabled) });
  }
  return byRuntime;
}

function presentRuntime(
  row: RuntimeRow,
  capabilities: ConfigCapability[],
  currentDigest: string,
): RuntimeView {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    description: row.description,
    project_id: row.project_id,
    workspace_id: row.workspace_id,
    status: row.status,
    config_version: "v2",
    config_digest: canonicalDigest(configViewOf(row, capabilities)),
    capability_count: Number(row.capability_count ?? 0),
    created_at: row.created_at,
    updated_at: row.updated_at,
    sync: syncView(
      {
        last_seen_at: row.sync_last_seen_at,
        applied_digest: row.sync_applied_digest,
        checks_failed: row.sync_checks_failed,
      },
      currentDigest,
    ),
  };
}

/** Sorted here, not by the callers' queries, so every path hashes the same array. */
function configViewOf(runtime: Pick<Row<"runtimes">, "config">, capabilities: ConfigCapability[]) {
  const stored = JSON.parse(runtime.config) as StoredConfig;
  const sorted = [...capabilities].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ...stored, version: "v2", capabilities: sorted } satisfies RuntimeConfigViewValue;
}

function splitConfig(config: RuntimeConfigInputValue | undefined): {
  capabilities: DesiredBinding[] | undefined;
  settings: StoredConfig;
} {
  if (!config) return { capabilities: undefined, settings: { version: "v2" } };
  const { capabilities, ...settings } = config;
  return { capabilities, settings };
}
