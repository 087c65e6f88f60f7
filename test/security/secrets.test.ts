// What SPEC §11 promises about secret values, checked end to end on the suite's dialect with a real
// HTTP server and the CLI: one unique value, set through `capstan secret set`, delivered through
// GET RT/secrets and `capstan runtime sync`, and then searched for everywhere else it must not be.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import type { Config } from "../../src/config.js";
import { openSecret, parseSecretsKeyring, secretAssociatedData } from "../../src/lib/secret-crypto.js";
import type { ServiceDeps } from "../../src/services/deps.js";
import { checkSecretsKeyring, SecretService } from "../../src/services/secret-service.js";
import { runCli } from "../cli/helpers/cli-harness.js";
import { capabilityBundle } from "../helpers/capability-bundles.js";
import { testDialect } from "../helpers/database.js";
import { startServerProcess } from "../helpers/server-process.js";

/** `${NAME}` in an env value: a secret reference, not a template. */
const ref = (name: string): string => ["$", "{", name, "}"].join("");

import { bearer, buildTestApp, TEST_SECRETS_KEY, type TestApp } from "../helpers/test-app.js";

const VALUE = `sv-${randomUUID()}-${randomBytes(8).toString("hex")}`;
const MANIFEST = [
  "secrets:",
  "  API_TOKEN:",
  "    description: Token of the tracker API",
  "mcp:",
  "  servers:",
  "    tracker:",
  "      command: node",
  "      env:",
  `        TRACKER_TOKEN: "${ref("API_TOKEN")}"`,
].join("\n");

/** Every file below `root`, with its bytes. */
function filesBelow(root: string): [string, Buffer][] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const file = path.join(entry.parentPath, entry.name);
      return [file, readFileSync(file)] as [string, Buffer];
    });
}

