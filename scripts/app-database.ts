// Shared by the tests and the benchmarks (test/helpers/database.ts re-exports it).
// Which database a test app gets. SQLite: a fresh file per app. PostgreSQL (when the runner sets
// CAPSTAN_TEST_DIALECT=postgres and CAPSTAN_TEST_DATABASE_URL): a fresh database per app, created
// here and dropped on close, so files never see each other's rows.
import { randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";

export interface TestDatabase {
  /** CAPSTAN_DATABASE_URL for the app. */
  url: string;
  drop(): Promise<void>;
}

export const testDialect = (): "sqlite" | "postgres" =>
  process.env.CAPSTAN_TEST_DIALECT === "postgres" && process.env.CAPSTAN_TEST_DATABASE_URL
    ? "postgres"
    : "sqlite";

export async function createTestDatabase(dataDir: string): Promise<TestDatabase> {
  if (testDialect() === "sqlite") {
    return { url: `sqlite:${path.join(dataDir, "capstan.db")}`, drop: async () => {} };
  }
  const adminUrl = process.env.CAPSTAN_TEST_DATABASE_URL!;
  const name = `capstan_test_${randomBytes(6).toString("hex")}`;
  await withAdmin(adminUrl, (client) => client.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`)),
  };
}

async function withAdmin(url: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
