// The registry, runtime and binding commands against the real app, the CLI run in-process.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { sha256Hex } from "../../src/domain/digests.js";
import { type CliRun, type FakeIoOptions, runCli } from "./helpers/cli-harness.js";
import { type LiveApp, startLiveApp, writeCapability } from "./helpers/live-app.js";

describe("capstan commands against a server", () => {
  let live: LiveApp;

  const cli = (argv: string[], options: FakeIoOptions = {}): Promise<CliRun> =>
    runCli(argv, { cwd: live.scratch, ...options, env: { ...live.env, ...options.env } });

  async function ok<T = Record<string, unknown>>(...argv: string[]): Promise<T> {
    const run = await cli([...argv, "--json"]);
    assert.equal(run.code, 0, `capstan ${argv.join(" ")}: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  }

  const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

  async function publish(name: string, version: string, extra: Record<string, string> = {}) {
    return ok<{ id: string; artifact_sha256: string }>(
      "capability",
      "push",
      await writeCapability(live.scratch, name, version, extra),
    );
  }

  async function bindingOf(runtime: string, name: string) {
    const { items } = await ok<{
      items: { capability_name: string; version: string; enabled: boolean; flags: object }[];
    }>("runtime", "caps", runtime);
    return items.find((item) => item.capability_name === name);
  }

  before(async () => {
    live = await startLiveApp();
  });
  after(() => live.close());

  describe("login", () => {
    test("saves the checked profile with the org's default workspace", async () => {
      const configFile = path.join(live.scratch, "login", "config.json");
      const run = await runCli(
        ["login", "--url", `${live.url}/`, "--token", live.t.adminKey, "--profile", "ci"],
        {
          env: { CAPSTAN_CONFIG: configFile },
        },
      );
      assert.equal(run.code, 0, run.stderr);
      const saved = JSON.parse(await readFile(configFile, "utf8"));
      assert.equal(saved.current_profile, "ci");
      assert.deepEqual(saved.profiles.ci, {
        url: live.url,
        token: live.t.adminKey,
        org: "default",
        workspace: "main",
      });
      assert.equal((await stat(configFile)).mode & 0o777, 0o600);
    });

    test("refuses an org the key cannot see, and saves nothing", async () => {
      const configFile = path.join(live.scratch, "login-org", "config.json");
      const run = await runCli(["login", "--url", live.url, "--token", live.t.adminKey, "--org", "nowhere"], {
        env: { CAPSTAN_CONFIG: configFile },
      });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^not_found_error: /);
      await assert.rejects(stat(configFile), { code: "ENOENT" });
    });

    test("a URL that is not http(s) is a usage error", async () => {
      const run = await runCli(["login", "--url", "ftp://x", "--token", live.t.adminKey]);
      assert.equal(run.code, 2);
    });
  });

  describe("registry", () => {
    test("list, info and versions show what was published", async () => {
      const name = unique("reg");
      await publish(name, "1.0.0");
      await publish(name, "1.1.0");
      const list = await ok<{ items: { name: string; version: string }[] }>(
        "capability",
        "list",
        "--search",
        name,
      );
      assert.deepEqual(
        list.items.map((item) => [item.name, item.version]),
        [[name, "1.1.0"]],
      );
      const table = await cli(["capability", "list", "--search", name]);
      assert.match(table.stdout, new RegExp(`^${name}\\s+1\\.1\\.0\\s+active\\s+private\\s+1 agent`, "m"));
      const info = await ok<{ version: string; flags: object }>("capability", "info", `${name}@1.0.0`);
      assert.equal(info.version, "1.0.0");
      assert.deepEqual(Object.keys(info.flags).sort(), ["read-only", "verbose"]);
      const versions = await cli(["capability", "versions", name]);
      assert.match(versions.stdout, /^1\.1\.0 \(latest\)\s+active/m);
      assert.match(versions.stdout, /^1\.0\.0\s+active/m);
    });

    test("deprecate needs a message, and shows it; --undo reactivates", async () => {
      const name = unique("dep");
      await publish(name, "1.0.0");
      assert.equal((await cli(["capability", "deprecate", `${name}@1.0.0`])).code, 2);
      await ok("capability", "deprecate", `${name}@1.0.0`, "-m", "use something else");
      const info = await cli(["capability", "info", `${name}@1.0.0`]);
      assert.match(info.stdout, /status:\s+deprecated: use something else/);
      await ok("capability", "deprecate", `${name}@1.0.0`, "--undo");
      assert.equal((await ok<{ status: string }>("capability", "info", `${name}@1.0.0`)).status, "active");
    });

    test("a yanked version cannot be installed", async () => {
      const name = unique("yank");
      await publish(name, "1.0.0");
      await ok("capability", "yank", `${name}@1.0.0`);
      await ok("runtime", "create", "yank-rt");
      const run = await cli(["runtime", "install", "yank-rt", `${name}@1.0.0`]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^conflict_error: /);
    });

    test("delete needs an exact version and removes it", async () => {
      const name = unique("del");
      await publish(name, "1.0.0");
      await publish(name, "2.0.0");
      assert.equal((await cli(["capability", "delete", name, "--yes"])).code, 2);
      const unconfirmed = await cli(["capability", "delete", `${name}@1.0.0`]);
      assert.equal(unconfirmed.code, 2);
      assert.match(unconfirmed.stderr, /not deleting .* without confirmation\nRe-run with --yes/);
      await ok("capability", "delete", `${name}@1.0.0`, "--yes");
      const versions = await ok<{ items: { version: string }[] }>("capability", "versions", name);
      assert.deepEqual(
        versions.items.map((item) => item.version),
        ["2.0.0"],
      );
    });

    test("visibility switches a capability public and back", async () => {
      const name = unique("vis");
      await publish(name, "1.0.0");
      assert.equal(
        (await ok<{ is_public: boolean }>("capability", "visibility", name, "--public")).is_public,
        true,
      );
      assert.equal(
        (await ok<{ is_public: boolean }>("capability", "visibility", name, "--private")).is_public,
        false,
      );
    });

    test("download saves the bundle, verified against its digest", async () => {
      const name = unique("dl");
      const pushed = await publish(name, "1.0.0");
      const saved = await ok<{ file: string; version: string }>("capability", "download", name);
      assert.equal(saved.version, "1.0.0");
      assert.equal(path.basename(saved.file), `${name}-1.0.0.tar.gz`);
      assert.equal(sha256Hex(await readFile(saved.file)), pushed.artifact_sha256);
    });

    test("an unknown capability exits 1 with the server's error", async () => {
      const run = await cli(["capability", "info", "no-such-capability"]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^not_found_error: /);
    });
  });

  describe("runtimes and bindings", () => {
    test("create, list, show and delete a runtime by key", async () => {
      const key = unique("rt");
      const created = await ok<{ id: string; key: string }>("runtime", "create", key, "--name", "CI runner");
      const again = await cli(["runtime", "create", key]);
      assert.match(again.stdout, /already exists/);
      const list = await cli(["runtime", "list"]);
      assert.match(list.stdout, new RegExp(`^${key}\\s+CI runner\\s+${created.id}\\s+0\\s+idle`, "m"));
      assert.equal((await ok<{ id: string }>("runtime", "show", key)).id, created.id);
      assert.equal((await ok<{ id: string }>("runtime", "show", created.id.toUpperCase())).id, created.id);
      assert.equal((await cli(["runtime", "delete", key])).code, 2, "no --yes, no terminal: refused");
      assert.equal((await ok<{ id: string }>("runtime", "show", key)).id, created.id);
      await ok("runtime", "delete", key, "--yes");
      assert.equal((await cli(["runtime", "show", key])).code, 1);
    });

    test("install with --disabled and --flag, then flag … default drops the override", async () => {
      const name = unique("bind");
      const runtime = unique("rt");
      await publish(name, "1.0.0");
      await ok("runtime", "create", runtime);
      const installed = await ok<{ enabled: boolean; flags: object }>(
        "runtime",
        "install",
        runtime,
        name,
        "--disabled",
        "--flag",
        "verbose=true",
      );
      assert.equal(installed.enabled, false);
      assert.deepEqual(installed.flags, { verbose: true });
      await ok("runtime", "flag", runtime, name, "verbose=default", "read-only=false");
      assert.deepEqual((await bindingOf(runtime, name))?.flags, { "read-only": false });
      const unknown = await cli(["runtime", "flag", runtime, name, "nope=true"]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /^invalid_flag_error: .*\n {2}body\.flags\.nope: /);
      assert.equal((await cli(["runtime", "remove", runtime, name])).code, 2);
      assert.notEqual(await bindingOf(runtime, name), undefined);
      await ok("runtime", "remove", runtime, name, "--yes");
      assert.equal(await bindingOf(runtime, name), undefined);
    });

    test("upgrade asks on a terminal: yes applies, anything else changes nothing", async () => {
      const name = unique("up");
      const runtime = unique("rt");
      await publish(name, "1.0.0");
      await ok("runtime", "create", runtime);
      await ok("runtime", "install", runtime, name);
      await publish(name, "2.0.0", { "tools/more.yaml": "name: more\n" });
      const terminal = { stdinTty: true, stderrTty: true };

      const declined = await cli(["runtime", "upgrade", runtime, name], { ...terminal, input: "n\n" });
      assert.equal(declined.code, 1);
      assert.match(declined.stdout, /1\.0\.0 → 2\.0\.0 \(major\)/);
      assert.match(declined.stderr, /Move to 2\.0\.0\? \[y\/N\]/);
      assert.equal((await bindingOf(runtime, name))?.version, "1.0.0");

      const accepted = await cli(["runtime", "upgrade", runtime, name], { ...terminal, input: "y\n" });
      assert.equal(accepted.code, 0, accepted.stderr);
      assert.equal((await bindingOf(runtime, name))?.version, "2.0.0");

      const current = await cli(["runtime", "upgrade", runtime, name, "--yes"]);
      assert.match(current.stdout, /already at 2\.0\.0/);
      await ok("runtime", "upgrade", runtime, name, "--to", "1.0.0", "--yes");
      assert.equal((await bindingOf(runtime, name))?.version, "1.0.0");
    });

    test("apply shows the plan, --dry-run changes nothing, and a second apply has nothing to do", async () => {
      const first = unique("ap");
      const second = unique("ap");
      const runtime = unique("rt");
      await publish(first, "1.0.0");
      await publish(second, "1.0.0");
      await ok("runtime", "create", runtime);
      await ok("runtime", "install", runtime, first);
      const file = path.join(live.scratch, `${runtime}.yaml`);
      await writeFile(file, `capabilities:\n  - name: ${second}\n    enabled: false\n`);

      const dry = await cli(["runtime", "apply", runtime, "-f", file, "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`\\+ ${second}@1\\.0\\.0 \\(disabled\\)`));
      assert.match(dry.stdout, new RegExp(`- ${first}@1\\.0\\.0`));
      assert.ok(await bindingOf(runtime, first));

      const applied = await cli(["runtime", "apply", runtime, "-f", file]);
      assert.equal(applied.code, 0, applied.stderr);
      assert.equal(await bindingOf(runtime, first), undefined);
      assert.equal((await bindingOf(runtime, second))?.enabled, false);

      const again = await cli(["runtime", "apply", runtime, "-f", file]);
      assert.match(again.stdout, /already matches/);
    });

    test("apply round-trips tags and auto_update: plan, apply, nothing left to do, then the binding follows", async () => {
      const name = unique("au");
      const runtime = unique("rt");
      await publish(name, "1.0.0");
      await publish(name, "1.1.0");
      await ok("capability", "tag", `${name}@1.0.0`, "stable");
      await ok("runtime", "create", runtime);
      const file = path.join(live.scratch, `${runtime}-auto.yaml`);
      await writeFile(file, `capabilities:\n  - name: ${name}\n    version: stable\n    auto_update: true\n`);
      const tracking = async () => {
        const item = (await bindingOf(runtime, name)) as
          | { version: string; track: string | null; auto_update: boolean }
          | undefined;
        return item && { version: item.version, track: item.track, auto_update: item.auto_update };
      };

      const dry = await cli(["runtime", "apply", runtime, "-f", file, "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`\\+ ${name}@1\\.0\\.0 \\[auto-update: stable\\]`));
      assert.equal(await tracking(), undefined);
      const applied = await cli(["runtime", "apply", runtime, "-f", file]);
      assert.equal(applied.code, 0, applied.stderr);
      assert.deepEqual(await tracking(), { version: "1.0.0", track: "stable", auto_update: true });
      const frozen = await cli(["runtime", "apply", runtime, "-f", file, "--frozen"]);
      assert.equal(frozen.code, 0, frozen.stderr);
      assert.match(frozen.stdout, /already matches/);

      await ok("capability", "tag", `${name}@1.1.0`, "stable");
      assert.deepEqual(await tracking(), { version: "1.1.0", track: "stable", auto_update: true });

      await writeFile(file, `capabilities:\n  - name: ${name}\n    auto_update: false\n`);
      const off = await cli(["runtime", "apply", runtime, "-f", file, "--frozen"]);
      assert.equal(off.code, 1);
      assert.match(
        off.stdout,
        new RegExp(`~ ${name} 1\\.1\\.0 \\(enabled\\) \\[tracks stable, auto-update off\\]`),
      );
      await ok("runtime", "apply", runtime, "-f", file);
      assert.deepEqual(await tracking(), { version: "1.1.0", track: "stable", auto_update: false });

      await writeFile(file, `capabilities:\n  - name: ${name}\n    version: 1.0.0\n    auto_update: true\n`);
      const fixed = await cli(["runtime", "apply", runtime, "-f", file]);
      assert.equal(fixed.code, 1);
      assert.match(fixed.stderr, /capabilities\.0\.auto_update: version 1\.0\.0 is fixed/);
    });

    test("apply refuses an invalid file before any request, with each problem's location", async () => {
      const file = path.join(live.scratch, "bad-apply.yaml");
      await writeFile(file, "capabilities:\n  - name: ok-name\n    enable: true\n");
      const run = await cli(["runtime", "apply", "default", "-f", file]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /capabilities\.0\.enable: unknown key/);
    });

    test("apply plans flag overrides: it lists every one it drops, sets the file's, and --frozen refuses a non-empty plan", async () => {
      const name = unique("fl");
      const runtime = unique("rt");
      await publish(name, "1.0.0");
      // 2.0.0 no longer declares `verbose`.
      await publish(name, "2.0.0", {
        "capability.yaml": `schema: 1\nname: ${name}\nversion: 2.0.0\ndescription: x\nflags:\n  read-only:\n    description: y\n    default: true\n`,
      });
      await ok("runtime", "create", runtime);
      await ok(
        "runtime",
        "install",
        runtime,
        `${name}@1.0.0`,
        "--flag",
        "verbose=true",
        "--flag",
        "read-only=false",
      );
      const file = path.join(live.scratch, `${runtime}-flags.yaml`);

      await writeFile(
        file,
        `capabilities:\n  - name: ${name}\n    version: 1.0.0\n    flags:\n      read-only: true\n`,
      );
      const frozen = await cli(["runtime", "apply", runtime, "-f", file, "--frozen"]);
      assert.equal(frozen.code, 1);
      assert.match(frozen.stdout, new RegExp(`~ ${name} flags: read-only=true`));
      assert.match(
        frozen.stdout,
        new RegExp(`! ${name}: drops override verbose \\(not listed under flags\\)`),
      );
      assert.match(frozen.stderr, /--frozen: .* does not match/);
      assert.deepEqual((await bindingOf(runtime, name))?.flags, { verbose: true, "read-only": false });

      const applied = await ok<{ applied: boolean }>("runtime", "apply", runtime, "-f", file);
      assert.equal(applied.applied, true);
      assert.deepEqual((await bindingOf(runtime, name))?.flags, { "read-only": true });
      const clean = await cli(["runtime", "apply", runtime, "-f", file, "--frozen"]);
      assert.equal(clean.code, 0, clean.stderr);
      assert.match(clean.stdout, /already matches/);

      // Moving to 2.0.0 without a flags list keeps read-only and drops what 2.0.0 does not declare.
      await ok("runtime", "flag", runtime, name, "verbose=true");
      await writeFile(file, `capabilities:\n  - name: ${name}\n    version: 2.0.0\n`);
      const dry = await ok<{
        plan: { dropped_overrides: { name: string; flags: string[]; reason: string }[] };
      }>("runtime", "apply", runtime, "-f", file, "--dry-run");
      assert.deepEqual(dry.plan.dropped_overrides, [
        { name, flags: ["verbose"], reason: "not declared by the new version" },
      ]);

      await writeFile(file, `capabilities:\n  - name: ${name}\n    flags:\n      nope: true\n`);
      const typo = await cli(["runtime", "apply", runtime, "-f", file]);
      assert.equal(typo.code, 1);
      assert.match(typo.stderr, /capabilities\.0\.flags\.nope: .* declares no flag 'nope'/);
      assert.deepEqual((await bindingOf(runtime, name))?.flags, { "read-only": true, verbose: true });
    });

    test("upgrade --json without --yes prints the preview and changes nothing", async () => {
      const name = unique("upj");
      const runtime = unique("rt");
      await publish(name, "1.0.0");
      await ok("runtime", "create", runtime);
      await ok("runtime", "install", runtime, name);
      await publish(name, "1.1.0");
      const preview = await ok<{ upgraded: boolean; preview: { from: string; to: string } }>(
        "runtime",
        "upgrade",
        runtime,
        name,
      );
      assert.deepEqual(
        [preview.upgraded, preview.preview.from, preview.preview.to],
        [false, "1.0.0", "1.1.0"],
      );
      assert.equal((await bindingOf(runtime, name))?.version, "1.0.0");
    });

    test("installing a deprecated version prints its deprecation message", async () => {
      const name = unique("old");
      const runtime = unique("rt");
      await publish(name, "1.0.0");
      await ok("capability", "deprecate", `${name}@1.0.0`, "-m", "use new-thing instead");
      await ok("runtime", "create", runtime);
      const run = await cli(["runtime", "install", runtime, `${name}@1.0.0`]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, new RegExp(`warning: ${name}@1\\.0\\.0 is deprecated: use new-thing instead`));
    });

    test("server hints name the CLI's flags: --force, not ?force=true", async () => {
      const name = unique("bound");
      const runtime = unique("rt");
      await publish(name, "1.0.0");
      await ok("runtime", "create", runtime);
      await ok("runtime", "install", runtime, name);
      const run = await cli(["capability", "delete", `${name}@1.0.0`, "--yes"]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /--force/);
      assert.doesNotMatch(run.stderr, /\?force=true/);
      const json = await cli(["capability", "delete", `${name}@1.0.0`, "--yes", "--json"]);
      assert.match(JSON.parse(json.stdout).detail, /--force/);
    });

    test("binding commands on a capability the runtime does not bind exit 1", async () => {
      const run = await cli(["runtime", "enable", "default", "not-bound-here"]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /runtime 'default' does not bind 'not-bound-here'/);
    });
  });
});

describe("capstan against a server that needs a newer CLI", () => {
  let live: LiveApp;
  before(async () => {
    live = await startLiveApp({ CAPSTAN_MIN_CLIENT_VERSION: "99.0.0" });
  });
  after(() => live.close());

  test("426 names the minimum version and how to upgrade, and exits 1", async () => {
    const run = await runCli(["whoami"], { env: live.env });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^upgrade_required_error: /);
    assert.match(run.stderr, /needs capstan-cli 99\.0\.0 or later/);
  });
});
