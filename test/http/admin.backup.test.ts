// Backups and restore (issue #24): a backup taken while publishes and binding writes keep coming
// restores to exactly the state of its snapshot; damaged backups and non-empty targets are refused;
// scale mode (PostgreSQL) refuses and names the pg_dump procedure.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { captureApiAnswers } from "../../scripts/api-answers.js";
import { loadConfig } from "../../src/config.js";
import {
  type BackupManifest,
  createBackup,
  MAX_SERVER_BACKUPS,
  restoreBackup,
} from "../../src/services/backup-service.js";
import { verifyIntegrity } from "../../src/services/integrity-service.js";
import { callApi, expectError } from "../helpers/api.js";
import { bind, bindingUrl, newRuntime, type ResolvedSet, readResolved } from "../helpers/bindings.js";
import { capabilityBundle, publishBundle, publishOk } from "../helpers/capability-bundles.js";
import { testDialect } from "../helpers/database.js";
import { buildTestApp, openTestAppOn, TEST_SECRETS_KEY, type TestApp } from "../helpers/test-app.js";

const KEY_ENV = { CAPSTAN_SECRETS_KEY: TEST_SECRETS_KEY };
/** At most this many writes; the burst stops once AFTER_BACKUP of them began after the backup. */
const BURST_OPS = 600;
const BACKUP_AT = 80;
const AFTER_BACKUP = 30;
const WRITERS = 6;
const CAPABILITIES = 4;
const RUNTIMES = 4;

function scratch(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `capstan-${prefix}-`));
}

function restoreConfig(dataDir: string, env: Record<string, string> = KEY_ENV) {
  return loadConfig({}, { CAPSTAN_DATA_DIR: dataDir, ...env });
}

async function answersOf(t: TestApp) {
  return captureApiAnswers(async (url) => {
    const res = await callApi(t, "GET", url, t.adminKey);
    return {
      status: res.statusCode,
      body: String(res.headers["content-type"]).includes("json") ? res.json() : res.body,
    };
  });
}

/** A resolved set without its download URLs' signatures, which expire counting from the request. */
function unsigned(resolved: ResolvedSet): ResolvedSet {
  return {
    ...resolved,
    capabilities: resolved.capabilities.map((item) => ({
      ...item,
      download_url: item.download_url.replace(/\?.*$/, ""),
    })),
  };
}

async function rejection(work: Promise<unknown>): Promise<{ type: string; detail: string }> {
  try {
    await work;
  } catch (error) {
    return error as { type: string; detail: string };
  }
  assert.fail("expected a refusal");
}

