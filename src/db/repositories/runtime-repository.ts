// Runtimes of a workspace. The hot reads of a runtime's bindings are in binding-repository.ts; the
// lookups here that they start from (findRuntimeInWorkspace, findRuntimeLocation) are one indexed
// query each.
import type { Db, Row, RowUpdate } from "../schema.js";

export interface RuntimeRef {
  id: string;
  org_id: string;
  workspace_id: string;
  key: string;
  /** The stored config settings (JSON): bindings obey its `policy` (SPEC §14). */
  config: string;
}

/** A runtime row with how many bindings it has, counted in the same query, and its last sync report. */
export type RuntimeWithCountRow = Row<"runtimes"> & {
  capability_count: number | string | bigint | null;
  sync_last_seen_at: string | null;
  sync_applied_digest: string | null;
  sync_checks_failed: number | string | null;
};

export interface RuntimeFilter {
  projectId?: string;
  statuses?: string[];
  /** Last sync report before `before` (or none: `stale`), or at or after it (not `stale`). */
  seen?: { before: string; stale: boolean };
  /** Keyset paging: only ids after this one. */
  afterId?: string;
  limit: number;
}

export async function insertRuntime(db: Db, runtime: Row<"runtimes">): Promise<void> {
  await db.insertInto("runtimes").values(runtime).execute();
}

export async function findRuntimeInWorkspace(
  db: Db,
  orgId: string,
  workspaceKey: string,
  runtimeId: string,
): Promise<RuntimeRef | undefined> {
  return db
    .selectFrom("runtimes")
    .innerJoin("workspaces", "workspaces.id", "runtimes.workspace_id")
    .select(["runtimes.id", "runtimes.org_id", "runtimes.workspace_id", "runtimes.key", "runtimes.config"])
    .where("runtimes.id", "=", runtimeId)
    .where("runtimes.org_id", "=", orgId)
    .where("workspaces.key", "=", workspaceKey)
    .executeTakeFirst();
}

/** The runtime's org and workspace key: what a cached view needs to answer for a path. */
export async function findRuntimeLocation(
  db: Db,
  runtimeId: string,
): Promise<{ org_id: string; workspace_key: string; workspace_id: string; config: string } | undefined> {
  return db
    .selectFrom("runtimes")
    .innerJoin("workspaces", "workspaces.id", "runtimes.workspace_id")
    .select([
      "runtimes.org_id",
      "workspaces.key as workspace_key",
      "runtimes.workspace_id",
      "runtimes.config",
    ])
    .where("runtimes.id", "=", runtimeId)
    .executeTakeFirst();
}

/** The runtime `key` of the workspace, or undefined. */
export async function findRuntimeByKey(
  db: Db,
  workspaceId: string,
  key: string,
): Promise<Row<"runtimes"> | undefined> {
  return db
    .selectFrom("runtimes")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("key", "=", key)
    .executeTakeFirst();
}

/** The runtime rows with their binding count, counted in the same query, and their last sync report. */
function selectRuntimesWithCount(db: Db) {
  return db
    .selectFrom("runtimes")
    .leftJoin("runtime_sync_status as sync", "sync.runtime_id", "runtimes.id")
    .selectAll("runtimes")
    .select([
      "sync.last_seen_at as sync_last_seen_at",
      "sync.applied_digest as sync_applied_digest",
      "sync.checks_failed as sync_checks_failed",
    ])
    .select((eb) =>
      eb
        .selectFrom("bindings")
        .select((sub) => sub.fn.countAll().as("n"))
        .whereRef("bindings.runtime_id", "=", "runtimes.id")
        .as("capability_count"),
    );
}

/** Up to `filter.limit` runtimes of the workspace by id, with their binding counts. */
export async function listWorkspaceRuntimesWithCount(
  db: Db,
  workspaceId: string,
  filter: RuntimeFilter,
): Promise<RuntimeWithCountRow[]> {
  return selectRuntimesWithCount(db)
    .where("runtimes.workspace_id", "=", workspaceId)
    .$if(filter.projectId !== undefined, (q) => q.where("runtimes.project_id", "=", filter.projectId!))
    .$if((filter.statuses?.length ?? 0) > 0, (q) => q.where("runtimes.status", "in", filter.statuses!))
    .$if(filter.seen?.stale === true, (q) =>
      q.where((eb) =>
        eb.or([eb("sync.last_seen_at", "is", null), eb("sync.last_seen_at", "<", filter.seen!.before)]),
      ),
    )
    .$if(filter.seen?.stale === false, (q) => q.where("sync.last_seen_at", ">=", filter.seen!.before))
    .$if(filter.afterId !== undefined, (q) => q.where("runtimes.id", ">", filter.afterId!))
    .orderBy("runtimes.id")
    .limit(filter.limit)
    .execute();
}

