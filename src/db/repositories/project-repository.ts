// Projects of a workspace (a workspace's default project is created with it: workspace-repository.ts).
import type { Db, Row } from "../schema.js";

export async function insertProject(db: Db, project: Row<"projects">): Promise<void> {
  await db.insertInto("projects").values(project).execute();
}
