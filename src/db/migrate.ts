// Applies the migrations under db/migrations at boot. They are imported statically (not read from
// the file system) so the compiled server and the test runner see the same list.
import { type Kysely, type Migration, type MigrationProvider, Migrator } from "kysely";
import * as m0001 from "./migrations/0001_create_schema.js";
import type { Database } from "./schema.js";

const MIGRATIONS: Record<string, Migration> = {
  "0001_create_schema": m0001,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ""} failed`, { cause: error });
  }
}
