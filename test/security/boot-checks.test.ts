// What a server checks against its database at boot, on the suite's dialect: every instance must
// sign download URLs with the database's secret (else exit 2 naming CAPSTAN_SIGNING_SECRET), a
// rotation is explicit, the database keeps only a keyed fingerprint of the secret, and a
// CAPSTAN_BOOTSTRAP_TOKEN that can no longer apply is warned about.
// One real process boots and one is refused with exit 2 (src/main.ts turns the ConfigError that
// serve() throws into that exit); every other boot runs serve() itself in this process, with the
// same configuration a process would read from these variables and a logger that keeps its lines.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createLogger } from "../../src/composition.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { connectDatabase } from "../../src/db/connect.js";
import { serve } from "../../src/server.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { startServerProcess } from "../helpers/server-process.js";
import { TEST_SECRETS_KEY } from "../helpers/test-app.js";

const FIRST_SECRET = "first-secret-of-this-database";
const OTHER_SECRET = "another-secret-for-rotation";
const ADMIN_KEY = `cst_abcdefghijkl_${"Z9".repeat(20)}`;
const OTHER_KEY = `cst_mnopqrstuvwx_${"Y8".repeat(20)}`;

/** A real server process: starts, runs, returns what it logged, and stops. */
async function bootProcessAndStop(env: Record<string, string>): Promise<string> {
  const server = await startServerProcess(env);
  const output = server.output();
  await server.stop();
  return output;
}

/** A real server process that must refuse to boot; returns the rejection's text (exit code and output). */
async function refusedProcess(env: Record<string, string>): Promise<string> {
  const error = await startServerProcess(env).then(
    async (server) => {
      await server.stop();
      assert.fail("the server started");
    },
    (failure: Error) => failure,
  );
  return error.message;
}

/** The variables startServerProcess gives a server, over which `env` goes. */
function serverEnv(env: Record<string, string>): Record<string, string> {
  return {
    CAPSTAN_PORT: "0",
    CAPSTAN_LOG_LEVEL: "info",
    CAPSTAN_RATE_LIMIT_RPM: "0",
    ...(env.CAPSTAN_DATABASE_URL?.startsWith("postgres") ? { CAPSTAN_SECRETS_KEY: TEST_SECRETS_KEY } : {}),
    ...env,
  };
}

