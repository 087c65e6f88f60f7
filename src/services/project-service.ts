// Projects of a workspace (SPEC §3): listed with how many runtimes each holds, created, read,
// renamed and deleted. SPEC §3 routes only list and create; §2.3 lets contributors "create/update/
// delete … projects", so the rest follows the workspace routes.

import { isUniqueViolation } from "../db/driver-errors.js";
import {
  deleteProjectRow,
  insertProject,
  listProjectsByKeyOrId,
  listWorkspaceProjectsWithRuntimeCount,
  updateProjectRow,
} from "../db/repositories/project-repository.js";
import { countProjectRuntimes } from "../db/repositories/runtime-repository.js";
import type { Db, Row } from "../db/schema.js";
import { UUID_PATTERN } from "../domain/names.js";
import { alreadyExists, conflict, notFound } from "../errors.js";
import { newId } from "../lib/ids.js";
import { requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import { inTransaction } from "./transaction.js";
import { findWorkspace, refuseWhileRuntimes } from "./workspace-service.js";

export type ProjectWithCount = Row<"projects"> & { runtime_count: number };

export interface ProjectInput {
  key: string;
  name: string;
  description?: string | null;
}

export interface ProjectPatch {
  name?: string;
  description?: string | null;
}

const UUID = new RegExp(UUID_PATTERN);

/** A project of the workspace by key or id; a key may look like a UUID, and the id reading wins. */
export async function findProject(db: Db, workspaceId: string, reference: string): Promise<Row<"projects">> {
  const byId = UUID.test(reference) ? reference.toLowerCase() : null;
  const matches = await listProjectsByKeyOrId(db, workspaceId, reference, byId);
  const project = matches.find((p) => p.id === byId) ?? matches[0];
  if (!project) throw notFound(`Project '${reference}'`);
  return project;
}

async function withRuntimeCount(db: Db, project: Row<"projects">): Promise<ProjectWithCount> {
  return { ...project, runtime_count: await countProjectRuntimes(db, project.id) };
}

/** The workspace's projects by key, each with its runtime count from one grouped query. */
export async function listProjects(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  workspaceKey: string,
): Promise<ProjectWithCount[]> {
  const { org } = await requireOrgRole(deps, actor, orgKey, "reader");
  const workspace = await findWorkspace(deps.db, org.id, workspaceKey);
  const rows = await listWorkspaceProjectsWithRuntimeCount(deps.db, workspace.id);
  return rows.map((row) => ({ ...row, runtime_count: Number(row.runtime_count ?? 0) }));
}

export async function createProject(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  workspaceKey: string,
  input: ProjectInput,
): Promise<ProjectWithCount> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "contributor");
  const workspace = await findWorkspace(deps.db, org.id, workspaceKey);
  const at = deps.now().toISOString();
  const project: Row<"projects"> = {
    id: newId(),
    org_id: org.id,
    workspace_id: workspace.id,
    key: input.key,
    name: input.name,
    description: input.description ?? null,
    is_default: 0,
    created_at: at,
    updated_at: at,
  };
  try {
    await inTransaction(deps, async (trx) => {
      await insertProject(trx, project);
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          workspaceId: workspace.id,
          action: "project.created",
          targetType: "project",
          targetId: project.id,
          data: { workspace: workspace.key, key: project.key, name: project.name },
        },
        at,
      );
    });
  } catch (error) {
    if (isUniqueViolation(error))
      throw alreadyExists(`Project '${input.key}' already exists in '${workspaceKey}'`);
    throw error;
  }
  return { ...project, runtime_count: 0 };
}

export async function getProject(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  workspaceKey: string,
  reference: string,
): Promise<ProjectWithCount> {
  const { org } = await requireOrgRole(deps, actor, orgKey, "reader");
  const workspace = await findWorkspace(deps.db, org.id, workspaceKey);
  return withRuntimeCount(deps.db, await findProject(deps.db, workspace.id, reference));
}

export async function updateProject(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  workspaceKey: string,
  reference: string,
  patch: ProjectPatch,
): Promise<ProjectWithCount> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "contributor");
  const at = deps.now().toISOString();
  const changes = {
    ...(patch.name !== undefined && { name: patch.name }),
    ...(patch.description !== undefined && { description: patch.description }),
  };
  return inTransaction(deps, async (trx) => {
    const workspace = await findWorkspace(trx, org.id, workspaceKey);
    const project = await findProject(trx, workspace.id, reference);
    const updated = await updateProjectRow(trx, project.id, { ...changes, updated_at: at });
    // Deleted by another request since it was read above.
    if (!updated) throw notFound(`Project '${reference}'`);
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        workspaceId: workspace.id,
        action: "project.updated",
        targetType: "project",
        targetId: project.id,
        data: { workspace: workspace.key, key: project.key, ...changes },
      },
      at,
    );
    return withRuntimeCount(trx, updated);
  });
}

/** Deletes a project without runtimes. The default project stays: runtimes created without a project go there. */
export async function deleteProject(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  workspaceKey: string,
  reference: string,
): Promise<void> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "contributor");
  const at = deps.now().toISOString();
  await inTransaction(deps, async (trx) => {
    const workspace = await findWorkspace(trx, org.id, workspaceKey);
    const project = await findProject(trx, workspace.id, reference);
    if (project.is_default === 1) {
      throw conflict(`'${project.key}' is the workspace's default project and cannot be deleted`);
    }
    await refuseWhileRuntimes(
      trx,
      deps.dialect,
      { table: "projects", id: project.id },
      `Project '${project.key}' still has runtimes; delete them first`,
    );
    await deleteProjectRow(trx, project.id);
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        workspaceId: workspace.id,
        action: "project.deleted",
        targetType: "project",
        targetId: project.id,
        data: { workspace: workspace.key, key: project.key },
      },
      at,
    );
  });
}
