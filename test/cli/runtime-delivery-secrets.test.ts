// Issue 17 end to end (SPEC §11 and §12): a capability whose MCP server needs GITHUB_TOKEN is
// published, bound and given a workspace secret; `capstan runtime sync --watch` (the real binary,
// a child process, with an owner-created runtime token) writes a working mcp.json and a 0600
// secrets file; rotating the secret reaches the disk while the watch runs. The server is a real
// child process too, on the suite's SQLite default.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { generateApiKey } from "../../src/lib/api-key-format.js";
import {
  type ServerProcess,
  startServerProcess,
  withoutCapstanVariables,
} from "../helpers/server-process.js";
import { type CliRun, runCli } from "./helpers/cli-harness.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin", "capstan.mjs");

/** `${NAME}` in an env value: a secret reference, left as written in mcp.json. */
const ref = (name: string): string => ["$", "{", name, "}"].join("");

const MANIFEST = [
  "schema: 1",
  "name: github",
  "version: 1.0.0",
  "description: GitHub MCP server for the delivery test",
  "secrets:",
  "  GITHUB_TOKEN:",
  "    description: Token the GitHub MCP server calls the API with",
  "mcp:",
  "  servers:",
  "    api:",
  "      command: ./bin/github-mcp.js",
  '      args: ["--stdio"]',
  "      env:",
  `        GITHUB_TOKEN: "${ref("GITHUB_TOKEN")}"`,
  "",
].join("\n");

