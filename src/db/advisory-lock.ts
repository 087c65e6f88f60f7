// PostgreSQL session advisory locks: one holder across every instance sharing the database.
import { type Kysely, sql } from "kysely";
import type { Database } from "./schema.js";

/**
 * Runs `work` on one pooled connection while holding the advisory lock `key`; null, without running
 * it, when another session holds the lock. PostgreSQL only.
 */
export async function withAdvisoryLockIfFree<T>(
  db: Kysely<Database>,
  key: number,
  work: () => Promise<T>,
): Promise<T | null> {
  return db.connection().execute(async (connection) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${key}) as locked`.execute(
      connection,
    );
    if (!rows[0]?.locked) return null;
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock(${key})`.execute(connection);
    }
  });
}
