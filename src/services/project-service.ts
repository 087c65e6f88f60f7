// Projects of a workspace (SPEC §3): listed with how many runtimes each holds, and created.
import type { Row } from "../db/schema.js";
import { isUniqueViolation } from "../db/unique-violation.js";
import { alreadyExists } from "../http/errors.js";
import { newId } from "../lib/ids.js";
import { requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import { findWorkspace } from "./workspace-service.js";

export type ProjectWithCount = Row<"projects"> & { runtime_count: number };

export interface ProjectInput {
  key: string;
  name: string;
  description?: string | null;
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
  const rows = await deps.db
    .selectFrom("projects")
    .leftJoin(
      (eb) =>
        eb
          .selectFrom("runtimes")
          .select(["project_id", (c) => c.fn.countAll<number>().as("runtime_count")])
          .where("workspace_id", "=", workspace.id)
          .groupBy("project_id")
          .as("counts"),
      (join) => join.onRef("counts.project_id", "=", "projects.id"),
    )
    .selectAll("projects")
    .select("counts.runtime_count")
    .where("projects.workspace_id", "=", workspace.id)
    .orderBy("projects.key")
    .execute();
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
    await deps.db.transaction().execute(async (trx) => {
      await trx.insertInto("projects").values(project).execute();
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
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
