// Workspaces of an organization (SPEC §3). Each one is created with its default project `default`
// in the same transaction, so a runtime always has a project to land in.

import type { Transaction } from "kysely";
import type { Dialect } from "../db/connect.js";
import { isUniqueViolation } from "../db/driver-errors.js";
import { lockProjectRow } from "../db/repositories/project-repository.js";
import { anyRuntimeIn } from "../db/repositories/runtime-repository.js";
import {
  deleteWorkspaceWithProjects,
  findWorkspaceByKey,
  insertWorkspaceWithDefaultProject,
  listOrgWorkspaces,
  lockWorkspaceRow,
  updateWorkspaceRow,
} from "../db/repositories/workspace-repository.js";
import type { Database, Db, Row } from "../db/schema.js";
import { alreadyExists, conflict, notFound } from "../errors.js";
import { newId } from "../lib/ids.js";
import { requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import { inTransaction } from "./transaction.js";

export interface WorkspaceInput {
  key: string;
  name: string;
  description?: string | null;
}

export interface WorkspacePatch {
  name?: string;
  description?: string | null;
}

export interface WorkspacePage {
  workspaces: Row<"workspaces">[];
  total: number;
}

/** Inserts a workspace and its default project (the caller holds the transaction and the audit). */
export async function insertWorkspace(
  trx: Db,
  orgId: string,
  input: WorkspaceInput & { isDefault: boolean },
  at: string,
): Promise<Row<"workspaces">> {
  const workspaceId = newId();
  const { workspace } = await insertWorkspaceWithDefaultProject(trx, orgId, {
    ...input,
    workspaceId,
    projectId: newId(),
    at,
  });
  return workspace;
}

/** The workspace `workspaceKey` of an org the caller may already see; 404 when absent. */
export async function findWorkspace(db: Db, orgId: string, workspaceKey: string): Promise<Row<"workspaces">> {
  const workspace = await findWorkspaceByKey(db, orgId, workspaceKey);
  if (!workspace) throw notFound(`Workspace '${workspaceKey}'`);
  return workspace;
}

export async function listWorkspaces(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  page: { offset: number; limit: number },
): Promise<WorkspacePage> {
  const { org } = await requireOrgRole(deps, actor, orgKey, "reader");
  return listOrgWorkspaces(deps.db, org.id, page);
}

export async function createWorkspace(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  input: WorkspaceInput,
): Promise<Row<"workspaces">> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "contributor");
  const at = deps.now().toISOString();
  try {
    return await inTransaction(deps, async (trx) => {
      const workspace = await insertWorkspace(trx, org.id, { ...input, isDefault: false }, at);
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          workspaceId: workspace.id,
          action: "workspace.created",
          targetType: "workspace",
          targetId: workspace.id,
          data: { key: workspace.key, name: workspace.name },
        },
        at,
      );
      return workspace;
    });
  } catch (error) {
    if (isUniqueViolation(error))
      throw alreadyExists(`Workspace '${input.key}' already exists in '${orgKey}'`);
    throw error;
  }
}

export async function getWorkspace(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  workspaceKey: string,
): Promise<Row<"workspaces">> {
  const { org } = await requireOrgRole(deps, actor, orgKey, "reader");
  return findWorkspace(deps.db, org.id, workspaceKey);
}

export async function updateWorkspace(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  workspaceKey: string,
  patch: WorkspacePatch,
): Promise<Row<"workspaces">> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "contributor");
  const at = deps.now().toISOString();
  const changes = {
    ...(patch.name !== undefined && { name: patch.name }),
    ...(patch.description !== undefined && { description: patch.description }),
  };
  return inTransaction(deps, async (trx) => {
    const workspace = await findWorkspace(trx, org.id, workspaceKey);
    const updated = await updateWorkspaceRow(trx, workspace.id, { ...changes, updated_at: at });
    // Deleted by another request since it was read above.
    if (!updated) throw notFound(`Workspace '${workspaceKey}'`);
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        workspaceId: workspace.id,
        action: "workspace.updated",
        targetType: "workspace",
        targetId: workspace.id,
        data: changes,
      },
      at,
    );
    return updated;
  });
}

/**
 * Deletes an empty workspace and its projects. The default workspace stays: it is where a new org
 * and the CLI's profiles start, so removing it would strand them.
 */
export async function deleteWorkspace(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  workspaceKey: string,
): Promise<void> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "contributor");
  const at = deps.now().toISOString();
  await inTransaction(deps, async (trx) => {
    const workspace = await findWorkspace(trx, org.id, workspaceKey);
    if (workspace.is_default === 1)
      throw conflict(`'${workspaceKey}' is the default workspace and cannot be deleted`);
    await refuseWhileRuntimes(
      trx,
      deps.dialect,
      { table: "workspaces", id: workspace.id },
      `Workspace '${workspaceKey}' still has runtimes; delete them first`,
    );
    await deleteWorkspaceWithProjects(trx, workspace.id);
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        workspaceId: workspace.id,
        action: "workspace.deleted",
        targetType: "workspace",
        targetId: workspace.id,
        data: { key: workspace.key },
      },
      at,
    );
  });
}

/**
 * 409 with `message` while runtimes live in the workspace or project. On PostgreSQL its row is
 * locked first, so a runtime being created there at the same moment (whose foreign key check locks
 * the same row) is either seen here, or waits and then fails, instead of being deleted with it.
 */
export async function refuseWhileRuntimes(
  trx: Transaction<Database>,
  dialect: Dialect,
  parent: { table: "workspaces" | "projects"; id: string },
  message: string,
): Promise<void> {
  if (dialect === "postgres") {
    if (parent.table === "workspaces") await lockWorkspaceRow(trx, parent.id);
    else await lockProjectRow(trx, parent.id);
  }
  const column = parent.table === "workspaces" ? "workspace_id" : "project_id";
  if (await anyRuntimeIn(trx, { column, id: parent.id })) throw conflict(message);
}
