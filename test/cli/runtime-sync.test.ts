// `capstan runtime sync` against the real app listening on a port (signed download URLs need one),
// with the CLI run in-process. Each test uses its own runtime and sync directory.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ApiClient, NetworkError } from "../../src/cli/api-client.js";
import { userAgent } from "../../src/cli/cli-version.js";
import { type SyncReport, watchRuntime } from "../../src/cli/sync/runtime-sync.js";
import { newOrg } from "../helpers/factories.js";
import type { TestApp } from "../helpers/test-app.js";
import { type CliRun, type FakeIoOptions, runCli } from "./helpers/cli-harness.js";
import { type LiveApp, startLiveApp, writeCapability } from "./helpers/live-app.js";

/** Every file below `dir` with its content: what "left as it was" is checked against. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      const full = path.join(entry.parentPath, entry.name);
      files[path.relative(dir, full)] = await readFile(full, "utf8");
    }
  }
  return files;
}

describe("capstan runtime sync", () => {
  let live: LiveApp;
  let t: TestApp;
  let scratch: string;
  let env: Record<string, string>;

  const cli = (argv: string[], options: FakeIoOptions = {}): Promise<CliRun> =>
    runCli(argv, { cwd: scratch, ...options, env: { ...env, ...options.env } });

  /** Runs a command that must succeed; returns its parsed --json output. */
  async function ok<T = Record<string, unknown>>(...argv: string[]): Promise<T> {
    const run = await cli([...argv, "--json"]);
    assert.equal(run.code, 0, `capstan ${argv.join(" ")}: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  }

  /** A fresh runtime with `name@version` published and installed. */
  async function runtimeWith(name: string, version = "1.0.0"): Promise<{ runtime: string; id: string }> {
    await ok("capability", "push", await writeCapability(scratch, name, version));
    const runtime = `rt-${randomUUID().slice(0, 8)}`;
    const created = await ok<{ id: string }>("runtime", "create", runtime);
    await ok("runtime", "install", runtime, `${name}@${version}`);
    return { runtime, id: created.id };
  }

  async function sync(
    runtime: string,
    dir: string,
    extraEnv: Record<string, string> = {},
  ): Promise<SyncReport> {
    const run = await cli(["runtime", "sync", runtime, "--dir", dir, "--json"], { env: extraEnv });
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as SyncReport;
  }

  before(async () => {
    live = await startLiveApp();
    ({ t, scratch, env } = live);
  });
  after(() => live.close());

  test("unpacks each enabled capability and writes capabilities.env and resolved.json", async () => {
    const { runtime, id } = await runtimeWith("alpha");
    await ok("runtime", "flag", runtime, "alpha", "verbose=true");
    const dir = path.join(scratch, "out-basic");
    const report = await sync(runtime, dir);
    assert.equal(report.status, "updated");
    assert.deepEqual(report.downloaded, [{ name: "alpha", version: "1.0.0" }]);
    assert.equal(
      await readFile(path.join(dir, "alpha", "agents", "helper.md"), "utf8"),
      "---\nname: helper\n---\nalpha 1.0.0\n",
    );
    assert.equal(
      await readFile(path.join(dir, "capabilities.env"), "utf8"),
      "CAPABILITY_FLAG__ALPHA__READ_ONLY=1\nCAPABILITY_FLAG__ALPHA__VERBOSE=1\n",
    );
    const state = JSON.parse(await readFile(path.join(dir, "resolved.json"), "utf8"));
    assert.equal(state.runtime_id, id);
    assert.equal(state.etag, `"${report.runtime_digest}"`);
    assert.deepEqual(
      state.capabilities.map((item: { name: string; directory: string }) => [item.name, item.directory]),
      [["alpha", "alpha"]],
    );
    assert.deepEqual((await readdir(dir)).sort(), ["alpha", "capabilities.env", "mcp.json", "resolved.json"]);
  });

  test("a second sync is answered 304 and downloads nothing", async () => {
    const { runtime } = await runtimeWith("bravo");
    const dir = path.join(scratch, "out-again");
    await sync(runtime, dir);
    const again = await sync(runtime, dir);
    assert.equal(again.status, "unchanged");
    assert.deepEqual(again.downloaded, []);
    assert.deepEqual(again.kept, [{ name: "bravo", version: "1.0.0" }]);
  });

  test("a flag change rewrites capabilities.env without downloading the bundle", async () => {
    const { runtime } = await runtimeWith("charlie");
    const dir = path.join(scratch, "out-flags");
    await sync(runtime, dir);
    await ok("runtime", "flag", runtime, "charlie", "read-only=false");
    const report = await sync(runtime, dir);
    assert.equal(report.status, "updated");
    assert.deepEqual(report.downloaded, []);
    assert.match(await readFile(path.join(dir, "capabilities.env"), "utf8"), /CHARLIE__READ_ONLY=0/);
  });

  test("disabling a capability removes its directory; enabling brings it back", async () => {
    const { runtime } = await runtimeWith("delta");
    const dir = path.join(scratch, "out-disable");
    await sync(runtime, dir);
    await ok("runtime", "disable", runtime, "delta");
    const disabled = await sync(runtime, dir);
    assert.deepEqual(disabled.removed, ["delta"]);
    assert.deepEqual((await readdir(dir)).sort(), ["capabilities.env", "mcp.json", "resolved.json"]);
    assert.equal(await readFile(path.join(dir, "capabilities.env"), "utf8"), "");
    await ok("runtime", "enable", runtime, "delta");
    assert.deepEqual((await sync(runtime, dir)).downloaded, [{ name: "delta", version: "1.0.0" }]);
  });

  test("an upgrade replaces the directory's content, old files included", async () => {
    const { runtime } = await runtimeWith("echo");
    const dir = path.join(scratch, "out-upgrade");
    await sync(runtime, dir);
    await ok(
      "capability",
      "push",
      await writeCapability(scratch, "echo", "1.1.0", { "tools/new.yaml": "name: shout\n" }),
    );
    await ok("runtime", "upgrade", runtime, "echo", "--yes");
    const report = await sync(runtime, dir);
    assert.deepEqual(report.downloaded, [{ name: "echo", version: "1.1.0" }]);
    assert.equal(
      await readFile(path.join(dir, "echo", "agents", "helper.md"), "utf8"),
      "---\nname: helper\n---\necho 1.1.0\n",
    );
    assert.equal(await readFile(path.join(dir, "echo", "tools", "new.yaml"), "utf8"), "name: shout\n");
    assert.ok(!(await readdir(dir)).some((entry) => entry.startsWith(".capstan-sync")));
  });

  test("a bundle whose digest does not match aborts the sync and leaves the directory as it was", async () => {
    const { runtime } = await runtimeWith("foxtrot");
    const dir = path.join(scratch, "out-tampered");
    await sync(runtime, dir);
    const before = await snapshot(dir);
    const pushed = await ok<{ artifact_sha256: string }>(
      "capability",
      "push",
      await writeCapability(scratch, "foxtrot", "2.0.0"),
    );
    await ok("runtime", "upgrade", runtime, "foxtrot", "--yes");
    const sha = pushed.artifact_sha256;
    const blob = path.join(t.dataDir, "blobs", sha.slice(0, 2), sha.slice(2, 4), sha);
    const original = await readFile(blob);
    await writeFile(blob, Buffer.from(original.map((byte) => byte ^ 0xff)));

    const run = await cli(["runtime", "sync", runtime, "--dir", dir]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /digest mismatch/);
    assert.deepEqual(await snapshot(dir), before);
    assert.deepEqual((await readdir(dir)).sort(), [
      "capabilities.env",
      "foxtrot",
      "mcp.json",
      "resolved.json",
    ]);
  });

  test("another org's public capability lands in owner__name, its flags under OWNER__NAME", async () => {
    const owner = `acme-${randomUUID().slice(0, 6)}`;
    await newOrg(t, owner);
    const pushed = await cli(
      ["capability", "push", await writeCapability(scratch, "shared-tool", "1.0.0"), "--public"],
      {
        env: { CAPSTAN_ORG: owner },
      },
    );
    assert.equal(pushed.code, 0, pushed.stderr);
    const runtime = `rt-${randomUUID().slice(0, 8)}`;
    await ok("runtime", "create", runtime);
    await ok("runtime", "install", runtime, `${owner}/shared-tool`);
    const dir = path.join(scratch, "out-public");
    const report = await sync(runtime, dir);
    assert.deepEqual(report.downloaded, [{ name: `${owner}/shared-tool`, version: "1.0.0" }]);
    assert.ok((await stat(path.join(dir, `${owner}__shared-tool`, "capability.yaml"))).isFile());
    const prefix = `CAPABILITY_FLAG__${owner.toUpperCase().replaceAll("-", "_")}__SHARED_TOOL`;
    assert.equal(
      await readFile(path.join(dir, "capabilities.env"), "utf8"),
      `${prefix}__READ_ONLY=1\n${prefix}__VERBOSE=0\n`,
    );
  });

  test("a capability directory removed by hand is fetched again", async () => {
    const { runtime } = await runtimeWith("golf");
    const dir = path.join(scratch, "out-removed");
    await sync(runtime, dir);
    await rm(path.join(dir, "golf"), { recursive: true });
    const report = await sync(runtime, dir);
    assert.deepEqual(report.downloaded, [{ name: "golf", version: "1.0.0" }]);
    assert.ok((await stat(path.join(dir, "golf", "capability.yaml"))).isFile());
  });

  test("works with a runtime token and the runtime's id", async () => {
    const { runtime, id } = await runtimeWith("hotel");
    const minted = await ok<{ token: string }>("runtime", "token", runtime);
    const dir = path.join(scratch, "out-token");
    const report = await sync(id, dir, { CAPSTAN_TOKEN: minted.token });
    assert.deepEqual(report.downloaded, [{ name: "hotel", version: "1.0.0" }]);
  });

  test("a runtime token cannot name its runtime by key, and says to use the id", async () => {
    const { runtime } = await runtimeWith("india");
    const minted = await ok<{ token: string }>("runtime", "token", runtime);
    const run = await cli(["runtime", "sync", runtime, "--dir", path.join(scratch, "out-key")], {
      env: { CAPSTAN_TOKEN: minted.token },
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /pass the runtime's id/);
  });

  test("refuses a directory another sync is working in", async () => {
    const { runtime } = await runtimeWith("juliet");
    const dir = path.join(scratch, "out-locked");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, ".capstan-sync.lock"), String(process.pid));
    const run = await cli(["runtime", "sync", runtime, "--dir", dir]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /another capstan sync \(pid \d+\) is working in/);
  });

  test("refuses a directory synced for another runtime", async () => {
    const first = await runtimeWith("kilo");
    const second = await runtimeWith("lima");
    const dir = path.join(scratch, "out-other-runtime");
    await sync(first.runtime, dir);
    const run = await cli(["runtime", "sync", second.runtime, "--dir", dir]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /holds the capabilities of runtime/);
  });

  test("--watch syncs, then stops cleanly on a stop signal", async () => {
    const { runtime } = await runtimeWith("mike");
    const dir = path.join(scratch, "out-watch");
    const run = await cli(["runtime", "sync", runtime, "--dir", dir, "--watch", "--json"], {
      onStdout: (_text, fake) => fake.sendStopSignal(),
    });
    assert.equal(run.code, 0, run.stderr);
    const first = JSON.parse(run.stdout.split("\n")[0]);
    assert.deepEqual(first.downloaded, [{ name: "mike", version: "1.0.0" }]);
    assert.ok((await stat(path.join(dir, "mike", "capability.yaml"))).isFile());
  });

  test("a watch keeps going after a failed pass", async () => {
    const { id } = await runtimeWith("november");
    const api = new ApiClient({ baseUrl: env.CAPSTAN_URL, token: t.adminKey, userAgent: userAgent() });
    const stop = new AbortController();
    const failures: unknown[] = [];
    const reports: SyncReport[] = [];
    let attempts = 0;
    await watchRuntime({
      intervalMs: 60_000,
      signal: stop.signal,
      target: async () => {
        attempts += 1;
        if (attempts === 1) throw new NetworkError("cannot reach the server: ECONNREFUSED");
        return { api, runtimeId: id, runtimePath: `/org/default/ws/main/runtimes/${id}` };
      },
      sync: { dir: path.join(scratch, "out-retry"), maxBundleBytes: 50 * 1024 * 1024 },
      onReport: (report) => {
        reports.push(report);
        stop.abort();
      },
      onFailure: (error) => failures.push(error),
    });
    assert.equal(failures.length, 1);
    assert.deepEqual(reports[0].downloaded, [{ name: "november", version: "1.0.0" }]);
  });
});