/** Polls `check` until it holds; a deadline instead of a sleep. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const readOrEmpty = (file: string): Promise<string> => readFile(file, "utf8").catch(() => "");

describe("issue 17: a secret-needing MCP server delivered by `capstan runtime sync --watch`", () => {
  let server: ServerProcess;
  let adminKey: string;
  let scratch: string;
  let dir: string;
  let runtimeId: string;
  let watcher: ChildProcess | undefined;
  let watcherOutput = "";
  const first = `ghp_${randomUUID().replaceAll("-", "")}`;
  const second = `ghp_${randomBytes(18).toString("hex")}`;

  /** The CLI in-process (as the other CLI tests run it) for the person's commands. */
  function capstan(args: string[], options: { input?: string } = {}): Promise<CliRun> {
    return runCli(args, { cwd: scratch, input: options.input, env: cliEnv(adminKey) });
  }
  const cliEnv = (token: string): Record<string, string> => ({
    CAPSTAN_CONFIG: path.join(scratch, "config.json"),
    CAPSTAN_URL: server.url,
    CAPSTAN_TOKEN: token,
    CAPSTAN_ORG: "default",
    CAPSTAN_WORKSPACE: "main",
    NO_COLOR: "1",
  });
  async function ok<T = Record<string, unknown>>(args: string[], options?: { input?: string }): Promise<T> {
    const run = await capstan([...args, "--json"], options);
    assert.equal(run.code, 0, `capstan ${args.join(" ")}\n${run.stdout}\n${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  }
  async function runtimeSync(): Promise<{ in_sync: boolean; last_seen_at: string | null }> {
    const res = await fetch(`${server.url}/api/v1/org/default/ws/main/runtimes/${runtimeId}`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { sync: { in_sync: boolean; last_seen_at: string | null } }).sync;
  }

  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "capstan-issue17-"));
    dir = path.join(scratch, "runtime");
    adminKey = generateApiKey().key;
    server = await startServerProcess({
      CAPSTAN_DATA_DIR: path.join(scratch, "data"),
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
    });
  });
  after(async () => {
    if (watcher && watcher.exitCode === null) {
      const exited = new Promise((resolve) => watcher?.once("exit", resolve));
      watcher.kill("SIGTERM");
      await exited;
    }
    await server?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  test("publish, bind, set the secret, watch, rotate: mcp.json and the 0600 secrets file follow", async () => {
    const source = path.join(scratch, "src", "github");
    await mkdir(path.join(source, "bin"), { recursive: true });
    await writeFile(path.join(source, "capability.yaml"), MANIFEST);
    await writeFile(path.join(source, "bin", "github-mcp.js"), "#!/usr/bin/env node\n", { mode: 0o755 });
    await ok(["capability", "push", source]);
    runtimeId = (await ok<{ id: string }>(["runtime", "create", "laptop"])).id;
    await ok(["runtime", "install", "laptop", "github@1.0.0"]);
    await ok(["secret", "set", "GITHUB_TOKEN"], { input: `${first}\n` });
    const minted = await ok<{ token: string }>(["runtime", "token", "laptop", "--name", "laptop sync"]);
    assert.match(minted.token, /\S{20,}/);

    // The watcher is the real binary, where the runtime runs.
    watcher = spawn(
      process.execPath,
      [BIN, "runtime", "sync", runtimeId, "--dir", dir, "--watch", "--interval", "3600", "--json"],
      {
        cwd: scratch,
        env: { ...withoutCapstanVariables(), ...cliEnv(minted.token) },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    watcher.stdout?.on("data", (chunk) => (watcherOutput += chunk));
    watcher.stderr?.on("data", (chunk) => (watcherOutput += chunk));

    const secretsFile = path.join(dir, "secrets", "github.env");
    const mcpFile = path.join(dir, "mcp.json");
    await until(
      `the watch writes mcp.json and ${secretsFile}\n${watcherOutput}`,
      async () => (await readOrEmpty(secretsFile)).includes(first) && (await readOrEmpty(mcpFile)) !== "",
    );

    const root = path.join(dir, "github");
    assert.deepEqual(JSON.parse(await readFile(mcpFile, "utf8")), {
      mcpServers: {
        "github.api": {
          command: path.join(root, "bin", "github-mcp.js"),
          args: ["--stdio"],
          // The reference stays: the value lives only in the secrets file.
          env: { GITHUB_TOKEN: ref("GITHUB_TOKEN") },
          cwd: root,
        },
      },
    });
    assert.equal((await stat(path.join(root, "bin", "github-mcp.js"))).isFile(), true);
    assert.equal(await readFile(secretsFile, "utf8"), `GITHUB_TOKEN='${first}'\n`);
    assert.equal((await stat(secretsFile)).mode & 0o777, 0o600);
    assert.equal((await stat(path.dirname(secretsFile))).mode & 0o777, 0o700);

    // The watch reported its status after the sync: the server shows the runtime in sync.
    await until("the runtime shows in sync", async () => (await runtimeSync()).in_sync === true);

    // Rotate: the held watch request is answered and the new value reaches the disk.
    const rotatedAt = Date.now();
    await ok(["secret", "set", "GITHUB_TOKEN"], { input: `${second}\n` });
    const setTook = Date.now() - rotatedAt;
    await until(
      `the rotated value reaches ${secretsFile}\n${watcherOutput}`,
      async () => (await readOrEmpty(secretsFile)).includes(second),
      10_000,
    );
    // A figure, not an assertion: loaded machines vary too much for a bound of about a second.
    console.log(
      `rotation reached the disk ${Date.now() - rotatedAt} ms after \`capstan secret set\` started (the command took ${setTook} ms)`,
    );
    assert.equal(await readFile(secretsFile, "utf8"), `GITHUB_TOKEN='${second}'\n`);
    assert.equal((await stat(secretsFile)).mode & 0o777, 0o600);

    for (const file of ["mcp.json", "resolved.json", "capabilities.env"]) {
      const text = await readFile(path.join(dir, file), "utf8");
      assert.equal(text.includes(first), false, file);
      assert.equal(text.includes(second), false, file);
    }
    assert.equal(watcherOutput.includes(first) || watcherOutput.includes(second), false);
    await until("the runtime shows in sync after the rotation", async () => (await runtimeSync()).in_sync);
    const listed = await ok<{ items: { id: string; sync: { in_sync: boolean } }[] }>(["runtime", "list"]);
    assert.equal(listed.items.find((item) => item.id === runtimeId)?.sync.in_sync, true);

    const exited = new Promise<number | null>((resolve) => watcher?.once("exit", resolve));
    watcher.kill("SIGTERM");
    assert.equal(await exited, 0, watcherOutput);
  });
});
