// SPEC §12 on the runtime side: `capstan runtime sync` writes DIR/mcp.json, runs checks with
// --run-checks, reports its status, and with --watch holds a request that the server answers as
// soon as something changes (or polls a server that does not hold it).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ApiClient } from "../../src/cli/api-client.js";
import { userAgent } from "../../src/cli/cli-version.js";
import { type SyncReport, watchRuntime } from "../../src/cli/sync/runtime-sync.js";
import { callApi } from "../helpers/api.js";
import type { TestApp } from "../helpers/test-app.js";
import { type CliRun, type FakeIoOptions, runCli } from "./helpers/cli-harness.js";
import { type LiveApp, startLiveApp, writeCapability } from "./helpers/live-app.js";

const MANIFEST = `schema: 1
name: NAME
version: 1.0.0
description: MCP servers and checks for the delivery tests
flags:
  burp:
    description: Start the Burp bridge
  web:
    description: Reach the hosted server
    default: true
secrets:
  API_TOKEN:
    description: Token of the local server
  REMOTE_TOKEN:
    description: Token of the hosted server
mcp:
  files: [servers.json]
  servers:
    local:
      command: ./bin/server.py
      args: ["--port", "8080", "./data/config.json"]
      env:
        API_TOKEN: "\${API_TOKEN}"
    gated:
      command: uvx
      args: [burp-bridge]
      when: [burp]
    remote:
      url: https://mcp.example.com/mcp
      headers:
        Authorization: "Bearer \${REMOTE_TOKEN}"
      when: [web, burp]
checks:
  - name: has-server
    command: test -f bin/server.py && echo server present
  - name: broken
    command: echo it is broken >&2; exit 3
`;