/** The runtime `runtimeId` of the workspace with its binding count, or undefined. */
export async function findWorkspaceRuntimeWithCount(
  db: Db,
  workspaceId: string,
  runtimeId: string,
): Promise<RuntimeWithCountRow | undefined> {
  return selectRuntimesWithCount(db)
    .where("runtimes.workspace_id", "=", workspaceId)
    .where("runtimes.id", "=", runtimeId)
    .executeTakeFirst();
}

/** The runtime with its binding count, or undefined (by id alone: the caller located it already). */
export async function findRuntimeWithCount(
  db: Db,
  runtimeId: string,
): Promise<RuntimeWithCountRow | undefined> {
  return selectRuntimesWithCount(db).where("runtimes.id", "=", runtimeId).executeTakeFirst();
}

export async function updateRuntimeRow(
  db: Db,
  runtimeId: string,
  changes: RowUpdate<"runtimes">,
): Promise<void> {
  await db.updateTable("runtimes").set(changes).where("id", "=", runtimeId).execute();
}

/** Whether a row was deleted (false when a concurrent delete won). */
export async function deleteRuntimeRow(db: Db, runtimeId: string): Promise<boolean> {
  const deleted = await db.deleteFrom("runtimes").where("id", "=", runtimeId).executeTakeFirst();
  return deleted.numDeletedRows !== 0n;
}

/** A binding of one of several runtimes, with the name, owner and version `config.capabilities` shows. */
export interface ConfigBindingRow {
  runtime_id: string;
  enabled: Row<"bindings">["enabled"];
  name: string;
  owner_id: string;
  owner_key: string;
  version: string;
}

/** The bindings of all the given runtimes in one query (a list must not query per runtime). */
export async function listConfigBindingsOfRuntimes(
  db: Db,
  runtimeIds: string[],
): Promise<ConfigBindingRow[]> {
  return db
    .selectFrom("bindings")
    .innerJoin("capabilities", "capabilities.id", "bindings.capability_id")
    .innerJoin("capability_versions", "capability_versions.id", "bindings.version_id")
    .innerJoin("orgs", "orgs.id", "capabilities.org_id")
    .select([
      "bindings.runtime_id",
      "bindings.enabled",
      "capabilities.name",
      "capabilities.org_id as owner_id",
      "orgs.key as owner_key",
      "capability_versions.version",
    ])
    .where("bindings.runtime_id", "in", runtimeIds)
    .execute();
}

/** How many runtimes the project holds. */
export async function countProjectRuntimes(db: Db, projectId: string): Promise<number> {
  const { count } = await db
    .selectFrom("runtimes")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("project_id", "=", projectId)
    .executeTakeFirstOrThrow();
  return Number(count);
}

/** Whether any runtime lives in the workspace or project (one indexed probe, LIMIT 1). */
export async function anyRuntimeIn(
  db: Db,
  parent: { column: "workspace_id" | "project_id"; id: string },
): Promise<boolean> {
  const runtime = await db
    .selectFrom("runtimes")
    .select("id")
    .where(parent.column, "=", parent.id)
    .limit(1)
    .executeTakeFirst();
  return runtime !== undefined;
}

/**
 * What a runtime token may read, from the token's runtime: the runtime's org and workspace keys and
 * the token user's role in that org (null when no longer a member); undefined when it is gone.
 */
export async function findRuntimeWithUserRole(
  db: Db,
  runtimeId: string,
  userId: string,
): Promise<
  | {
      id: string;
      org_id: string;
      org_key: string;
      workspace_id: string;
      workspace_key: string;
      role: Row<"memberships">["role"] | null;
    }
  | undefined
> {
  return db
    .selectFrom("runtimes")
    .innerJoin("orgs", "orgs.id", "runtimes.org_id")
    .innerJoin("workspaces", "workspaces.id", "runtimes.workspace_id")
    .leftJoin("memberships", (join) =>
      join.onRef("memberships.org_id", "=", "runtimes.org_id").on("memberships.user_id", "=", userId),
    )
    .select([
      "runtimes.id",
      "runtimes.org_id",
      "orgs.key as org_key",
      "runtimes.workspace_id",
      "workspaces.key as workspace_key",
      "memberships.role",
    ])
    .where("runtimes.id", "=", runtimeId)
    .executeTakeFirst();
}

/** A runtime's sync report (SPEC §12), replacing the one before it. */
export async function upsertRuntimeSyncStatus(db: Db, row: Row<"runtime_sync_status">): Promise<void> {
  const { runtime_id: _, ...update } = row;
  await db
    .insertInto("runtime_sync_status")
    .values(row)
    .onConflict((conflict) => conflict.column("runtime_id").doUpdateSet(update))
    .execute();
}

/** A runtime's last sync report, if it has sent one. */
export async function findRuntimeSyncStatus(
  db: Db,
  runtimeId: string,
): Promise<Row<"runtime_sync_status"> | undefined> {
  return db
    .selectFrom("runtime_sync_status")
    .selectAll()
    .where("runtime_id", "=", runtimeId)
    .executeTakeFirst();
}
