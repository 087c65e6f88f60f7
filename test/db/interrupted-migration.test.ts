// Migrations are safe to interrupt (issue #24): a server killed with SIGKILL inside a migration
// (held there by the test-only CAPSTAN_TEST_PAUSE_IN_MIGRATION, after the migration's changes and
// before they commit) leaves the database as it was; the next start migrates it completely and
// serves. The pending migrations run in one transaction on both dialects (src/db/connect.ts makes
// kysely's migrator use one on SQLite too). Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type ApiAnswer, captureApiAnswers } from "../../scripts/api-answers.js";
import { sourceRunner } from "../../scripts/compiled-sources.js";
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
const FIXTURE = path.join(ROOT, "test", "fixtures", "upgrade", "0.1.0");

/** Starts the server and resolves once it says it is paused inside the migration. */
async function startPausedServer(env: Record<string, string>, pauseIn = PAUSE_IN): Promise<ChildProcess> {
  const runner = await sourceRunner();
  const child = spawn(process.execPath, runner.args("src/main.ts"), {
    cwd: ROOT,
    env: {
      ...withoutCapstanVariables(),
      CAPSTAN_PORT: "0",
      CAPSTAN_LOG_LEVEL: "info",
      CAPSTAN_TEST_PAUSE_IN_MIGRATION: pauseIn,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes(`paused inside ${pauseIn}`)) resolve(child);
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
    database = await createTestDatabase(dataDir, { empty: true });
    const env = {
      CAPSTAN_DATA_DIR: dataDir,
      CAPSTAN_DATABASE_URL: database.url,
      CAPSTAN_SECRETS_KEY: TEST_SECRETS_KEY,
      CAPSTAN_BOOTSTRAP_TOKEN: generateApiKey().key,
    };
    const paused = await startPausedServer(env);
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

  test("an upgrade of the 0.1.0 fixture killed inside the newest migration (which rewrites the audit log) completes on restart, and the data reads back the same", async () => {
    const expected = JSON.parse(readFileSync(path.join(FIXTURE, "expected.json"), "utf8")) as {
      migration: string;
      admin_key: string;
      secrets_key: string;
      signing_secret: string;
      answers: Record<string, ApiAnswer>;
    };
    // Holds as long as releases add migrations after 0.1.0's, which they already have.
    assert.ok(expected.migration < LATEST_MIGRATION);
    const copy = mkdtempSync(path.join(tmpdir(), "capstan-interrupted-upgrade-"));
    try {
      cpSync(path.join(FIXTURE, "capstan.db"), path.join(copy, "capstan.db"));
      cpSync(path.join(FIXTURE, "blobs"), path.join(copy, "blobs"), { recursive: true });
      const env = {
        CAPSTAN_DATA_DIR: copy,
        CAPSTAN_DATABASE_URL: `sqlite:${path.join(copy, "capstan.db")}`,
        CAPSTAN_SECRETS_KEY: expected.secrets_key,
        CAPSTAN_SIGNING_SECRET: expected.signing_secret,
        CAPSTAN_PUBLIC_URL: "http://capstan.test",
      };
      const paused = await startPausedServer(env, LATEST_MIGRATION);
      const exited = new Promise((resolve) => paused.once("exit", resolve));
      paused.kill("SIGKILL");
      await exited;
      const handle = connectDatabase(loadConfig({}, env).database);
      try {
        assert.equal(await lastAppliedMigration(handle.db), expected.migration);
      } finally {
        await handle.close();
      }

      const server = await startServerProcess(env);
      try {
        const answers = await captureApiAnswers(async (url) => {
          const res = await fetch(`${server.url}${url}`, {
            headers: { authorization: `Bearer ${expected.admin_key}` },
          });
          return { status: res.status, body: await res.json() };
        });
        assert.deepEqual(
          answers,
          // The runtime's secret values are read separately by the fixture (their read is audited).
          Object.fromEntries(
            Object.entries(expected.answers).filter(([url]) => !/\/runtimes\/[^/]+\/secrets$/.test(url)),
          ),
        );
      } finally {
        await server.stop();
      }
      const reopened = connectDatabase(loadConfig({}, env).database);
      try {
        assert.equal(await lastAppliedMigration(reopened.db), LATEST_MIGRATION);
      } finally {
        await reopened.close();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
