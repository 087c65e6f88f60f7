// The whole everyday flow through the CLI against a real server process logging at `debug`:
// publish → bundle URL → download → resolved → sync (with a runtime token), plus a download whose
// signature is wrong. Then the server's log and everything the CLI printed are searched for the
// API key, the runtime token, each signature this test saw, and any `sig=<hex>` at all.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type CliRun, runCli } from "../cli/helpers/cli-harness.js";
import { writeCapability } from "../cli/helpers/live-app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.js";

const ADMIN_KEY = `cst_qrstuvwxyz23_${"Lk8".repeat(12)}`;

describe("log scan of publish → download → resolved → sync at debug level", () => {
  let dataDir: string;
  let database: TestDatabase;
  let server: ServerProcess;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "capstan-logflow-"));
    database = await createTestDatabase(dataDir);
    server = await startServerProcess({
      CAPSTAN_DATABASE_URL: database.url,
      CAPSTAN_DATA_DIR: dataDir,
      CAPSTAN_BOOTSTRAP_TOKEN: ADMIN_KEY,
      CAPSTAN_LOG_LEVEL: "debug",
    });
  });
  after(async () => {
    await server?.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("no log line and no CLI output holds the key, the runtime token or a signature", async () => {
    const runs: CliRun[] = [];
    const env = {
      CAPSTAN_CONFIG: path.join(dataDir, "config.json"),
      CAPSTAN_URL: server.url,
      CAPSTAN_TOKEN: ADMIN_KEY,
      CAPSTAN_ORG: "default",
      CAPSTAN_WORKSPACE: "main",
    };
    const cli = async (argv: string[], extra: Record<string, string> = {}): Promise<CliRun> => {
      const run = await runCli(argv, { cwd: dataDir, env: { ...env, ...extra } });
      runs.push(run);
      return run;
    };
    const ok = async (argv: string[], extra: Record<string, string> = {}) => {
      const run = await cli([...argv, "--json"], extra);
      assert.equal(run.code, 0, `capstan ${argv.join(" ")}: ${run.stderr}`);
      return JSON.parse(run.stdout);
    };
    const signatures = new Set<string>();
    const api = async (route: string, token: string) => {
      const response = await fetch(`${server.url}/api/v1${route}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 200, route);
      const text = await response.text();
      for (const match of text.matchAll(/sig=([0-9a-f]{64})/g)) signatures.add(match[1]);
      return JSON.parse(text);
    };

    await ok(["capability", "push", await writeCapability(dataDir, "scanned", "1.0.0")]);
    const runtime = await ok(["runtime", "show", "default"]);
    await ok(["runtime", "install", "default", "scanned"]);
    // The one place a token is meant to be shown: the command that mints it. Not scanned.
    const minted = await cli(["runtime", "token", "default", "--json"]);
    runs.pop();
    assert.equal(minted.code, 0, minted.stderr);
    const token: string = JSON.parse(minted.stdout).token;
    assert.match(token, /^cst_/);

    const link = await api("/org/default/capabilities/scanned/1.0.0/bundle", ADMIN_KEY);
    const download = await fetch(link.download_url);
    assert.equal(download.status, 200);
    await download.arrayBuffer();
    const tampered = link.download_url.replace(/sig=[0-9a-f]/, (match: string) =>
      match.endsWith("0") ? `${match.slice(0, -1)}1` : `${match.slice(0, -1)}0`,
    );
    assert.equal((await fetch(tampered)).status, 403);
    await ok(["capability", "download", "scanned@1.0.0", "-o", path.join(dataDir, "scanned.tar.gz")]);

    const resolved = await api(`/org/default/ws/main/runtimes/${runtime.id}/capabilities/resolved`, token);
    assert.equal(resolved.capabilities.length, 1);
    const report = await ok(["runtime", "sync", runtime.id, "--dir", path.join(dataDir, "sync")], {
      CAPSTAN_TOKEN: token,
    });
    assert.deepEqual(report.downloaded, [{ name: "scanned", version: "1.0.0" }]);
    // A failing call with the runtime token, so an error path is logged too.
    assert.equal((await cli(["runtime", "list"], { CAPSTAN_TOKEN: token })).code, 1);
    assert.ok(signatures.size >= 1, "the test saw signed URLs");

    const log = server.output();
    assert.match(log, /"level":(20|30).*"url":"\/api\/v1\/blobs\//, "requests were logged");
    assert.match(
      log,
      /\/api\/v1\/blobs\/[0-9a-f]{64}\?exp=\d+&sig=\[REDACTED\]/,
      "download URLs were logged, redacted",
    );
    const everything = [log, ...runs.flatMap((run) => [run.stdout, run.stderr])].join("\n");
    const secrets = [ADMIN_KEY, ADMIN_KEY.split("_")[2], token, token.split("_")[2], ...signatures];
    for (const secret of secrets)
      assert.ok(!everything.includes(secret), `a secret reached the output: ${secret.slice(0, 6)}…`);
    assert.doesNotMatch(everything, /sig=[0-9a-f]{16,}/);
  });
});
