// Projects of a workspace (a workspace's default project is created with it: workspace-repository.ts).
import type { Db, Row } from "../schema.js";

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