/** Polls `check` until it holds; a deadline instead of a sleep. */
async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("capstan runtime sync: mcp.json, checks, status and watch", () => {
  let live: LiveApp;
  let t: TestApp;
  let scratch: string;
  let env: Record<string, string>;

  const cli = (argv: string[], options: FakeIoOptions = {}): Promise<CliRun> =>
    runCli(argv, { cwd: scratch, ...options, env: { ...env, ...options.env } });
  async function ok<T = Record<string, unknown>>(...argv: string[]): Promise<T> {
    const run = await cli([...argv, "--json"]);
    assert.equal(run.code, 0, `capstan ${argv.join(" ")}: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  }
  const newRuntime = async (): Promise<{ key: string; id: string }> => {
    const key = `rt-${randomUUID().slice(0, 8)}`;
    return { key, id: (await ok<{ id: string }>("runtime", "create", key)).id };
  };
  const runtimeSync = async (id: string) => {
    const res = await callApi(t, "GET", `/api/v1/org/default/ws/main/runtimes/${id}`, t.adminKey);
    return res.json().sync as { in_sync: boolean; checks_failed: number; last_seen_at: string | null };
  };

  before(async () => {
    live = await startLiveApp();
    ({ t, scratch, env } = live);
    const dir = path.join(scratch, "src", "toolbox");
    const files: Record<string, string> = {
      "capability.yaml": MANIFEST.replace("NAME", "toolbox"),
      "servers.json": JSON.stringify({
        mcpServers: { filed: { command: "node", args: ["./srv.js"], cwd: "sub" } },
      }),
      "bin/server.py": "print('hello')\n",
      "data/config.json": "{}\n",
      "sub/srv.js": "console.log('hi')\n",
    };
    for (const [file, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), content);
    }
    await ok("capability", "push", dir);
  });
  after(() => live.close());

  test("writes mcp.json with the servers the flags allow, resolved to the unpacked directory", async () => {
    const { key } = await newRuntime();
    await ok("runtime", "install", key, "toolbox@1.0.0");
    const dir = path.join(scratch, "out-mcp");
    await ok("runtime", "sync", key, "--dir", dir);
    const root = path.join(dir, "toolbox");
    const mcp = JSON.parse(await readFile(path.join(dir, "mcp.json"), "utf8"));
    assert.deepEqual(mcp, {
      mcpServers: {
        "toolbox.filed": {
          command: "node",
          args: [path.join(root, "sub", "srv.js")],
          cwd: path.join(root, "sub"),
        },
        "toolbox.local": {
          command: path.join(root, "bin", "server.py"),
          args: ["--port", "8080", path.join(root, "data", "config.json")],
          // Left for the secrets file: never a value here.
          env: { API_TOKEN: "$" + "{API_TOKEN}" },
          cwd: root,
        },
        "toolbox.remote": {
          type: "http",
          url: "https://mcp.example.com/mcp",
          headers: { Authorization: "Bearer $" + "{REMOTE_TOKEN}" },
        },
      },
    });

    // `when: [burp]` starts once the flag is on; `when: [web, burp]` needs either.
    await ok("runtime", "flag", key, "toolbox", "burp=true", "web=false");
    await ok("runtime", "sync", key, "--dir", dir);
    const flagged = JSON.parse(await readFile(path.join(dir, "mcp.json"), "utf8")).mcpServers;
    assert.deepEqual(Object.keys(flagged).sort(), [
      "toolbox.filed",
      "toolbox.gated",
      "toolbox.local",
      "toolbox.remote",
    ]);
    assert.deepEqual(flagged["toolbox.gated"], { command: "uvx", args: ["burp-bridge"], cwd: root });
    await ok("runtime", "flag", key, "toolbox", "burp=false");
    await ok("runtime", "sync", key, "--dir", dir);
    const neither = JSON.parse(await readFile(path.join(dir, "mcp.json"), "utf8")).mcpServers;
    assert.deepEqual(Object.keys(neither).sort(), ["toolbox.filed", "toolbox.local"]);

    await ok("runtime", "disable", key, "toolbox");
    await ok("runtime", "sync", key, "--dir", dir);
    assert.deepEqual(JSON.parse(await readFile(path.join(dir, "mcp.json"), "utf8")), { mcpServers: {} });
  });

  test("--run-checks runs each check, reports a passing and a failing one, and the runtime shows it", async () => {
    const { key, id } = await newRuntime();
    await ok("runtime", "install", key, "toolbox@1.0.0");
    assert.equal((await runtimeSync(id)).last_seen_at, null);
    const dir = path.join(scratch, "out-checks");
    const report = await ok<SyncReport>("runtime", "sync", key, "--dir", dir, "--run-checks");
    const checks = report.checks ?? [];
    assert.deepEqual(
      checks.map(({ capability, name, ok }) => ({ capability, name, ok })),
      [
        { capability: "toolbox", name: "has-server", ok: true },
        { capability: "toolbox", name: "broken", ok: false },
      ],
    );
    assert.match(checks[0].output ?? "", /server present/);
    assert.match(checks[1].output ?? "", /it is broken/);
    assert.match(checks[1].output ?? "", /exited with 3/);
    const sync = await runtimeSync(id);
    assert.equal(sync.in_sync, true);
    assert.equal(sync.checks_failed, 1);
  });

  test("a failed sync reports its error with what the directory still holds", async () => {
    const { key, id } = await newRuntime();
    await ok("runtime", "install", key, "toolbox@1.0.0");
    const dir = path.join(scratch, "out-failed");
    await mkdir(path.join(dir, "toolbox"), { recursive: true });
    await writeFile(path.join(dir, "toolbox", "mine.txt"), "not the sync's\n");
    const run = await cli(["runtime", "sync", key, "--dir", dir]);
    assert.equal(run.code, 1);
    const row = await t.deps.db
      .selectFrom("runtime_sync_status")
      .selectAll()
      .where("runtime_id", "=", id)
      .executeTakeFirstOrThrow();
    assert.equal(row.applied_digest, null);
    assert.match(JSON.parse(row.errors)[0], /refusing to sync/);
    assert.equal((await runtimeSync(id)).in_sync, false);
  });

  test("--watch is held by the server and a change reaches the disk without a poll interval", async () => {
    const name = `watched${randomUUID().slice(0, 6)}`;
    await ok("capability", "push", await writeCapability(scratch, name, "1.0.0"));
    const { key, id } = await newRuntime();
    await ok("runtime", "install", key, `${name}@1.0.0`);
    const dir = path.join(scratch, "out-watch");
    const lines: SyncReport[] = [];
    let flagged = false;
    const run = await cli(["runtime", "sync", key, "--dir", dir, "--watch", "--interval", "3600", "--json"], {
      onStdout: (text, fake) => {
        for (const line of text.split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        if (lines.length === 1 && !flagged) {
          flagged = true;
          // Once the next request is held, flip a flag: the held request must answer it.
          void until("the watch is held", () => t.app.services.watch.size === 1).then(() =>
            callApi(t, "GET", `/api/v1/org/default/ws/main/runtimes/${id}/capabilities`, t.adminKey).then(
              async (res) => {
                const binding = res.json().items[0];
                await callApi(
                  t,
                  "PATCH",
                  `/api/v1/org/default/ws/main/runtimes/${id}/capabilities/${binding.id}`,
                  t.adminKey,
                  { flags: { verbose: true } },
                );
              },
            ),
          );
        }
        if (lines.some((line) => line.status === "updated" && lines.indexOf(line) > 0)) fake.sendStopSignal();
      },
    });
    assert.equal(run.code, 0, run.stderr);
    const env = await readFile(path.join(dir, "capabilities.env"), "utf8");
    assert.match(env, new RegExp(`CAPABILITY_FLAG__${name.toUpperCase()}__VERBOSE=1`));
    assert.equal(t.app.services.watch.size, 0, "the stopped watch let its request go");
    assert.equal((await runtimeSync(id)).in_sync, true);
  });

  test("a watch polls a server that does not hold the request, and still delivers a change", async () => {
    const name = `polled${randomUUID().slice(0, 6)}`;
    await ok("capability", "push", await writeCapability(scratch, name, "1.0.0"));
    const { key, id } = await newRuntime();
    await ok("runtime", "install", key, `${name}@1.0.0`);
    // A proxy in front of the server that drops `Prefer`, as a server without §12 would ignore it.
    let resolvedReads = 0;
    const proxy: Server = createServer((req, res) => {
      const { prefer: _, ...headers } = req.headers;
      if (req.url?.endsWith("/capabilities/resolved")) resolvedReads += 1;
      const upstream = httpRequest(
        new URL(req.url ?? "/", live.url),
        { method: req.method, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const api = new ApiClient({ baseUrl: proxyUrl, token: t.adminKey, userAgent: userAgent() });
      const stop = new AbortController();
      const dir = path.join(scratch, "out-polled");
      const reports: SyncReport[] = [];
      await watchRuntime({
        intervalMs: 20,
        signal: stop.signal,
        target: async () => ({ api, runtimeId: id, runtimePath: `/org/default/ws/main/runtimes/${id}` }),
        sync: { dir, maxBundleBytes: 50 * 1024 * 1024, waitSeconds: 55 },
        onReport: (report) => {
          reports.push(report);
          // Unchanged answers came back at once, none held: then change something.
          if (reports.length === 3) {
            assert.equal(t.app.services.watch.size, 0);
            void ok("runtime", "flag", key, name, "verbose=true");
          }
          if (reports.length > 3 && report.status === "updated") stop.abort();
        },
        onFailure: (error) => assert.fail(String(error)),
      });
      assert.ok(resolvedReads >= 4);
      assert.match(await readFile(path.join(dir, "capabilities.env"), "utf8"), /__VERBOSE=1/);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