describe("secret values stay secret", () => {
  let t: TestApp;
  let url: string;
  let scratch: string;
  let runtimeA: string;
  let runtimeB: string;
  let tokenA: string;
  let logs = "";
  /** Every API response body except GET RT/secrets, which is the one that carries values. */
  const responses: string[] = [];
  const cliOutputs: string[] = [];
  let syncDir: string;

  async function api(method: string, route: string, key: string, payload?: unknown) {
    const res = await fetch(`${url}/api/v1${route}`, {
      method,
      headers: { ...bearer(key), ...(payload === undefined ? {} : { "content-type": "application/json" }) },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const text = await res.text();
    if (!route.endsWith("/secrets") || !route.includes("/runtimes/")) {
      responses.push(`${JSON.stringify([...res.headers])}\n${text}`);
    }
    return { status: res.status, text, json: () => JSON.parse(text) };
  }

  async function cli(argv: string[], key: string, input?: string) {
    const run = await runCli(argv, {
      cwd: scratch,
      input,
      env: {
        CAPSTAN_CONFIG: path.join(scratch, "config.json"),
        CAPSTAN_URL: url,
        CAPSTAN_TOKEN: key,
        CAPSTAN_ORG: "default",
        CAPSTAN_WORKSPACE: "main",
      },
    });
    cliOutputs.push(run.stdout, run.stderr);
    assert.equal(run.code, 0, `${run.stderr}${run.stdout}`);
    return run;
  }

  before(async () => {
    const stream = new PassThrough();
    stream.on("data", (chunk) => {
      logs += chunk;
    });
    t = await buildTestApp({ logStream: stream, logLevel: "debug" });
    await t.app.listen({ host: "127.0.0.1", port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    t.deps.config = Object.freeze({ ...t.deps.config, publicUrl: url });
    scratch = mkdtempSync(path.join(tmpdir(), "capstan-secrets-"));
    syncDir = path.join(scratch, "runtime");

    const published = await t.app.inject({
      method: "POST",
      url: "/api/v1/org/default/capabilities",
      headers: { ...bearer(t.adminKey), "content-type": "application/gzip" },
      payload: capabilityBundle({ name: "tracker", manifestExtra: MANIFEST }),
    });
    assert.equal(published.statusCode, 201, published.body);
    runtimeA = (
      await api("POST", "/org/default/ws/main/runtimes", t.adminKey, { key: "a", name: "A" })
    ).json().id;
    runtimeB = (
      await api("POST", "/org/default/ws/main/runtimes", t.adminKey, { key: "b", name: "B" })
    ).json().id;
    for (const id of [runtimeA, runtimeB]) {
      const bound = await api("POST", `/org/default/ws/main/runtimes/${id}/capabilities`, t.adminKey, {
        name: "tracker",
      });
      assert.equal(bound.status, 201, bound.text);
    }
    tokenA = (await api("POST", `/org/default/ws/main/runtimes/${runtimeA}/tokens`, t.adminKey, {})).json()
      .token;

    // The value goes in through the CLI, on stdin, as a person would pipe it.
    await cli(["secret", "set", "API_TOKEN", "--description", "tracker token"], t.adminKey, `${VALUE}\n`);
    await cli(["secret", "list"], t.adminKey);
    await cli(["runtime", "caps", "a"], t.adminKey);
    await api("GET", "/org/default/ws/main/secrets", t.adminKey);
    await api("GET", `/org/default/ws/main/runtimes/${runtimeA}/capabilities`, t.adminKey);
    await api("GET", `/org/default/ws/main/runtimes/${runtimeA}/capabilities/resolved`, tokenA);
    await api("GET", "/org/default/audit", t.adminKey);
    await api("PUT", "/org/default/ws/main/secrets/API_TOKEN", t.adminKey, { value: `${VALUE}é` }).then(
      (res) => assert.equal(res.status, 200),
    );
    await api("PUT", "/org/default/ws/main/secrets/API_TOKEN", t.adminKey, { value: VALUE });
    // The runtime side: sync with runtime A's own token.
    await cli(["runtime", "sync", runtimeA, "--dir", syncDir, "--json"], tokenA);
  });
  after(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("GET RT/secrets with the runtime's token delivers the value", async () => {
    const res = await fetch(`${url}/api/v1/org/default/ws/main/runtimes/${runtimeA}/secrets`, {
      headers: bearer(tokenA),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { values: { tracker: { API_TOKEN: VALUE } } });
  });

  test("runtime A's token cannot read runtime B's secrets", async () => {
    const res = await fetch(`${url}/api/v1/org/default/ws/main/runtimes/${runtimeB}/secrets`, {
      headers: bearer(tokenA),
    });
    assert.equal(res.status, 403);
    assert.equal((await res.text()).includes(VALUE), false);
  });

  test("the sync writes the value to DIR/secrets/<capability>.env (0600) and nowhere else in DIR", () => {
    const file = path.join(syncDir, "secrets", "tracker.env");
    assert.equal(readFileSync(file, "utf8"), `API_TOKEN='${VALUE}'\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    const others = filesBelow(syncDir).filter(([name]) => name !== file);
    assert.ok(others.some(([name]) => name.endsWith("resolved.json")));
    for (const [name, bytes] of others) assert.equal(bytes.includes(VALUE), false, name);
  });

  test("no API response but GET RT/secrets, no CLI output, no log line and no audit record holds the value", async () => {
    assert.ok(responses.length >= 8);
    for (const body of responses) assert.equal(body.includes(VALUE), false, body.slice(0, 200));
    for (const output of cliOutputs) assert.equal(output.includes(VALUE), false, output.slice(0, 200));
    assert.ok(logs.length > 0);
    assert.equal(logs.includes(VALUE), false);
    const audit = await t.deps.db.selectFrom("audit_events").selectAll().execute();
    assert.ok(audit.some((row) => row.action === "secret.read"));
    assert.ok(audit.some((row) => row.action === "secret.created"));
    assert.equal(JSON.stringify(audit).includes(VALUE), false);
  });

  test("neither the database nor the blob store holds the value", async () => {
    if (testDialect() === "sqlite") {
      const database = filesBelow(t.dataDir).filter(([name]) => path.basename(name).startsWith("capstan.db"));
      assert.ok(database.length > 0);
      for (const [name, bytes] of database) assert.equal(bytes.includes(VALUE), false, name);
    } else {
      const tables = [
        "workspace_secrets",
        "settings",
        "audit_events",
        "bindings",
        "capability_versions",
        "runtimes",
      ];
      for (const table of tables) {
        const rows = await t.deps.db
          .selectFrom(table as "settings")
          .selectAll()
          .execute();
        assert.equal(JSON.stringify(rows).includes(VALUE), false, table);
      }
      const chunks = await t.deps.db.selectFrom("blob_chunks").select("data").execute();
      for (const chunk of chunks) assert.equal(Buffer.from(chunk.data).includes(VALUE), false);
    }
    for (const [name, bytes] of filesBelow(path.join(t.dataDir, "blobs"))) {
      assert.equal(bytes.includes(VALUE), false, name);
    }
  });

  test("the database alone does not reveal the value: another key, or the row's ciphertext elsewhere, does not open", async () => {
    const row = await t.deps.db
      .selectFrom("workspace_secrets")
      .selectAll()
      .where("name", "=", "API_TOKEN")
      .executeTakeFirstOrThrow();
    const guess = { id: row.key_id, material: randomBytes(32) };
    assert.equal(
      openSecret(guess, row.ciphertext, secretAssociatedData(row.org_id, row.workspace_id, row.name)),
      null,
    );
    const keyring = await t.app.services.secrets.ready();
    const key = keyring.find(row.key_id);
    assert.ok(key);
    assert.equal(
      openSecret(key, row.ciphertext, secretAssociatedData(row.org_id, row.workspace_id, row.name)),
      VALUE,
    );
    // Moved onto another name (or workspace), the same key refuses it.
    assert.equal(
      openSecret(key, row.ciphertext, secretAssociatedData(row.org_id, row.workspace_id, "OTHER")),
      null,
    );
    assert.equal(
      openSecret(key, row.ciphertext, secretAssociatedData(row.org_id, "another-ws", row.name)),
      null,
    );
  });

  test("a ciphertext swapped onto another row is an error, never another secret's value", async () => {
    const put = await api("PUT", "/org/default/ws/main/secrets/DECOY", t.adminKey, { value: "decoy" });
    assert.equal(put.status, 201);
    const source = await t.deps.db
      .selectFrom("workspace_secrets")
      .select(["ciphertext", "key_id"])
      .where("name", "=", "API_TOKEN")
      .executeTakeFirstOrThrow();
    const decoy = await t.deps.db
      .selectFrom("workspace_secrets")
      .select("ciphertext")
      .where("name", "=", "DECOY")
      .executeTakeFirstOrThrow();
    try {
      // Map API_TOKEN to DECOY, then give DECOY's row API_TOKEN's ciphertext.
      const bindings = await api("GET", `/org/default/ws/main/runtimes/${runtimeA}/capabilities`, t.adminKey);
      const binding = bindings.json().items[0];
      await api("PATCH", `/org/default/ws/main/runtimes/${runtimeA}/capabilities/${binding.id}`, t.adminKey, {
        secrets: { API_TOKEN: "DECOY" },
      });
      await t.deps.db.updateTable("workspace_secrets").set(source).where("name", "=", "DECOY").execute();
      const res = await fetch(`${url}/api/v1/org/default/ws/main/runtimes/${runtimeA}/secrets`, {
        headers: bearer(tokenA),
      });
      const text = await res.text();
      assert.equal(res.status, 500);
      assert.equal(JSON.parse(text).type, "server_error");
      assert.equal(text.includes(VALUE), false);
      await api("PATCH", `/org/default/ws/main/runtimes/${runtimeA}/capabilities/${binding.id}`, t.adminKey, {
        secrets: { API_TOKEN: null },
      });
    } finally {
      await t.deps.db.updateTable("workspace_secrets").set(decoy).where("name", "=", "DECOY").execute();
    }
  });

  test("the embedded default keeps its generated key in <DATA_DIR>/secrets.key, mode 0600; PostgreSQL never generates one", () => {
    const file = path.join(t.dataDir, "secrets.key");
    if (testDialect() === "postgres") {
      assert.equal(existsSync(file), false);
      return;
    }
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(typeof parseSecretsKeyring(readFileSync(file, "utf8")), "object");
  });

  test("a wrong key, or no key on PostgreSQL, fails with a message naming CAPSTAN_SECRETS_KEY", async () => {
    const keyring = await t.app.services.secrets.ready();
    const wrong = parseSecretsKeyring(`${keyring.current.id}:${randomBytes(32).toString("base64")}`);
    assert.equal(typeof wrong, "object");
    const withKeyring = (
      secretsKeyring: Config["secretsKeyring"],
      dialect = t.deps.dialect,
    ): ServiceDeps => ({
      ...t.deps,
      dialect,
      config: { ...t.deps.config, secretsKeyring },
    });
    await assert.rejects(
      checkSecretsKeyring(withKeyring(wrong as Config["secretsKeyring"])),
      /CAPSTAN_SECRETS_KEY: key '.+' is not the key/,
    );
    const elsewhere = parseSecretsKeyring(`fresh:${randomBytes(32).toString("base64")}`);
    await assert.rejects(
      checkSecretsKeyring(withKeyring(elsewhere as Config["secretsKeyring"])),
      /CAPSTAN_SECRETS_KEY: this database holds secrets encrypted with key id\(s\) '.+', which the keyring/,
    );
    await assert.rejects(
      checkSecretsKeyring(withKeyring(null, "postgres")),
      /CAPSTAN_SECRETS_KEY: is not set\. On PostgreSQL/,
    );
  });

  test("a server started with a wrong key refuses to boot with exit 2 and a clear message", async () => {
    const keyring = await t.app.services.secrets.ready();
    const env = {
      CAPSTAN_DATABASE_URL:
        t.config.database.dialect === "sqlite" ? `sqlite:${t.config.database.path}` : t.config.database.url,
      CAPSTAN_DATA_DIR: t.dataDir,
      CAPSTAN_SECRETS_KEY: `${keyring.current.id}:${randomBytes(32).toString("base64")}`,
    };
    const failure = await startServerProcess(env).then(
      async (server) => {
        await server.stop();
        return "started";
      },
      (error: Error) => error.message,
    );
    assert.match(failure, /exited with 2/);
    assert.match(failure, /invalid configuration: CAPSTAN_SECRETS_KEY: key '.+' is not the key/);
  });

  test("rotation re-encrypts every value under the first key in place; the old key is then no longer needed", async () => {
    const old = await t.app.services.secrets.ready();
    const oldText =
      testDialect() === "sqlite"
        ? readFileSync(path.join(t.dataDir, "secrets.key"), "utf8").trim()
        : TEST_SECRETS_KEY;
    const next = `rotated:${randomBytes(32).toString("base64")}`;
    const both = parseSecretsKeyring(`${next},${oldText}`);
    const only = parseSecretsKeyring(next);
    assert.ok(typeof both === "object" && typeof only === "object");
    const admin = await t.deps.db
      .selectFrom("users")
      .select("id")
      .where("email", "=", "admin@localhost")
      .executeTakeFirstOrThrow();
    const actor = {
      userId: admin.id,
      apiKeyId: "rotation-test",
      readOnly: false,
      runtimeId: null,
      keyOrgId: null,
    };
    const rotating = new SecretService({ ...t.deps, config: { ...t.deps.config, secretsKeyring: both } });
    const result = await rotating.rotate({ actor, requestId: "rotation" });
    assert.equal(result.key_id, "rotated");
    assert.ok(result.reencrypted >= 2);
    const ids = await t.deps.db.selectFrom("workspace_secrets").select("key_id").distinct().execute();
    assert.deepEqual(
      ids.map((row) => row.key_id),
      ["rotated"],
    );
    const after = new SecretService({ ...t.deps, config: { ...t.deps.config, secretsKeyring: only } });
    const values = await after.readForRuntime(
      { actor, requestId: "after-rotation" },
      { org: "default", workspace: "main", runtimeId: runtimeA },
    );
    assert.deepEqual(values, { values: { tracker: { API_TOKEN: VALUE } } });
    assert.ok(old.current.id !== "rotated");
  });
});