/** serve() in this process: boots (listening), returns what it logged, and stops. */
async function bootAndStop(env: Record<string, string>): Promise<string> {
  let output = "";
  const logger = createLogger("info", {
    write: (line: string) => {
      output += line;
    },
  });
  const stop = await serve(loadConfig(serverEnv(env)), { logger });
  assert.match(output, /Capstan listening on http:\/\//);
  await stop();
  return output;
}

/** serve() in this process must refuse to boot: returns its ConfigError (exit 2 in a process). */
async function refusedBoot(env: Record<string, string>): Promise<ConfigError> {
  const logger = createLogger("silent");
  const error = await serve(loadConfig(serverEnv(env)), { logger }).then(
    async (stop) => {
      await stop();
      assert.fail("the server started");
    },
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof ConfigError, String(error));
  assert.equal(error.variable, "CAPSTAN_SIGNING_SECRET");
  return error;
}

async function storedSettings(url: string): Promise<Record<string, string>> {
  const config = loadConfig({}, { CAPSTAN_DATABASE_URL: url, CAPSTAN_DATA_DIR: tmpdir() });
  const handle = connectDatabase(config.database);
  try {
    const rows = await handle.db.selectFrom("settings").select(["key", "value"]).execute();
    return Object.fromEntries(rows.map((row) => [row.key, row.value]));
  } finally {
    await handle.close();
  }
}

describe("boot checks against the database", () => {
  let dataDir: string;
  const databases: TestDatabase[] = [];

  async function freshDatabase(): Promise<string> {
    const database = await createTestDatabase(mkdtempSync(path.join(dataDir, "db-")));
    databases.push(database);
    return database.url;
  }

  before(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), "capstan-boot-"));
  });
  after(async () => {
    for (const database of databases) await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("an instance whose signing secret differs from the database's refuses to boot with exit 2; a rotation is explicit", async () => {
    const url = await freshDatabase();
    const env = { CAPSTAN_DATABASE_URL: url, CAPSTAN_DATA_DIR: path.join(dataDir, "a") };
    await bootProcessAndStop({ ...env, CAPSTAN_SIGNING_SECRET: FIRST_SECRET });

    const unset = await refusedProcess(env);
    assert.match(unset, /exited with 2/);
    assert.match(unset, /CAPSTAN_SIGNING_SECRET: is not set, but the instances on this database sign/);
    const other = (await refusedBoot({ ...env, CAPSTAN_SIGNING_SECRET: OTHER_SECRET })).message;
    assert.match(other, /CAPSTAN_SIGNING_SECRET: differs from the secret/);
    assert.match(other, /CAPSTAN_ROTATE_SIGNING_SECRET=true/);
    await bootAndStop({ ...env, CAPSTAN_SIGNING_SECRET: FIRST_SECRET });

    // Rotation: one instance adopts the new secret; from then on the old one is refused.
    const rotated = await bootAndStop({
      ...env,
      CAPSTAN_SIGNING_SECRET: OTHER_SECRET,
      CAPSTAN_ROTATE_SIGNING_SECRET: "true",
    });
    assert.match(rotated, /"level":40,.*this instance's signing secret is now the database's/);
    await bootAndStop({ ...env, CAPSTAN_SIGNING_SECRET: OTHER_SECRET });
    assert.match(
      (await refusedBoot({ ...env, CAPSTAN_SIGNING_SECRET: FIRST_SECRET })).message,
      /CAPSTAN_SIGNING_SECRET: differs from the secret/,
    );

    // Only a salted scrypt fingerprint is stored: neither secret, nor a fast hash or HMAC of either.
    const settings = await storedSettings(url);
    const stored = JSON.stringify(settings);
    for (const secret of [FIRST_SECRET, OTHER_SECRET]) {
      assert.ok(!stored.includes(secret));
      assert.ok(!stored.includes(createHash("sha256").update(secret).digest("hex")));
      assert.ok(
        !stored.includes(
          createHmac("sha256", secret).update("capstan signing-secret fingerprint v1").digest("hex"),
        ),
      );
    }
    assert.match(stored, /signing_secret_fingerprint/);
    const fingerprint = JSON.parse(settings.signing_secret_fingerprint ?? "{}");
    assert.equal(fingerprint.kdf, "scrypt");
    assert.match(fingerprint.salt, /^[0-9a-f]{32}$/);
    assert.match(fingerprint.fingerprint, /^[0-9a-f]{64}$/);
  });

  test("embedded defaults: the generated secret is the database's; setting another one later is refused", async () => {
    const url = await freshDatabase();
    const env = { CAPSTAN_DATABASE_URL: url, CAPSTAN_DATA_DIR: path.join(dataDir, "b") };
    // The first start, in a process of its own: it also prints the generated admin key on stdout.
    await bootProcessAndStop(env);
    await bootAndStop(env);
    const refused = (await refusedBoot({ ...env, CAPSTAN_SIGNING_SECRET: FIRST_SECRET })).message;
    assert.match(
      refused,
      /CAPSTAN_SIGNING_SECRET: is set, but this database's download URLs are signed with the secret Capstan generated/,
    );
  });

  test("CAPSTAN_BOOTSTRAP_TOKEN against a database that already has users is warned about, unless it is already a key", async () => {
    const url = await freshDatabase();
    const env = {
      CAPSTAN_DATABASE_URL: url,
      CAPSTAN_DATA_DIR: path.join(dataDir, "c"),
      CAPSTAN_SIGNING_SECRET: FIRST_SECRET,
    };
    const first = await bootAndStop({ ...env, CAPSTAN_BOOTSTRAP_TOKEN: ADMIN_KEY });
    assert.doesNotMatch(first, /CAPSTAN_BOOTSTRAP_TOKEN is ignored/);
    const again = await bootAndStop({ ...env, CAPSTAN_BOOTSTRAP_TOKEN: ADMIN_KEY });
    assert.doesNotMatch(again, /CAPSTAN_BOOTSTRAP_TOKEN is ignored/);
    const other = await bootAndStop({ ...env, CAPSTAN_BOOTSTRAP_TOKEN: OTHER_KEY });
    assert.match(
      other,
      /"level":40,.*CAPSTAN_BOOTSTRAP_TOKEN is ignored: it only applies on the first start/,
    );
    assert.match(other, /CAPSTAN_DATA_DIR/);
    assert.ok(!other.includes(OTHER_KEY.split("_")[2]), "the token itself is not logged");
  });
});
