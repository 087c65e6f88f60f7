// Projects of a workspace (a workspace's default project is created with it: workspace-repository.ts).
import type { Db, Row, RowUpdate } from "../schema.js";

export async function insertProject(db: Db, project: Row<"projects">): Promise<void> {
  await db.insertInto("projects").values(project).execute();
}

/** The workspace's default project (every workspace is created with one), or undefined. */
export async function findDefaultProject(db: Db, workspaceId: string): Promise<Row<"projects"> | undefined> {
  return db
    .selectFrom("projects")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("is_default", "=", 1)
    .executeTakeFirst();
}

/** The workspace's projects whose key is `key` or whose id is `id` (at most two rows). */
export async function listProjectsByKeyOrId(
  db: Db,
  workspaceId: string,
  key: string,
  id: string | null,
): Promise<Row<"projects">[]> {
  return db
    .selectFrom("projects")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where((eb) => eb.or([eb("key", "=", key), ...(id ? [eb("id", "=", id)] : [])]))
    .execute();
}

/** The workspace's projects by key, each with its runtime count from one grouped query. */
export async function listWorkspaceProjectsWithRuntimeCount(
  db: Db,
  workspaceId: string,
): Promise<Array<Row<"projects"> & { runtime_count: number | string | bigint | null }>> {
  return db
    .selectFrom("projects")
    .leftJoin(
      (eb) =>
        eb
          .selectFrom("runtimes")
          .select(["project_id", (c) => c.fn.countAll<number>().as("runtime_count")])
          .where("workspace_id", "=", workspaceId)
          .groupBy("project_id")
          .as("counts"),
      (join) => join.onRef("counts.project_id", "=", "projects.id"),
    )
    .selectAll("projects")
    .select("counts.runtime_count")
    .where("projects.workspace_id", "=", workspaceId)
    .orderBy("projects.key")
    .execute();
}

/** Applies the changes and returns the row as it now is; undefined when it was deleted meanwhile. */
export async function updateProjectRow(
  db: Db,
  projectId: string,
  changes: RowUpdate<"projects">,
): Promise<Row<"projects"> | undefined> {
  return db
    .updateTable("projects")
    .set(changes)
    .where("id", "=", projectId)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteProjectRow(db: Db, projectId: string): Promise<void> {
  await db.deleteFrom("projects").where("id", "=", projectId).execute();
}

/** Locks the project's row until the transaction ends (PostgreSQL `FOR UPDATE`). */
export async function lockProjectRow(trx: Db, projectId: string): Promise<void> {
  await trx.selectFrom("projects").select("id").where("id", "=", projectId).forUpdate().execute();
}
