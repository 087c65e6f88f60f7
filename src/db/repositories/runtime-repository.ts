// Runtimes. Lookups of a runtime and its bindings for the hot reads are in binding-repository.ts.
import type { Db, Row } from "../schema.js";

export async function insertRuntime(db: Db, runtime: Row<"runtimes">): Promise<void> {
  await db.insertInto("runtimes").values(runtime).execute();
}
