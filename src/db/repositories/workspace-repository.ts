// Workspaces and their projects. Every workspace is created with its default project `default` in
// the same transaction (by the workspace service, the org service and bootstrap alike), so a
// runtime always has a project to land in.
import type { Db, Row, RowUpdate } from "../schema.js";

export const DEFAULT_PROJECT = { key: "default", name: "Default" };

export interface NewWorkspace {
  workspaceId: string;
  projectId: string;
  key: string;
  name: string;
  description?: string | null;
  isDefault: boolean;
  at: string;
}

/** Inserts a workspace of `orgId` and its default project (the caller holds the transaction). */
export async function insertWorkspaceWithDefaultProject(
  db: Db,
  orgId: string,
  input: NewWorkspace,
): Promise<{ workspace: Row<"workspaces">; project: Row<"projects"> }> {
  const { at } = input;
  const workspace: Row<"workspaces"> = {
    id: input.workspaceId,
    org_id: orgId,
    key: input.key,
    name: input.name,
    description: input.description ?? null,
    is_default: input.isDefault ? 1 : 0,
    created_at: at,
    updated_at: at,
  };
  const project: Row<"projects"> = {
    id: input.projectId,
    org_id: orgId,
    workspace_id: workspace.id,
    key: DEFAULT_PROJECT.key,
    name: DEFAULT_PROJECT.name,
    description: null,
    is_default: 1,
    created_at: at,
    updated_at: at,
  };
  await db.insertInto("workspaces").values(workspace).execute();
  await db.insertInto("projects").values(project).execute();
  return { workspace, project };
}

/** The workspace `workspaceKey` of `orgId`, or undefined. */
export async function findWorkspaceByKey(
  db: Db,
  orgId: string,
  workspaceKey: string,
): Promise<Row<"workspaces"> | undefined> {
  return db
    .selectFrom("workspaces")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("key", "=", workspaceKey)
    .executeTakeFirst();
}

/** One page of `orgId`'s workspaces by key, and how many it has. */
export async function listOrgWorkspaces(
  db: Db,
  orgId: string,
  page: { offset: number; limit: number },
): Promise<{ workspaces: Row<"workspaces">[]; total: number }> {
  const inOrg = db.selectFrom("workspaces").where("org_id", "=", orgId);
  const [{ total }, workspaces] = await Promise.all([
    inOrg.select((eb) => eb.fn.countAll<number>().as("total")).executeTakeFirstOrThrow(),
    inOrg.selectAll().orderBy("key").limit(page.limit).offset(page.offset).execute(),
  ]);
  return { workspaces, total: Number(total) };
}

/** Applies the changes and returns the row as it now is; undefined when it was deleted meanwhile. */
export async function updateWorkspaceRow(
  db: Db,
  workspaceId: string,
  changes: RowUpdate<"workspaces">,
): Promise<Row<"workspaces"> | undefined> {
  return db
    .updateTable("workspaces")
    .set(changes)
    .where("id", "=", workspaceId)
    .returningAll()
    .executeTakeFirst();
}

/** Deletes the workspace and its projects (the caller has checked that no runtime lives there). */
export async function deleteWorkspaceWithProjects(db: Db, workspaceId: string): Promise<void> {
  await db.deleteFrom("projects").where("workspace_id", "=", workspaceId).execute();
  await db.deleteFrom("workspaces").where("id", "=", workspaceId).execute();
}

/** Locks the workspace's row until the transaction ends (PostgreSQL `FOR UPDATE`). */
export async function lockWorkspaceRow(trx: Db, workspaceId: string): Promise<void> {
  await trx.selectFrom("workspaces").select("id").where("id", "=", workspaceId).forUpdate().execute();
}
