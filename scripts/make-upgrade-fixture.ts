// Writes the upgrade fixture of the current release (issue #24): a small but varied data directory
// made by this code (orgs, a workspace and project, runtimes, capabilities with versions including
// a prerelease, deprecated and yanked ones, tags, bindings with flag and secret overrides and a
// tracking one, a workspace secret, a signing key and a signature), and every API answer it gave
// then. test/db/upgrade-fixtures.test.ts boots the newest code on a copy of each release's
// fixture and compares. Run once per release, when its version is set in package.json:
//
//   npx tsx scripts/make-upgrade-fixture.ts            → test/fixtures/upgrade/<version>/
//
// The fixture's secrets master key and admin key are test values, written into expected.json.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { buildApp } from "../src/app.js";
import { createDeps } from "../src/composition.js";
import { loadConfig } from "../src/config.js";
import { LATEST_MIGRATION, migrateToLatest } from "../src/db/migrate.js";
import { openSqlite } from "../src/db/sqlite-addon.js";
import { signSubject } from "../src/domain/dsse.js";
import { generateApiKey } from "../src/lib/api-key-format.js";
import { packageVersion } from "../src/lib/package-version.js";
import { bootstrapIfEmpty } from "../src/services/bootstrap.js";
import { checkSecretsKeyring } from "../src/services/secret-service.js";
import { checkSigningSecret } from "../src/services/signed-urls.js";
import { captureApiAnswers } from "./api-answers.js";
import { capabilityBundle } from "./capability-bundles.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const FIXTURE_SECRETS_KEY = `fixture:${Buffer.alloc(32, 0x24).toString("base64")}`;
const SECRET_REF = ["$", "{", "API_TOKEN", "}"].join("");

