// `capstan runtime sync` owns only what it wrote: a directory holding a user's own files (a folder
// named like a bound capability, their own capabilities.env, anything else) is never changed
// without --force, and what the sync created is still replaced and removed as bindings change.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { SyncReport } from "../../src/cli/sync/runtime-sync.js";
import { type CliRun, runCli } from "./helpers/cli-harness.js";
import { type LiveApp, startLiveApp, writeCapability } from "./helpers/live-app.js";

/** Every file below `dir` with its content. */
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

describe("capstan runtime sync owns only what it created", () => {
  let live: LiveApp;
  let scratch: string;

  const cli = (argv: string[]): Promise<CliRun> => runCli(argv, { cwd: scratch, env: live.env });

  async function ok<T = Record<string, unknown>>(...argv: string[]): Promise<T> {
    const run = await cli([...argv, "--json"]);
    assert.equal(run.code, 0, `capstan ${argv.join(" ")}: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  }

  /** A fresh runtime with capability `name` (a fresh name per test) installed. */
  async function runtimeWith(prefix: string): Promise<{ runtime: string; name: string }> {
    const name = `${prefix}-${randomUUID().slice(0, 6)}`;
    await ok("capability", "push", await writeCapability(scratch, name, "1.0.0"));
    const runtime = `rt-${randomUUID().slice(0, 8)}`;
    await ok("runtime", "create", runtime);
    await ok("runtime", "install", runtime, name);
    return { runtime, name };
  }

  async function sync(runtime: string, dir: string, ...extra: string[]): Promise<SyncReport> {
    return ok<SyncReport>("runtime", "sync", runtime, "--dir", dir, ...extra);
  }

  /** A directory as a user had it before ever syncing into it. */
  async function foreignDirectory(name: string, bound: string): Promise<string> {
    const dir = path.join(scratch, name);
    await mkdir(path.join(dir, bound), { recursive: true });
    await writeFile(path.join(dir, bound, "notes.txt"), "my notes\n");
    await writeFile(path.join(dir, "capabilities.env"), "MY_OWN=1\n");
    await mkdir(path.join(dir, "unrelated"), { recursive: true });
    await writeFile(path.join(dir, "unrelated", "keep.txt"), "keep me\n");
    return dir;
  }

  before(async () => {
    live = await startLiveApp();
    scratch = live.scratch;
  });
  after(() => live.close());

  test("refuses a folder named like a bound capability and a foreign capabilities.env, naming both, and changes nothing", async () => {
    const { runtime, name } = await runtimeWith("hello");
    const dir = await foreignDirectory("out-foreign", name);
    const before = await snapshot(dir);

    const run = await cli(["runtime", "sync", runtime, "--dir", dir]);
    assert.equal(run.code, 1, run.stderr);
    assert.ok(run.stderr.includes(path.join(dir, name)), run.stderr);
    assert.ok(run.stderr.includes(path.join(dir, "capabilities.env")), run.stderr);
    assert.ok(!run.stderr.includes("unrelated"), run.stderr);
    assert.match(run.stderr, /--force/);
    assert.match(run.stderr, /another --dir/);
    assert.deepEqual(await snapshot(dir), before);
    assert.deepEqual((await readdir(dir)).sort(), ["capabilities.env", name, "unrelated"].sort());
  });

  test("--force adopts what is in the way; the unrelated folder stays; unbinding removes what the sync now owns", async () => {
    const { runtime, name } = await runtimeWith("adopt");
    const dir = await foreignDirectory("out-adopt", name);

    const report = await sync(runtime, dir, "--force");
    assert.deepEqual(report.downloaded, [{ name, version: "1.0.0" }]);
    assert.deepEqual((await readdir(path.join(dir, name))).sort(), ["agents", "capability.yaml"]);
    assert.doesNotMatch(await readFile(path.join(dir, "capabilities.env"), "utf8"), /MY_OWN/);
    assert.equal(await readFile(path.join(dir, "unrelated", "keep.txt"), "utf8"), "keep me\n");

    await ok("runtime", "disable", runtime, name);
    const removed = await sync(runtime, dir);
    assert.deepEqual(removed.removed, [name]);
    assert.deepEqual((await readdir(dir)).sort(), [
      "capabilities.env",
      "mcp.json",
      "resolved.json",
      "unrelated",
    ]);
    assert.equal(await readFile(path.join(dir, "unrelated", "keep.txt"), "utf8"), "keep me\n");
  });

  test("syncs beside unrelated files without --force, and removes only its own directory when unbound", async () => {
    const { runtime, name } = await runtimeWith("beside");
    const dir = path.join(scratch, "out-beside");
    await mkdir(path.join(dir, "unrelated"), { recursive: true });
    await writeFile(path.join(dir, "unrelated", "keep.txt"), "keep me\n");
    await writeFile(path.join(dir, "README.txt"), "mine\n");

    await sync(runtime, dir);
    await ok("runtime", "disable", runtime, name);
    assert.deepEqual((await sync(runtime, dir)).removed, [name]);
    assert.deepEqual((await readdir(dir)).sort(), [
      "README.txt",
      "capabilities.env",
      "mcp.json",
      "resolved.json",
      "unrelated",
    ]);
    assert.equal(await readFile(path.join(dir, "README.txt"), "utf8"), "mine\n");
  });

  test("a file added to a synced capability directory stops its removal until --force", async () => {
    const { runtime, name } = await runtimeWith("added");
    const dir = path.join(scratch, "out-added");
    await sync(runtime, dir);
    await writeFile(path.join(dir, name, "notes.txt"), "written by hand\n");
    await ok("runtime", "disable", runtime, name);

    const run = await cli(["runtime", "sync", runtime, "--dir", dir]);
    assert.equal(run.code, 1);
    assert.ok(run.stderr.includes(path.join(dir, name, "notes.txt")), run.stderr);
    assert.equal(await readFile(path.join(dir, name, "notes.txt"), "utf8"), "written by hand\n");

    assert.deepEqual((await sync(runtime, dir, "--force")).removed, [name]);
    await assert.rejects(stat(path.join(dir, name)), { code: "ENOENT" });
  });

  test("a resolved.json the sync did not write is refused, then adopted with --force", async () => {
    const { runtime } = await runtimeWith("state");
    const dir = path.join(scratch, "out-state");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "resolved.json"), '{"mine": true}\n');

    const run = await cli(["runtime", "sync", runtime, "--dir", dir]);
    assert.equal(run.code, 1);
    assert.ok(run.stderr.includes(path.join(dir, "resolved.json")), run.stderr);
    assert.equal(await readFile(path.join(dir, "resolved.json"), "utf8"), '{"mine": true}\n');

    await sync(runtime, dir, "--force");
    assert.ok(Array.isArray(JSON.parse(await readFile(path.join(dir, "resolved.json"), "utf8")).owned));
  });

  test("after a sync killed between its renames, the next one finishes the job without calling its own files foreign", async () => {
    const first = await runtimeWith("crash");
    const dir = path.join(scratch, "out-crash");
    await sync(first.runtime, dir);
    const state = JSON.parse(await readFile(path.join(dir, "resolved.json"), "utf8"));
    // What a sync that died after its first state write and its renames leaves: the state claims a
    // directory it had just swapped in (with an empty ETag), its capabilities still the old ones,
    // plus the temporary file of an atomic write and a staging directory.
    const second = `crash-${randomUUID().slice(0, 6)}`;
    await ok("capability", "push", await writeCapability(scratch, second, "1.0.0"));
    await mkdir(path.join(dir, second, "agents"), { recursive: true });
    await writeFile(path.join(dir, second, "agents", "half.md"), "half\n");
    await writeFile(
      path.join(dir, "resolved.json"),
      JSON.stringify({ ...state, etag: "", owned: [...state.owned, second] }),
    );
    await writeFile(path.join(dir, ".resolved.json.0123456789ab.tmp"), "{");
    await mkdir(path.join(dir, ".capstan-sync-leftover"), { recursive: true });

    await ok("runtime", "install", first.runtime, second);
    const report = await sync(first.runtime, dir);
    assert.deepEqual(report.downloaded, [{ name: second, version: "1.0.0" }]);
    assert.deepEqual((await readdir(path.join(dir, second, "agents"))).sort(), ["helper.md"]);
    assert.deepEqual(
      (await readdir(dir)).sort(),
      ["capabilities.env", first.name, "mcp.json", "resolved.json", second].sort(),
    );
  });

  test("an upgrade that adds a file, stopped after its renames, is finished by the next sync without --force", async () => {
    const { runtime, name } = await runtimeWith("grow");
    const dir = path.join(scratch, "out-grow");
    await sync(runtime, dir);
    await ok(
      "capability",
      "push",
      await writeCapability(scratch, name, "1.1.0", { "tools/new.yaml": "name: shout\n" }),
    );
    await ok("runtime", "upgrade", runtime, name, "--yes");
    // A folder where capabilities.env goes passes the ownership check (the sync owns that name) but
    // makes the write after the renames fail: the sync stops where a kill at that point would.
    await rm(path.join(dir, "capabilities.env"));
    await mkdir(path.join(dir, "capabilities.env", "block"), { recursive: true });
    const stopped = await cli(["runtime", "sync", runtime, "--dir", dir]);
    assert.equal(stopped.code, 1, stopped.stderr);
    assert.equal(await readFile(path.join(dir, name, "tools", "new.yaml"), "utf8"), "name: shout\n");
    const interim = JSON.parse(await readFile(path.join(dir, "resolved.json"), "utf8"));
    assert.equal(interim.etag, "");
    assert.ok(interim.capabilities[0].files.includes("tools/new.yaml"), JSON.stringify(interim));

    await rm(path.join(dir, "capabilities.env"), { recursive: true });
    const report = await sync(runtime, dir);
    assert.deepEqual(report.downloaded, [{ name, version: "1.1.0" }]);
    assert.equal(await readFile(path.join(dir, name, "tools", "new.yaml"), "utf8"), "name: shout\n");
    const state = JSON.parse(await readFile(path.join(dir, "resolved.json"), "utf8"));
    assert.notEqual(state.etag, "");
    assert.deepEqual(state.capabilities[0].files, ["agents/helper.md", "capability.yaml", "tools/new.yaml"]);
    assert.deepEqual(
      (await readdir(dir)).sort(),
      ["capabilities.env", "mcp.json", name, "resolved.json"].sort(),
    );
  });

  test("runtime byproducts in a capability directory go with it on upgrade and unbind; a hand-added file still blocks", async () => {
    const { runtime, name } = await runtimeWith("byproduct");
    const dir = path.join(scratch, "out-byproduct");
    const litter = async () => {
      await mkdir(path.join(dir, name, "tools", "__pycache__"), { recursive: true });
      await writeFile(path.join(dir, name, "tools", "__pycache__", "x.cpython-312.pyc"), "bytecode");
      await writeFile(path.join(dir, name, "stray.pyc"), "bytecode");
      await writeFile(path.join(dir, name, ".DS_Store"), "finder");
      await mkdir(path.join(dir, name, "node_modules", "left-pad"), { recursive: true });
      await writeFile(path.join(dir, name, "node_modules", "left-pad", "index.js"), "module.exports = 1;\n");
    };
    await sync(runtime, dir);
    await litter();

    await ok("capability", "push", await writeCapability(scratch, name, "1.1.0"));
    await ok("runtime", "upgrade", runtime, name, "--yes");
    assert.deepEqual((await sync(runtime, dir)).downloaded, [{ name, version: "1.1.0" }]);
    assert.deepEqual((await readdir(path.join(dir, name))).sort(), ["agents", "capability.yaml"]);

    await litter();
    await ok("runtime", "disable", runtime, name);
    assert.deepEqual((await sync(runtime, dir)).removed, [name]);
    await assert.rejects(stat(path.join(dir, name)), { code: "ENOENT" });

    await ok("runtime", "enable", runtime, name);
    await sync(runtime, dir);
    await litter();
    await writeFile(path.join(dir, name, "notes.txt"), "written by hand\n");
    await writeFile(path.join(dir, name, ".env"), "KEY=mine\n");
    await ok("runtime", "disable", runtime, name);
    const run = await cli(["runtime", "sync", runtime, "--dir", dir]);
    assert.equal(run.code, 1, run.stderr);
    assert.ok(run.stderr.includes(path.join(dir, name, "notes.txt")), run.stderr);
    assert.ok(run.stderr.includes(path.join(dir, name, ".env")), run.stderr);
    assert.doesNotMatch(run.stderr, /__pycache__|\.pyc|DS_Store|node_modules/);
    assert.equal(await readFile(path.join(dir, name, "notes.txt"), "utf8"), "written by hand\n");
  });

  test("an interrupted sync's directory that is no longer bound is removed as the sync's own", async () => {
    const { runtime, name } = await runtimeWith("orphan");
    const dir = path.join(scratch, "out-orphan");
    await sync(runtime, dir);
    const state = JSON.parse(await readFile(path.join(dir, "resolved.json"), "utf8"));
    await mkdir(path.join(dir, "orphan-leftover"), { recursive: true });
    await writeFile(path.join(dir, "orphan-leftover", "capability.yaml"), "name: orphan-leftover\n");
    await writeFile(
      path.join(dir, "resolved.json"),
      JSON.stringify({ ...state, etag: "", owned: [...state.owned, "orphan-leftover"] }),
    );
    await sync(runtime, dir);
    assert.deepEqual(
      (await readdir(dir)).sort(),
      ["capabilities.env", "mcp.json", name, "resolved.json"].sort(),
    );
  });
});
