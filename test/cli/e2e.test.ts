// End to end: the real server as a child process (any free port), the real `capstan` CLI as child
// processes, one server for the whole file. The children run the sources transpiled once
// (scripts/compiled-sources.ts), as a build would; the first command runs bin/capstan.mjs itself, so
// the binary's own start (through tsx in a checkout without a build) is covered too.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { packBundle, readCapabilitySource } from "../../src/cli/bundle-pack.js";
import { generateApiKey } from "../../src/lib/api-key-format.js";
import {
  type ServerProcess,
  sourceRunner,
  startServerProcess,
  withoutCapstanVariables,
} from "../helpers/server-process.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin", "capstan.mjs");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess): Promise<Run> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => (stdout += chunk));
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

interface Server {
  url: string;
  adminKey: string;
  process: ServerProcess;
}

async function startServer(dataDir: string): Promise<Server> {
  const adminKey = generateApiKey().key;
  const started = await startServerProcess({ CAPSTAN_DATA_DIR: dataDir, CAPSTAN_BOOTSTRAP_TOKEN: adminKey });
  return { url: started.url, adminKey, process: started };
}

describe("capstan end to end", () => {
  let server: Server;
  let scratch: string;
  let configFile: string;
  /** Node's arguments that start the CLI (the transpiled sources). */
  let cli: string[];

  /**
   * Runs the CLI with the test's profile file; `env` adds or overrides variables. `program` is what
   * node runs: the transpiled CLI unless a test names bin/capstan.mjs.
   */
  function capstan(args: string[], env: Record<string, string> = {}, program = cli): Promise<Run> {
    const child = spawn(process.execPath, [...program, ...args], {
      cwd: scratch,
      env: { ...withoutCapstanVariables(), CAPSTAN_CONFIG: configFile, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return collect(child);
  }

  async function succeeds(args: string[], program = cli): Promise<Run> {
    const run = await capstan(args, {}, program);
    assert.equal(run.code, 0, `capstan ${args.join(" ")}\n${run.stdout}\n${run.stderr}`);
    return run;
  }

  async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
    return JSON.parse((await succeeds([...args, "--json"])).stdout) as T;
  }

  /** `name`'s binding on runtime default, as `capstan runtime caps default --json` lists it. */
  async function bindingFromCli(name: string): Promise<Record<string, unknown>> {
    const { items } = await json<{ items: { capability_name: string }[] }>(["runtime", "caps", "default"]);
    const found = items.find((item) => item.capability_name === name);
    assert.ok(found, `${name} is not bound`);
    return found;
  }

  /**
   * `name`'s binding on runtime default, read from the server's API (the list `runtime caps --json`
   * prints): what a command changed, checked without starting one more CLI process.
   */
  async function binding(name: string): Promise<Record<string, unknown>> {
    const get = async (urlPath: string) => {
      const response = await fetch(`${server.url}/api/v1/org/default/ws/main${urlPath}`, {
        headers: { authorization: `Bearer ${server.adminKey}` },
      });
      assert.equal(response.status, 200, urlPath);
      return (await response.json()) as { items: Record<string, unknown>[] };
    };
    const runtime = (await get("/runtimes")).items.find((item) => item.key === "default");
    assert.ok(runtime, "runtime default is listed");
    const { items } = await get(`/runtimes/${runtime.id}/capabilities`);
    const found = items.find((item) => item.capability_name === name);
    assert.ok(found, `${name} is not bound`);
    return found;
  }

  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "capstan-e2e-"));
    configFile = path.join(scratch, "config", "config.json");
    cli = (await sourceRunner()).cliArgs();
    server = await startServer(path.join(scratch, "data"));
  });

  after(async () => {
    await server?.process.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  test("--help lists the commands (bin/capstan.mjs itself)", async () => {
    const run = await succeeds(["--help"], [BIN]);
    assert.match(run.stdout, /capability push DIR/);
    assert.match(run.stdout, /runtime sync RT/);
  });

  test("login with a bad key fails with a readable error and saves nothing", async () => {
    const badKey = generateApiKey().key;
    const run = await capstan(["login", "--url", server.url, "--token", badKey]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, "authentication_error: Unknown or revoked API key\n");
    await assert.rejects(stat(configFile), { code: "ENOENT" });
  });

  test("login checks the key, then saves a profile only its owner can read", async () => {
    const run = await succeeds(["login", "--url", server.url, "--token", server.adminKey]);
    assert.match(run.stdout, /Logged in to .* as admin@localhost/);
    assert.equal((await stat(configFile)).mode & 0o777, 0o600);
    const saved = JSON.parse(await readFile(configFile, "utf8"));
    assert.deepEqual(saved.profiles.default, {
      url: server.url,
      token: server.adminKey,
      org: "default",
      workspace: "main",
    });
    const whoami = await json<{ user: { email: string }; org: string; workspace: string }>(["whoami"]);
    assert.equal(whoami.user.email, "admin@localhost");
    assert.equal(whoami.org, "default");
    assert.equal(whoami.workspace, "main");
  });

  test("init, validate and push publish a capability with the digest pack computed", async () => {
    await succeeds(["capability", "init", "e2e-demo", "--with-skills"]);
    const flags = "flags:\n  verbose:\n    description: Log every call\n    default: false\n";
    await appendFile(path.join(scratch, "e2e-demo", "capability.yaml"), flags);
    const validate = await succeeds(["capability", "validate", "e2e-demo"]);
    assert.match(validate.stdout, /e2e-demo@0\.1\.0 is valid: 1 agent, 1 tool, 1 skill/);
    const packed = await json<{ runtime_digest: string; artifact_sha256: string }>([
      "capability",
      "pack",
      "e2e-demo",
    ]);
    const expected = await packBundle(await readCapabilitySource(path.join(scratch, "e2e-demo")));
    assert.equal(packed.runtime_digest, expected.runtimeDigest);
    const pushed = await json<{
      created: boolean;
      runtime_digest: string;
      artifact_sha256: string;
      version: string;
    }>(["capability", "push", "e2e-demo"]);
    assert.equal(pushed.created, true);
    assert.equal(pushed.version, "0.1.0");
    assert.equal(pushed.runtime_digest, packed.runtime_digest);
    assert.equal(pushed.artifact_sha256, packed.artifact_sha256);
    const again = await json<{ created: boolean }>(["capability", "push", "e2e-demo"]);
    assert.equal(again.created, false);
  });

  test("an invalid capability is refused by validate and by push, with its errors", async () => {
    const invalid = path.join(ROOT, "test", "fixtures", "capabilities", "invalid");
    for (const command of ["validate", "push"]) {
      const run = await capstan(["capability", command, invalid]);
      assert.equal(run.code, 1, command);
      assert.match(run.stderr, /is not valid \(3 errors\)/);
      assert.match(run.stderr, /bundle\.capability\.yaml\.version: /);
    }
  });

  test("install, disable, enable and flag change the binding on runtime default", async () => {
    const installed = await json<{ version: string; enabled: boolean }>([
      "runtime",
      "install",
      "default",
      "e2e-demo",
    ]);
    assert.equal(installed.version, "0.1.0");
    assert.equal(installed.enabled, true);
    await succeeds(["runtime", "disable", "default", "e2e-demo"]);
    assert.equal((await bindingFromCli("e2e-demo")).enabled, false);
    await succeeds(["runtime", "enable", "default", "e2e-demo"]);
    assert.equal((await binding("e2e-demo")).enabled, true);
    await succeeds(["runtime", "flag", "default", "e2e-demo", "verbose=true"]);
    assert.deepEqual((await binding("e2e-demo")).flags, { verbose: true });
    const table = await succeeds(["runtime", "caps", "default"]);
    assert.match(table.stdout, /^NAME\s+VERSION\s+LATEST\s+ENABLED\s+FLAGS\s+SOURCE\s+COMPONENTS$/m);
    assert.match(
      table.stdout,
      /^e2e-demo\s+0\.1\.0\s+0\.1\.0\s+yes\s+verbose=true\s+org\s+1 agent, 1 tool, 1 skill$/m,
    );
  });

  test("a new version shows as an update, and upgrade --yes moves the binding to it", async () => {
    const manifest = path.join(scratch, "e2e-demo", "capability.yaml");
    await writeFile(manifest, (await readFile(manifest, "utf8")).replace("version: 0.1.0", "version: 0.2.0"));
    await writeFile(
      path.join(scratch, "e2e-demo", "tools", "extra.yaml"),
      "name: shout\ndescription: Shout.\n",
    );
    await succeeds(["capability", "push", "e2e-demo"]);
    assert.match((await succeeds(["runtime", "caps", "default"])).stdout, /0\.2\.0 \*/);

    const unconfirmed = await capstan(["runtime", "upgrade", "default", "e2e-demo"]);
    assert.equal(unconfirmed.code, 2);
    assert.match(unconfirmed.stdout, /0\.1\.0 → 0\.2\.0 \(minor\)/);
    assert.match(unconfirmed.stdout, /components added: tool shout/);
    assert.match(unconfirmed.stderr, /--yes/);
    assert.equal((await binding("e2e-demo")).version, "0.1.0");

    const upgraded = await succeeds(["runtime", "upgrade", "default", "e2e-demo", "--yes"]);
    assert.match(upgraded.stdout, /Moved e2e-demo to 0\.2\.0/);
    assert.equal((await binding("e2e-demo")).version, "0.2.0");
  });

  test("sync unpacks the runtime's capabilities, and a second sync downloads nothing", async () => {
    const dir = path.join(scratch, "runtime-dir");
    const first = await json<{ status: string; downloaded: unknown[] }>([
      "runtime",
      "sync",
      "default",
      "--dir",
      dir,
    ]);
    assert.deepEqual(first.downloaded, [{ name: "e2e-demo", version: "0.2.0" }]);
    assert.deepEqual((await readdir(dir)).sort(), [
      "capabilities.env",
      "e2e-demo",
      "mcp.json",
      "resolved.json",
    ]);
    assert.match(await readFile(path.join(dir, "e2e-demo", "capability.yaml"), "utf8"), /version: 0\.2\.0/);
    assert.ok((await stat(path.join(dir, "e2e-demo", "tools", "extra.yaml"))).isFile());
    assert.equal(
      await readFile(path.join(dir, "capabilities.env"), "utf8"),
      "CAPABILITY_FLAG__E2E_DEMO__VERBOSE=1\n",
    );

    const second = await json<{ status: string; downloaded: unknown[] }>([
      "runtime",
      "sync",
      "default",
      "--dir",
      dir,
    ]);
    assert.equal(second.status, "unchanged");
    assert.deepEqual(second.downloaded, []);
  });

  test("an unknown runtime exits 1 with a readable error", async () => {
    const run = await capstan(["runtime", "caps", "no-such-runtime"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no runtime with key 'no-such-runtime' in default\/main/);
    const byId = await capstan(["runtime", "show", "01890000-0000-7000-8000-000000000000"]);
    assert.equal(byId.code, 1);
    assert.match(byId.stderr, /^not_found_error: /);
  });

  test("usage errors exit 2", async () => {
    assert.equal((await capstan(["runtime"])).code, 2);
    assert.equal((await capstan(["capability", "push"])).code, 2);
    assert.equal((await capstan(["runtime", "flag", "default", "e2e-demo", "verbose"])).code, 2);
  });
});
