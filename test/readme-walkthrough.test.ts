// The README's walk-through, run as a reader would: first `npm start` as the README's first block
// says (which bootstraps the default data directory with a generated key), then the blocks marked
// `<!-- walkthrough: server -->` and `<!-- walkthrough: client -->`, exactly as written, in a fresh
// directory with a fresh HOME. Two things differ from a reader's terminal, so that the test is
// fast and can run beside others: port 8080 becomes a free port, and `npm start` / `npx capstan`
// run this checkout's `bin/capstan.mjs` (`serve` without the build step; the CLI itself).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { withoutCapstanVariables } from "./helpers/server-process.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

interface Block {
  kind: "server" | "client";
  code: string;
}

/** The marked shell blocks of the README, in order. */
function walkthroughBlocks(readme: string): Block[] {
  const blocks: Block[] = [];
  const marker = /<!-- walkthrough: (server|client) -->\s*\n```sh\n([\s\S]*?)\n```/g;
  for (const match of readme.matchAll(marker))
    blocks.push({ kind: match[1] as Block["kind"], code: match[2] });
  return blocks;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("README walk-through", () => {
  let work: string;
  let port: number;
  const servers: ChildProcess[] = [];

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), "capstan-readme-"));
    port = await freePort();
  });
  after(async () => {
    for (const server of servers) await stop(server);
    rmSync(work, { recursive: true, force: true });
  });

  /** What a reader's shell would have, plus the two substitutions named at the top of this file. */
  function prelude(): string {
    const capstan = JSON.stringify(path.join(ROOT, "bin", "capstan.mjs"));
    return [
      `export CAPSTAN_PORT=${port}`,
      `npm() { if [ "$1" = start ]; then exec node ${capstan} serve; else command npm "$@"; fi; }`,
      `npx() { if [ "$1" = capstan ]; then shift; node ${capstan} "$@"; else command npx "$@"; fi; }`,
      "",
    ].join("\n");
  }

  function shell(code: string): ChildProcess {
    const home = path.join(work, "home");
    mkdirSync(home, { recursive: true });
    return spawn(
      "bash",
      ["-e", "-o", "pipefail", "-c", `${prelude()}${code.replaceAll("8080", String(port))}`],
      {
        cwd: work,
        env: { ...withoutCapstanVariables(), HOME: home, XDG_CONFIG_HOME: path.join(home, ".config") },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      },
    );
  }

  /** Starts a server block; resolves once it listens. */
  async function startServer(code: string): Promise<ChildProcess> {
    const child = shell(code);
    servers.push(child);
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk;
        if (output.includes("Capstan listening on")) resolve();
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", (chunk) => {
        output += chunk;
      });
      child.once("exit", (code) => reject(new Error(`the server block exited with ${code}:\n${output}`)));
    });
    return child;
  }

  async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-(child.pid as number), "SIGTERM");
    await exited;
  }

  async function runClient(code: string): Promise<string> {
    const child = shell(code);
    let output = "";
    child.stdout?.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      output += chunk;
    });
    const exitCode = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(exitCode, 0, `a walk-through block failed:\n${code}\n--- output:\n${output}`);
    return output;
  }

  test("works top to bottom after a first `npm start`", async () => {
    const blocks = walkthroughBlocks(readFileSync(path.join(ROOT, "README.md"), "utf8"));
    assert.deepEqual(
      blocks.map((block) => block.kind),
      ["server", "client", "client"],
    );
    const firstBlock = /```sh\n([\s\S]*?)\n```/.exec(readFileSync(path.join(ROOT, "README.md"), "utf8"));
    assert.match(firstBlock?.[1] ?? "", /^npm start\b/m, "the README's first block starts the server");
    assert.match(firstBlock?.[1] ?? "", /^npm test\b/m, "the README's first block runs the tests");

    // The README's first block: `npm start` with the embedded defaults, then stopped.
    await stop(await startServer("npm start"));
    assert.ok(existsSync(path.join(work, ".capstan", "capstan.db")));

    await startServer(blocks[0].code);
    // The client blocks are typed into one terminal, one after the other.
    const separator = "=== next walk-through block ===";
    const [curl, cli] = (await runClient(`${blocks[1].code}\necho '${separator}'\n${blocks[2].code}`)).split(
      separator,
    );
    assert.match(curl, /"email":"admin@localhost"/);
    assert.match(curl, /\{"items":\[\]\}/);
    assert.match(curl, /"name":"hello","version":"1.0.0"/);
    assert.match(curl, /"effective_flags":\{"loud":true\}/);
    assert.match(curl, /"download_url":"http:\/\/127\.0\.0\.1:\d+\/api\/v1\/blobs\//);

    assert.match(cli, /Published recon@0\.1\.0/);
    assert.match(cli, /Would pack recon@/);
    assert.match(cli, /downloaded recon@/);
    assert.ok(existsSync(path.join(work, "runtime-capabilities", "recon", "capability.yaml")));
    assert.ok(
      existsSync(path.join(work, "home", ".config", "capstan", "config.json")),
      "login saved a profile",
    );
  });
});