if (testDialect() === "postgres") {
  describe("backups in scale mode (PostgreSQL)", () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp();
    });
    after(() => t.close());

    test("the API route refuses and names the pg_dump procedure", async () => {
      const res = await callApi(t, "POST", "/api/v1/admin/backups", t.adminKey);
      expectError(res, 409, "conflict_error");
      assert.match(res.json().detail, /pg_dump/);
    });

    test("backup and restore refuse too, before writing anything", async () => {
      const target = path.join(scratch("pg-backup"), "out");
      const refused = await rejection(createBackup(t.deps, target));
      assert.match(refused.detail, /pg_dump/);
      assert.equal(existsSync(target), false);
      const restored = await rejection(restoreBackup(t.config, target));
      assert.match(restored.detail, /pg_restore/);
    });
  });
} else {
  describe("backup during a burst of writes, then restore", () => {
    let t: TestApp;
    const work: string[] = [];
    before(async () => {
      t = await buildTestApp({ env: KEY_ENV });
    });
    after(async () => {
      await t.close();
      for (const dir of work) rmSync(dir, { recursive: true, force: true });
    });

    test("the restored instance answers exactly as its snapshot, holding every write acknowledged before the backup and none begun after it", async () => {
      // A runtime nothing touches during the burst: its resolved set must come back identical.
      await publishOk(t, { name: "steady", version: "1.0.0" });
      const quiet = await newRuntime(t, "quiet");
      await bind(t, quiet, { name: "steady", version: "1.0.0" });
      const put = await callApi(t, "PUT", "/api/v1/org/default/ws/main/secrets/API_TOKEN", t.adminKey, {
        value: "s3cret",
      });
      assert.equal(put.statusCode, 201, put.body);
      const quietBefore = await readResolved(t, quiet);

      const runtimes: string[] = [];
      const bindings: string[][] = [];
      for (let c = 0; c < CAPABILITIES; c++) await publishOk(t, { name: `cap-${c}`, version: "1.0.0" });
      for (let r = 0; r < RUNTIMES; r++) {
        runtimes.push(await newRuntime(t, `busy-${r}`));
        bindings.push([]);
        for (let c = 0; c < CAPABILITIES; c++) {
          bindings[r].push((await bind(t, runtimes[r], { name: `cap-${c}`, version: "1.0.0" })).id);
        }
      }

      type Op =
        | { kind: "publish"; name: string; version: string }
        | { kind: "binding"; runtime: number; binding: number; enabled: boolean };
      const ops: Op[] = [];
      // Even: a publish, round the capabilities. Odd: a binding write, round the 16 bindings; the
      // k-th write of a binding flips it (they start enabled), so every one changes its revision.
      for (let i = 0; i < BURST_OPS; i++) {
        const j = i >> 1;
        if (i % 2 === 0) ops.push({ kind: "publish", name: `cap-${j % CAPABILITIES}`, version: `1.1.${i}` });
        else {
          const round = Math.floor(j / (RUNTIMES * CAPABILITIES));
          ops.push({
            kind: "binding",
            runtime: j % RUNTIMES,
            binding: (j >> 2) % CAPABILITIES,
            enabled: round % 2 === 1,
          });
        }
      }
      const outcome = new Map<number, { revision?: number; before: boolean; after: boolean }>();
      let completed = 0;
      let backupStarted = false;
      let backupDone = false;
      let backupName = "";
      let backupCall: Promise<void> | null = null;
      let nextOp = 0;
      let startedAfterBackup = 0;
      const runOp = async (index: number): Promise<void> => {
        const op = ops[index];
        const startedAfter = backupDone;
        if (startedAfter) startedAfterBackup += 1;
        let revision: number | undefined;
        if (op.kind === "publish") {
          const res = await publishBundle(
            t,
            capabilityBundle({ name: op.name, version: op.version, salt: `${index}` }),
          );
          assert.equal(res.statusCode, 201, res.body);
        } else {
          const res = await callApi(
            t,
            "PATCH",
            bindingUrl(runtimes[op.runtime], bindings[op.runtime][op.binding]),
            t.adminKey,
            { enabled: op.enabled },
          );
          assert.equal(res.statusCode, 200, res.body);
          revision = res.json().revision;
        }
        outcome.set(index, { revision, before: false, after: startedAfter });
        completed += 1;
        if (!backupStarted && completed >= BACKUP_AT) {
          backupStarted = true;
          // Every write acknowledged so far must be in the snapshot.
          for (const entry of outcome.values()) entry.before = true;
          backupCall = (async () => {
            const res = await callApi(t, "POST", "/api/v1/admin/backups", t.adminKey);
            assert.equal(res.statusCode, 201, res.body);
            backupName = res.json().name;
            backupDone = true;
          })();
        }
      };
      await Promise.all(
        Array.from({ length: WRITERS }, async () => {
          while (nextOp < ops.length && startedAfterBackup < AFTER_BACKUP) await runOp(nextOp++);
        }),
      );
      await backupCall;
      const inBetween = [...outcome.values()].filter((entry) => !entry.before && !entry.after).length;
      const afterCount = [...outcome.values()].filter((entry) => entry.after).length;
      assert.ok(afterCount > 0, "some writes began after the backup");
      assert.ok(inBetween > 0, "some writes ran while the backup did");

      const backupDir = path.join(t.dataDir, "backups", backupName);
      const manifest = JSON.parse(
        readFileSync(path.join(backupDir, "manifest.json"), "utf8"),
      ) as BackupManifest;
      assert.deepEqual(manifest.secrets_key_ids, ["test"]);
      assert.ok(
        !readFileSync(path.join(backupDir, "manifest.json"), "utf8").includes(TEST_SECRETS_KEY.slice(5)),
      );

      // Restore into a new data directory.
      const restoredDir = path.join(scratch("restored"), "data");
      work.push(path.dirname(restoredDir));
      const restored = await restoreBackup(restoreConfig(restoredDir), backupDir);
      assert.deepEqual(restored.warnings, []);

      // The snapshot's own answers: its database, served with the original's (complete) blob store.
      const oracleDir = scratch("oracle");
      work.push(oracleDir);
      copyFileSync(path.join(backupDir, "capstan.db"), path.join(oracleDir, "capstan.db"));
      const oracle = await openTestAppOn({
        dataDir: oracleDir,
        adminKey: t.adminKey,
        env: { ...KEY_ENV, CAPSTAN_BLOB_STORE: `fs:${path.join(t.dataDir, "blobs")}` },
      });
      const copy = await openTestAppOn({ dataDir: restoredDir, adminKey: t.adminKey, env: KEY_ENV });
      try {
        const expected = await answersOf(oracle);
        const actual = await answersOf(copy);
        assert.ok(Object.keys(expected).length > 40, "the comparison covers the instance");
        assert.deepEqual(actual, expected);

        // The snapshot lies between the writes acknowledged before the backup and those begun after it.
        const bindingRevisions = new Map<string, number>();
        for (const [r, runtime] of runtimes.entries()) {
          const listed = await callApi(
            copy,
            "GET",
            `/api/v1/org/default/ws/main/runtimes/${runtime}/capabilities`,
            t.adminKey,
          );
          for (const item of listed.json().items) bindingRevisions.set(`${r}/${item.id}`, item.revision);
        }
        for (const [index, entry] of outcome) {
          const op = ops[index];
          if (op.kind === "publish") {
            const res = await callApi(
              copy,
              "GET",
              `/api/v1/org/default/capabilities/${op.name}/${op.version}`,
              t.adminKey,
            );
            if (entry.before)
              assert.equal(res.statusCode, 200, `${op.name}@${op.version} acknowledged before the backup`);
            if (entry.after)
              assert.equal(res.statusCode, 404, `${op.name}@${op.version} begun after the backup`);
          } else {
            const held = bindingRevisions.get(`${op.runtime}/${bindings[op.runtime][op.binding]}`) ?? -1;
            if (entry.before)
              assert.ok(held >= (entry.revision ?? 0), `binding write ${index} acknowledged before`);
            if (entry.after) assert.ok(held < (entry.revision ?? 0), `binding write ${index} begun after`);
          }
        }

        // Nothing half-written: every version has its blobs, every binding a live version.
        const report = await verifyIntegrity(copy.deps, new Date());
        assert.deepEqual(report.problems, []);
        assert.ok(report.ok);

        // Each runtime's resolved digest is what it was; every bundle downloads and matches it.
        assert.deepEqual(unsigned(await readResolved(copy, quiet)), unsigned(quietBefore));
        assert.deepEqual(unsigned(await readResolved(t, quiet)), unsigned(quietBefore));
        for (const runtime of [quiet, ...runtimes]) {
          const resolved: ResolvedSet = await readResolved(copy, runtime);
          for (const capability of resolved.capabilities) {
            const url = new URL(capability.download_url);
            const res = await copy.app.inject({ method: "GET", url: `${url.pathname}${url.search}` });
            assert.equal(res.statusCode, 200, res.body);
            const digest = createHash("sha256").update(res.rawPayload).digest("hex");
            assert.equal(
              `sha256:${digest}`.endsWith(capability.artifact_digest.replace(/^sha256:/, "")),
              true,
            );
          }
        }
      } finally {
        await copy.close();
        await oracle.close();
      }
    });
  });

  describe("refusals", () => {
    let t: TestApp;
    let backupDir: string;
    const work: string[] = [];
    before(async () => {
      t = await buildTestApp({ env: KEY_ENV });
      await publishOk(t, { name: "kept", version: "1.0.0" });
      const put = await callApi(t, "PUT", "/api/v1/org/default/ws/main/secrets/KEPT", t.adminKey, {
        value: "v",
      });
      assert.equal(put.statusCode, 201, put.body);
      const parent = scratch("refusals");
      work.push(parent);
      backupDir = path.join(parent, "backup");
      await createBackup(t.deps, backupDir);
    });
    after(async () => {
      await t.close();
      for (const dir of work) rmSync(dir, { recursive: true, force: true });
    });

    function damagedCopy(damage: (dir: string, manifest: BackupManifest) => void): string {
      const dir = path.join(scratch("damaged"), "backup");
      work.push(path.dirname(dir));
      mkdirSync(dir);
      const manifest = JSON.parse(
        readFileSync(path.join(backupDir, "manifest.json"), "utf8"),
      ) as BackupManifest;
      for (const file of ["manifest.json", ...manifest.files.map((entry) => entry.path)]) {
        mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        copyFileSync(path.join(backupDir, file), path.join(dir, file));
      }
      damage(dir, manifest);
      return dir;
    }

    test("a backup whose blob was altered is refused before anything is written", async () => {
      const damaged = damagedCopy((dir, manifest) => {
        const blob = path.join(dir, manifest.files.find((entry) => entry.path.startsWith("blobs/"))!.path);
        const bytes = readFileSync(blob);
        bytes[0] ^= 0xff;
        writeFileSync(blob, bytes);
      });
      const target = path.join(scratch("target"), "data");
      work.push(path.dirname(target));
      const refused = await rejection(restoreBackup(restoreConfig(target), damaged));
      assert.equal(refused.type, "invalid_error");
      assert.match(
        refused.detail,
        /damaged: 1 file\(s\) do not match its manifest .*does not match its sha256.*nothing was restored/,
      );
      assert.equal(existsSync(target), false);
    });

    test("a backup with a truncated database or a missing blob is refused", async () => {
      const truncated = damagedCopy((dir) => {
        const file = path.join(dir, "capstan.db");
        writeFileSync(file, readFileSync(file).subarray(0, 1024));
      });
      const missing = damagedCopy((dir, manifest) => {
        rmSync(path.join(dir, manifest.files[manifest.files.length - 1].path));
      });
      const target = path.join(scratch("target"), "data");
      work.push(path.dirname(target));
      assert.match(
        (await rejection(restoreBackup(restoreConfig(target), truncated))).detail,
        /capstan\.db has 1024 bytes/,
      );
      assert.match((await rejection(restoreBackup(restoreConfig(target), missing))).detail, /is missing/);
      assert.equal(existsSync(target), false);
    });

    test("a blob that is a symbolic link, or filed under another digest's folders, is refused", async () => {
      // The link points at the original blob, so its digest matches: only its kind gives it away.
      const linked = damagedCopy((dir, manifest) => {
        const entry = manifest.files.find((file) => file.path.startsWith("blobs/"))!;
        rmSync(path.join(dir, entry.path));
        symlinkSync(path.join(backupDir, entry.path), path.join(dir, entry.path));
      });
      const misfiled = damagedCopy((dir, manifest) => {
        const entry = manifest.files.find((file) => file.path.startsWith("blobs/"))!;
        const moved = `blobs/00/00/${entry.sha256}`;
        mkdirSync(path.join(dir, "blobs/00/00"), { recursive: true });
        copyFileSync(path.join(dir, entry.path), path.join(dir, moved));
        entry.path = moved;
        writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest));
      });
      const target = path.join(scratch("target"), "data");
      work.push(path.dirname(target));
      assert.match(
        (await rejection(restoreBackup(restoreConfig(target), linked))).detail,
        /is not a regular file/,
      );
      assert.match(
        (await rejection(restoreBackup(restoreConfig(target), misfiled))).detail,
        /invalid file entry/,
      );
      assert.equal(existsSync(target), false);
    });

    test("a restore into a data directory that is not empty is refused", async () => {
      const target = scratch("nonempty");
      work.push(target);
      writeFileSync(path.join(target, "notes.txt"), "mine");
      const refused = await rejection(restoreBackup(restoreConfig(target), backupDir));
      assert.equal(refused.type, "conflict_error");
      assert.match(refused.detail, /not empty \(notes\.txt\)/);
      // The running instance's own data directory, above all.
      assert.match((await rejection(restoreBackup(t.config, backupDir))).detail, /not empty/);
    });

    test("a backup into a directory that is not empty is refused", async () => {
      const target = scratch("occupied");
      work.push(target);
      writeFileSync(path.join(target, "keep.txt"), "mine");
      assert.match((await rejection(createBackup(t.deps, target))).detail, /not empty/);
      assert.equal(readFileSync(path.join(target, "keep.txt"), "utf8"), "mine");
    });

    test("a restore names the secrets key it needs when none is configured or the one given is not it", async () => {
      const bare = path.join(scratch("nokey"), "data");
      work.push(path.dirname(bare));
      const withoutKey = await restoreBackup(restoreConfig(bare, {}), backupDir);
      assert.equal(withoutKey.warnings.length, 1);
      assert.match(withoutKey.warnings[0], /secrets master key\(s\) 'test'.*CAPSTAN_SECRETS_KEY/);

      const other = path.join(scratch("wrongkey"), "data");
      work.push(path.dirname(other));
      const wrongKey = `test:${Buffer.alloc(32, 9).toString("base64")}`;
      const withWrongKey = await restoreBackup(
        restoreConfig(other, { CAPSTAN_SECRETS_KEY: wrongKey }),
        backupDir,
      );
      assert.equal(withWrongKey.warnings.length, 1);
      assert.match(withWrongKey.warnings[0], /'test' .* is not the key of that id/);
    });

    test("the server chooses where its backups go: a path in the request is not used", async () => {
      const elsewhere = path.join(scratch("elsewhere"), "backup");
      work.push(path.dirname(elsewhere));
      const made = await callApi(t, "POST", "/api/v1/admin/backups", t.adminKey, { to: elsewhere });
      assert.equal(made.statusCode, 201, made.body);
      assert.match(made.json().name, /^capstan-backup-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
      assert.ok(existsSync(path.join(t.dataDir, "backups", made.json().name, "manifest.json")));
      assert.equal(existsSync(elsewhere), false);
    });

    test("the API route writes one backup at a time, and refuses once MAX_SERVER_BACKUPS of its own are kept", async () => {
      const backups = path.join(t.dataDir, "backups");
      const kept = () => readdirSync(backups).filter((name) => name.startsWith("capstan-backup-"));
      // Two calls at once: one writes, the other is told to ask again.
      const both = await Promise.all(
        [0, 1].map(() => callApi(t, "POST", "/api/v1/admin/backups", t.adminKey)),
      );
      const statuses = both.map((res) => res.statusCode).sort();
      assert.deepEqual(statuses, [201, 409], both.map((res) => res.body).join("\n"));
      const busy = both.find((res) => res.statusCode === 409)!;
      expectError(busy, 409, "conflict_error");
      assert.match(busy.json().detail, /being written already/);

      // Fill up to the cap with copies of a real one (the count is what the route reads).
      const existing = kept();
      for (let i = existing.length; i < MAX_SERVER_BACKUPS; i++) {
        cpSync(path.join(backups, existing[0]), path.join(backups, `capstan-backup-filler-${i}`), {
          recursive: true,
        });
      }
      const before = kept().length;
      const refused = await callApi(t, "POST", "/api/v1/admin/backups", t.adminKey);
      expectError(refused, 409, "conflict_error");
      assert.match(
        refused.json().detail,
        new RegExp(`holds ${MAX_SERVER_BACKUPS} backups .*move or delete old ones`),
      );
      assert.equal(kept().length, before, "nothing was written");

      // One removed by the operator: the route writes again.
      rmSync(path.join(backups, `capstan-backup-filler-${MAX_SERVER_BACKUPS - 1}`), { recursive: true });
      const again = await callApi(t, "POST", "/api/v1/admin/backups", t.adminKey);
      assert.equal(again.statusCode, 201, again.body);
    });
  });
}