async function main(): Promise<void> {
  const version = packageVersion();
  const target = path.resolve(process.argv[2] ?? path.join(ROOT, "test", "fixtures", "upgrade", version));
  const dataDir = mkdtempSync(path.join(tmpdir(), "capstan-fixture-"));
  const adminKey = generateApiKey().key;
  const config = loadConfig(
    {},
    {
      CAPSTAN_DATA_DIR: dataDir,
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
      CAPSTAN_SECRETS_KEY: FIXTURE_SECRETS_KEY,
      CAPSTAN_SIGNING_SECRET: "upgrade-fixture-signing-secret",
      CAPSTAN_PUBLIC_URL: "http://capstan.test",
      CAPSTAN_RATE_LIMIT_RPM: "0",
    },
  );
  const { deps, close } = await createDeps(config, {
    logger: pino({ level: "silent" }),
    sharedChanges: false,
  });
  // As serve() boots: migrate, bootstrap, the signing secret and the secrets key checks.
  await migrateToLatest(deps.db);
  const boot = await bootstrapIfEmpty(deps);
  assert.ok(boot, "a new data directory is bootstrapped");
  await checkSigningSecret(deps, false);
  await checkSecretsKeyring(deps);
  const app = await buildApp(deps, { consoleDir: null });
  await app.ready();

  const call = async (method: string, url: string, payload?: unknown, expected = [200, 201]) => {
    const res = await app.inject({
      method: method as "GET",
      url,
      headers: { authorization: `Bearer ${adminKey}` },
      payload: payload as object,
    });
    assert.ok(expected.includes(res.statusCode), `${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const publish = async (org: string, spec: Parameters<typeof capabilityBundle>[0]) => {
    const res = await app.inject({
      method: "POST",
      url: `/api/v1/org/${org}/capabilities`,
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/gzip" },
      payload: capabilityBundle(spec),
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json();
  };

  await call("POST", "/api/v1/orgs", { key: "acme", name: "Acme", description: "The upgrade fixture's org" });
  await call("POST", "/api/v1/org/acme/ws", { key: "platform", name: "Platform" });
  await call("POST", "/api/v1/org/acme/ws/platform/projects", { key: "edge", name: "Edge" });
  const ws = "/api/v1/org/acme/ws/platform";
  const flags = ["flags:", "  read-only:", "    description: Hide mutating tools", "    default: true"].join(
    "\n",
  );
  const secrets = [
    "secrets:",
    "  API_TOKEN:",
    "    description: Token of the tracker API",
    "workers:",
    "  poller:",
    "    command: ./poll",
    "    env:",
    `      TOKEN: "${SECRET_REF}"`,
  ].join("\n");
  await publish("acme", { name: "toolkit", version: "1.0.0", manifestExtra: flags });
  await publish("acme", { name: "toolkit", version: "1.1.0", manifestExtra: flags });
  await publish("acme", { name: "toolkit", version: "2.0.0-beta.1", manifestExtra: flags });
  await publish("acme", { name: "toolkit", version: "0.9.0", manifestExtra: flags });
  await publish("acme", { name: "tracker", version: "1.0.0", manifestExtra: secrets });
  await publish("acme", { name: "notes", version: "0.1.0", readme: "# Notes\nThe fixture's notes.\n" });
  await publish("default", { name: "shared", version: "1.0.0" });
  await call("PATCH", "/api/v1/org/acme/capabilities/toolkit/0.9.0", {
    status: "deprecated",
    message: "Use 1.x",
  });
  await call("PATCH", "/api/v1/org/acme/capabilities/notes/0.1.0", { status: "yanked" });
  await call("PUT", "/api/v1/org/acme/capabilities/toolkit/tags/stable", { version: "1.1.0" });

  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  await call("POST", "/api/v1/org/acme/signing-keys", {
    name: "release",
    public_key: String(publicKey.export({ type: "spki", format: "pem" })),
  });
  const signed = await call("GET", "/api/v1/org/acme/capabilities/toolkit/1.1.0");
  const envelope = signSubject(
    { org: "acme", capability: "toolkit", version: "1.1.0", artifactSha256: signed.artifact_sha256 },
    privateKey,
  );
  await call("POST", "/api/v1/org/acme/capabilities/toolkit/1.1.0/signatures", envelope);

  await call("PUT", `${ws}/secrets/TRACKER_TOKEN`, {
    value: "fixture-secret-value",
    description: "The tracker",
  });
  const edge1 = (await call("POST", `${ws}/runtimes`, { key: "edge-1", name: "Edge 1", project: "edge" })).id;
  const edge2 = (await call("POST", `${ws}/runtimes`, { key: "edge-2", name: "Edge 2" })).id;
  const pinned = await call("POST", `${ws}/runtimes/${edge1}/capabilities`, {
    name: "toolkit",
    version: "1.0.0",
  });
  await call("PATCH", `${ws}/runtimes/${edge1}/capabilities/${pinned.id}`, { flags: { "read-only": false } });
  await call("POST", `${ws}/runtimes/${edge1}/capabilities`, {
    name: "tracker",
    version: "1.0.0",
    secrets: { API_TOKEN: "TRACKER_TOKEN" },
  });
  await call("POST", `${ws}/runtimes/${edge2}/capabilities`, {
    name: "toolkit",
    version: "stable",
    auto_update: true,
  });
  await call(
    "POST",
    `${ws}/runtimes/${edge2}/capabilities`,
    { name: "notes", version: "0.1.0", enabled: false },
    [201, 409, 422],
  );

  // Reading a runtime's secret values leaves an audit event: read before the answers are captured,
  // so that the audit list they hold has it too.
  const runtimeSecretsUrl = `${ws}/runtimes/${edge1}/secrets`;
  const runtimeSecrets = await app.inject({
    method: "GET",
    url: runtimeSecretsUrl,
    headers: { authorization: `Bearer ${adminKey}` },
  });
  const answers = await captureApiAnswers(async (url) => {
    const res = await app.inject({ method: "GET", url, headers: { authorization: `Bearer ${adminKey}` } });
    return { status: res.statusCode, body: res.json() };
  });
  answers[runtimeSecretsUrl] = { status: runtimeSecrets.statusCode, body: runtimeSecrets.json() };
  await app.close();
  await close();

  // One self-contained file, no WAL beside it, in small pages: every table and index takes at
  // least one page, and the fixture is committed.
  const sqlite = openSqlite(path.join(dataDir, "capstan.db"));
  sqlite.pragma("journal_mode = DELETE");
  sqlite.pragma("page_size = 512");
  sqlite.exec("vacuum");
  sqlite.close();

  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  cpSync(path.join(dataDir, "capstan.db"), path.join(target, "capstan.db"));
  cpSync(path.join(dataDir, "blobs"), path.join(target, "blobs"), {
    recursive: true,
    filter: (source) => !source.includes(`${path.sep}.tmp`),
  });
  const expected = {
    made_by: version,
    migration: LATEST_MIGRATION,
    admin_key: adminKey,
    secrets_key: FIXTURE_SECRETS_KEY,
    signing_secret: "upgrade-fixture-signing-secret",
    answers,
  };
  writeFileSync(path.join(target, "expected.json"), `${JSON.stringify(expected, null, 1)}\n`);
  rmSync(dataDir, { recursive: true, force: true });
  console.log(`wrote ${target} (${Object.keys(answers).length} answers)`);
}

await main();
