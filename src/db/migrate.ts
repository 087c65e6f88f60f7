// Applies the migrations under db/migrations at boot. They are imported statically (not read from
// the file system) so the compiled server and the test runner see the same list.
//
// With several instances starting at once on PostgreSQL, exactly one migrates (and bootstraps):
// the others wait on a session advisory lock and give up after a timeout (SPEC §1).
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from "kysely";
import { AppError } from "../errors.js";
import type { Dialect } from "./connect.js";
import * as m0001 from "./migrations/0001_create_schema.js";
import * as m0002 from "./migrations/0002_create_blob_tables.js";
import * as m0003 from "./migrations/0003_add_admins_and_key_limits.js";
import * as m0004 from "./migrations/0004_add_secrets.js";
import * as m0005 from "./migrations/0005_add_runtime_sync_status.js";
import * as m0006 from "./migrations/0006_add_tags_and_tracking.js";
import * as m0007 from "./migrations/0007_add_signing_keys_and_signatures.js";
import * as m0008 from "./migrations/0008_add_scan_findings.js";
import * as m0009 from "./migrations/0009_add_mcp_registry_index.js";
import * as m0010 from "./migrations/0010_add_events_and_audit_chain.js";
import type { Database } from "./schema.js";

const MIGRATIONS: Record<string, Migration> = {
  "0001_create_schema": m0001,
  "0002_create_blob_tables": m0002,
  "0003_add_admins_and_key_limits": m0003,
  "0004_add_secrets": m0004,
  "0005_add_runtime_sync_status": m0005,
  "0006_add_tags_and_tracking": m0006,
  "0007_add_signing_keys_and_signatures": m0007,
  "0008_add_scan_findings": m0008,
  "0009_add_mcp_registry_index": m0009,
  "0010_add_events_and_audit_chain": m0010,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** The name of the newest migration: what a database written by this code has applied last. */
export const LATEST_MIGRATION = Object.keys(MIGRATIONS).at(-1) as string;

export interface MigrateOptions {
  /**
   * Test hook (CAPSTAN_TEST_PAUSE_IN_MIGRATION): once this migration's changes are made, and before
   * they commit, call `onPause` and wait forever, so that a test can kill the process at a known
   * point inside a migration and check that the next boot completes it.
   */
  pauseInMigration?: string | null;
  onPause?: (migration: string) => void;
}

function pausing(options: MigrateOptions): MigrationProvider {
  const name = options.pauseInMigration;
  if (!name) return provider;
  return {
    getMigrations: async () => {
      const wrapped = { ...MIGRATIONS };
      const original = MIGRATIONS[name];
      if (original === undefined) throw new Error(`no migration ${name} to pause in`);
      wrapped[name] = {
        ...original,
        async up(db) {
          await original.up(db);
          options.onPause?.(name);
          // A timer keeps the process alive while it waits to be killed.
          await new Promise(() => setInterval(() => {}, 1 << 30));
        },
      };
      return wrapped;
    },
  };
}

/** Arbitrary constant shared by every Capstan instance: "capstan" in ASCII. */
const BOOT_LOCK_KEY = 0x63617073;

/**
 * Applies every pending migration, all of them in one transaction on both dialects (see
 * connect.ts for SQLite): a process killed during a migration leaves the database as it was, and
 * the next boot runs them again. Migrations change rows and tables only, never blobs.
 */
export async function migrateToLatest(db: Kysely<Database>, options: MigrateOptions = {}): Promise<void> {
  const migrator = new Migrator({ db, provider: pausing(options) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ""} failed`, { cause: error });
  }
}

/**
 * Runs `work` (migrations, then bootstrap) while holding the boot lock. SQLite needs none: a
 * single file has a single writer and the migrator keeps its own lock table.
 */
export async function withBootLock<T>(
  db: Kysely<Database>,
  dialect: Dialect,
  work: () => Promise<T>,
  timeoutMs = 60_000,
): Promise<T> {
  if (dialect === "sqlite") return work();
  return db.connection().execute(async (connection) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await sql<{
        locked: boolean;
      }>`select pg_try_advisory_lock(${BOOT_LOCK_KEY}) as locked`.execute(connection);
      if (rows[0]?.locked) break;
      if (Date.now() >= deadline) {
        throw new AppError(
          "migration_lock_timeout_error",
          `another instance held the migration lock for more than ${Math.round(timeoutMs / 1000)} s`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock(${BOOT_LOCK_KEY})`.execute(connection);
    }
  });
}
