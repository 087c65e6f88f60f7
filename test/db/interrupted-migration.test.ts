// Migrations are safe to interrupt (issue #24): a server killed with SIGKILL inside a migration
// (held there by the test-only CAPSTAN_TEST_PAUSE_IN_MIGRATION, after the migration's changes and
// before they commit) leaves the database as it was; the next start migrates it completely and
// serves. The pending migrations run in one transaction on both dialects (src/db/connect.ts makes
// kysely's migrator use one on SQLite too). Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config.js";
import { connectDatabase } from "../../src/db/connect.js";
import { LATEST_MIGRATION } from "../../src/db/migrate.js";
import { lastAppliedMigration } from "../../src/db/repositories/integrity-repository.js";
import { generateApiKey } from "../../src/lib/api-key-format.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { startServerProcess, withoutCapstanVariables } from "../helpers/server-process.js";
import { TEST_SECRETS_KEY } from "../helpers/test-app.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const PAUSE_IN = "0006_add_tags_and_tracking";

/** Starts the server and resolves once it says it is paused inside the migration. */
function startPausedServer(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { ...withoutCapstanVariables(), CAPSTAN_PORT: "0", CAPSTAN_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes(`paused inside ${PAUSE_IN}`)) resolve(child);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before pausing:\n${output}`)));
  });
}

describe("a migration interrupted by kill -9", () => {
  let dataDir: string;
  let database: TestDatabase;
  after(async () => {
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test("leaves the database as it was, and the next start completes it", async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "capstan-interrupted-"));
    database = await createTestDatabase(dataDir);
    const env = {
      CAPSTAN_DATA_DIR: dataDir,
      CAPSTAN_DATABASE_URL: database.url,
      CAPSTAN_SECRETS_KEY: TEST_SECRETS_KEY,
      CAPSTAN_BOOTSTRAP_TOKEN: generateApiKey().key,
    };
    const paused = await startPausedServer({ ...env, CAPSTAN_TEST_PAUSE_IN_MIGRATION: PAUSE_IN });
    const exited = new Promise((resolve) => paused.once("exit", resolve));
    paused.kill("SIGKILL");
    await exited;

    const handle = connectDatabase(loadConfig({}, env).database);
    try {
      // 0001–0005 ran before the pause in the same transaction: none of them is recorded or applied.
      assert.equal(await lastAppliedMigration(handle.db), null);
      const tables = await handle.db.introspection.getTables();
      assert.deepEqual(
        tables.map((table) => table.name).filter((name) => !name.startsWith("kysely_")),
        [],
      );
    } finally {
      await handle.close();
    }

    const server = await startServerProcess(env);
    try {
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      const me = await fetch(`${server.url}/api/v1/user/me`, {
        headers: { authorization: `Bearer ${env.CAPSTAN_BOOTSTRAP_TOKEN}` },
      });
      assert.equal(me.status, 200, await me.text());
    } finally {
      await server.stop();
    }
    const reopened = connectDatabase(loadConfig({}, env).database);
    try {
      assert.equal(await lastAppliedMigration(reopened.db), LATEST_MIGRATION);
    } finally {
      await reopened.close();
    }
  });
});
