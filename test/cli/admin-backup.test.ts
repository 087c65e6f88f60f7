// `capstan admin backup|restore|verify` (issue #24) on this machine's data directory: a backup of
// a live instance, its restore into a new directory, verify's verdicts and exit codes, refusals.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { openSqlite } from "../../src/db/sqlite-addon.js";
import { callApi } from "../helpers/api.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { buildTestApp, TEST_SECRETS_KEY, type TestApp } from "../helpers/test-app.js";
import { runCli } from "./helpers/cli-harness.js";

describe("capstan admin backup, restore, verify", () => {
  let t: TestApp;
  let scratch: string;
  let artifact: string;
  before(async () => {
    t = await buildTestApp({ env: { CAPSTAN_SECRETS_KEY: TEST_SECRETS_KEY } });
    artifact = (await publishOk(t, { name: "backed-up", version: "1.0.0" })).artifact_sha256;
    const put = await callApi(t, "PUT", "/api/v1/org/default/ws/main/secrets/TOKEN", t.adminKey, {
      value: "v",
    });
    assert.equal(put.statusCode, 201, put.body);
    scratch = mkdtempSync(path.join(tmpdir(), "capstan-cli-backup-"));
  });
  after(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("backs up the live data directory, restores it elsewhere, and the copy verifies", async () => {
    const backup = path.join(scratch, "backup");
    const made = await runCli(["admin", "backup", "--to", backup, "--data-dir", t.dataDir]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(
      made.stdout,
      new RegExp(`^Backed up 1 version\\(s\\) and \\d+ blob\\(s\\) \\(\\d+ bytes\\) into ${backup}\\.`),
    );
    assert.match(made.stderr, /The secrets master key is not in the backup/);
    assert.ok(existsSync(path.join(backup, "manifest.json")));

    const restored = path.join(scratch, "restored");
    const run = await runCli(["admin", "restore", "--from", backup, "--data-dir", restored]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Restored the backup of .* \(1 version\(s\), \d+ blob\(s\)\) into /);
    // No key was given: the warning names what the server will need.
    assert.match(run.stderr, /warning: .*secrets master key\(s\) 'test'/);

    const verified = await runCli(["admin", "verify", "--data-dir", restored]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /^OK: 1 versions, \d+ blobs named/);

    const again = await runCli(["admin", "restore", "--from", backup, "--data-dir", restored]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /capstan: the data directory .* is not empty/);
  });

  test("verify exits 1 and lists the problems", async () => {
    const backup = path.join(scratch, "backup2");
    assert.equal((await runCli(["admin", "backup", "--to", backup, "--data-dir", t.dataDir])).code, 0);
    const restored = path.join(scratch, "damaged");
    assert.equal((await runCli(["admin", "restore", "--from", backup, "--data-dir", restored])).code, 0);
    rmSync(path.join(restored, "blobs", artifact.slice(0, 2), artifact.slice(2, 4), artifact));

    const human = await runCli(["admin", "verify", "--data-dir", restored]);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /^error missing_blob: default\/backed-up@1\.0\.0: its bundle archive/);
    assert.match(human.stderr, /capstan: verify found 1 problem\(s\)/);
    const json = await runCli(["admin", "verify", "--data-dir", restored, "--json"]);
    assert.equal(json.code, 1);
    const envelope = JSON.parse(json.stdout);
    assert.equal(envelope.errors[0].loc[0], "missing_blob");
  });

  test("verify exits 1 naming an audit record edited in the SQLite file", async () => {
    const backup = path.join(scratch, "backup-audit");
    assert.equal((await runCli(["admin", "backup", "--to", backup, "--data-dir", t.dataDir])).code, 0);
    const restored = path.join(scratch, "tampered");
    assert.equal((await runCli(["admin", "restore", "--from", backup, "--data-dir", restored])).code, 0);
    // Through openSqlite: a bare `new Database` loads the addon built for the first Node only.
    const file = openSqlite(path.join(restored, "capstan.db"));
    let edited: string;
    try {
      const record = file
        .prepare(
          "select a.id from audit_events a join orgs o on o.id = a.org_id where o.key = 'default' order by a.chain_seq limit 1",
        )
        .get() as { id: string };
      edited = record.id;
      file.prepare("update audit_events set action = 'member.removed' where id = ?").run(edited);
    } finally {
      file.close();
    }
    const human = await runCli(["admin", "verify", "--data-dir", restored]);
    assert.equal(human.code, 1, human.stdout);
    assert.match(
      human.stdout,
      new RegExp(
        `^error audit_chain: default: the audit chain breaks at record ${edited} \\(position 1\\)`,
        "m",
      ),
    );
    assert.match(human.stderr, /capstan: verify found 1 problem\(s\)/);
  });

  test("refuses a damaged backup, a missing flag, and a data directory without a database", async () => {
    const backup = path.join(scratch, "backup3");
    assert.equal((await runCli(["admin", "backup", "--to", backup, "--data-dir", t.dataDir])).code, 0);
    const manifest = JSON.parse(readFileSync(path.join(backup, "manifest.json"), "utf8"));
    rmSync(path.join(backup, manifest.files[1].path));
    const refused = await runCli([
      "admin",
      "restore",
      "--from",
      backup,
      "--data-dir",
      path.join(scratch, "never"),
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the backup in .* is damaged: 1 file\(s\) do not match its manifest/);
    assert.equal(existsSync(path.join(scratch, "never")), false);

    assert.equal((await runCli(["admin", "backup", "--data-dir", t.dataDir])).code, 2);
    const empty = await runCli(["admin", "verify", "--data-dir", path.join(scratch, "nothing-here")]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /there is no database at/);
    assert.equal(existsSync(path.join(scratch, "nothing-here")), false);
  });
});
