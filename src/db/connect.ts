// Opens the database named by the config. Dialect differences live in db/ only.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { type DialectAdapter, Kysely, PostgresDialect, SqliteAdapter, SqliteDialect, sql } from "kysely";
import pg from "pg";
import type { DatabaseTarget } from "../config.js";
import type { Database } from "./schema.js";
import { openSqlite } from "./sqlite-addon.js";

export type Dialect = "sqlite" | "postgres";

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

export function connectDatabase(target: DatabaseTarget): DatabaseHandle {
  if (target.dialect === "sqlite") {
    if (target.path !== ":memory:") mkdirSync(path.dirname(target.path), { recursive: true });
    const sqlite = openSqlite(target.path);
    // busy_timeout first: the pragmas after it may already need to wait for another connection.
    sqlite.pragma("busy_timeout = 5000");
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    const db = new Kysely<Database>({ dialect: new TransactionalDdlSqliteDialect({ database: sqlite }) });
    return { db, dialect: "sqlite", close: () => db.destroy() };
  }
  // bigint (int8) columns hold byte sizes well below 2^53: parse them as numbers.
  pg.types.setTypeParser(20, (value) => Number(value));
  const pool = new pg.Pool({ connectionString: target.url, max: 10 });
  // An idle connection that the server drops (restart, failover, admin kill) emits 'error' on the
  // pool; unhandled, that would crash the process. The pool discards the client and opens a new
  // one on demand; queries in flight fail on their own and become database_error responses.
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: "postgres", close: () => db.destroy() };
}

/** A round trip to the database: throws when it does not answer. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}

/**
 * SQLite runs DDL inside transactions, but kysely's SQLite adapter says it does not, so its
 * migrator would apply migrations without one: a process killed in the middle of a migration would
 * leave it half applied (a table created, the migration not recorded) and the next boot would fail
 * on it. Declaring transactional DDL makes the migrator run the pending migrations and their records
 * in one transaction, as it does on PostgreSQL; a kill rolls them all back. The flag is read by the
 * migrator only.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class TransactionalDdlSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * A read-only connection to a SQLite file that is not in use (a backup's snapshot): no WAL switch,
 * nothing written next to it.
 */
export function connectSqliteReadOnly(file: string): DatabaseHandle {
  const sqlite = openSqlite(file, { readonly: true, fileMustExist: true });
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: "sqlite", close: () => db.destroy() };
}
