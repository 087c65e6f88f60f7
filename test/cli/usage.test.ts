import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { capabilityGroup } from "../../src/cli/commands/capability.js";
import { runtimeGroup } from "../../src/cli/commands/runtime.js";
import { runCli } from "./helpers/cli-harness.js";

// No server is needed: every case fails (or helps) before any request is made.
const OFFLINE_ENV = { CAPSTAN_CONFIG: "/nonexistent/capstan/config.json" };

describe("capstan usage", () => {
  let scratch: string;
  let env: Record<string, string>;
  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "capstan-usage-"));
    env = { CAPSTAN_CONFIG: path.join(scratch, "config.json") };
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  test("--help lists every command and exits 0", async () => {
    const run = await runCli(["--help"], { env: OFFLINE_ENV });
    assert.equal(run.code, 0);
    for (const words of [
      "serve",
      "login",
      "whoami",
      "capability push DIR",
      "runtime sync RT",
      "runtime apply RT",
    ]) {
      assert.ok(run.stdout.includes(words), words);
    }
  });

  test("every command has --help", async () => {
    for (const group of [capabilityGroup, runtimeGroup]) {
      for (const command of group.commands) {
        const run = await runCli([group.name, command.name, "--help"], { env: OFFLINE_ENV });
        assert.equal(run.code, 0, `${group.name} ${command.name}`);
        assert.match(run.stdout, new RegExp(`^Usage: capstan ${group.name} ${command.name}`));
        assert.match(run.stdout, /--json/);
      }
    }
    for (const name of ["serve", "login", "whoami"]) {
      assert.equal((await runCli([name, "--help"], { env: OFFLINE_ENV })).code, 0, name);
    }
  });

  test("no command at all is a usage error (exit 2)", async () => {
    const run = await runCli([], { env: OFFLINE_ENV });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Usage: capstan <command>/);
  });

  test("an unknown command exits 2", async () => {
    const run = await runCli(["frobnicate"], { env: OFFLINE_ENV });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown command 'frobnicate'/);
  });

  test("an unknown subcommand exits 2", async () => {
    const run = await runCli(["runtime", "explode"], { env: OFFLINE_ENV });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown command 'runtime explode'/);
  });

  test("an unknown option exits 2 and names it", async () => {
    const run = await runCli(["capability", "validate", ".", "--frobnicate"], { env: OFFLINE_ENV });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--frobnicate/);
    assert.match(run.stderr, /capstan capability validate --help/);
  });

  test("a missing argument exits 2 and names it", async () => {
    const run = await runCli(["runtime", "install", "default"], { env: OFFLINE_ENV });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /missing NAME\[@VERSION\]/);
  });

  test("an extra argument exits 2", async () => {
    const run = await runCli(["capability", "validate", "a", "b"], { env: OFFLINE_ENV });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unexpected argument 'b'/);
  });

  test("a flag assignment that is not FLAG=true|false|default exits 2", async () => {
    const run = await runCli(["runtime", "flag", "default", "web", "readonly=yes"], { env });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /'readonly=yes' is not FLAG=true\|false\|default/);
  });

  test("a malformed NAME@VERSION exits 2", async () => {
    const run = await runCli(["capability", "info", "Web_Search@1"], { env });
    assert.equal(run.code, 2);
  });

  test("visibility needs exactly one of --public and --private", async () => {
    assert.equal((await runCli(["capability", "visibility", "web"], { env })).code, 2);
    assert.equal(
      (await runCli(["capability", "visibility", "web", "--public", "--private"], { env })).code,
      2,
    );
  });

  test("a command that needs the API without a profile exits 2 with a login hint", async () => {
    const run = await runCli(["runtime", "list"], { env });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /not logged in/);
    assert.match(run.stderr, /capstan login --url URL --token KEY/);
  });

  test("sync without --dir exits 2", async () => {
    const run = await runCli(["runtime", "sync", "default"], { env });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /missing --dir/);
  });

  test("--version prints the CLI version", async () => {
    const run = await runCli(["--version"], { env: OFFLINE_ENV });
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^capstan-cli \d+\.\d+\.\d+/);
  });
});
