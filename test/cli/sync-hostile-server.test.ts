// The CLI against a server that sends what Capstan never would. For `runtime sync`: names that
// leave the sync directory or collide with its own files, flag names that add lines to
// capabilities.env, values that are not booleans, a malformed set; each must be refused before
// anything touches the disk, so the directory and its parent stay exactly as they were. And a
// runtime list whose cursor never advances.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ApiClient } from "../../src/cli/api-client.js";
import { CliError } from "../../src/cli/cli-errors.js";
import { listRuntimes } from "../../src/cli/runtime-lookup.js";
import { syncRuntime } from "../../src/cli/sync/runtime-sync.js";
import { readState, STATE_FILE } from "../../src/cli/sync/sync-state.js";

const RUNTIME_ID = "0193a0b0-0000-7000-8000-000000000001";
const RUNTIME_PATH = `/org/default/ws/main/runtimes/${RUNTIME_ID}`;
const DIGEST = `sha256:${"ab".repeat(32)}`;

/** A resolved entry as the server sends one; tests spoil one field at a time. */
function entry(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "web-search",
    version: "1.0.0",
    artifact_digest: DIGEST,
    artifact_s3_prefix: "/api/v1/org/default/capabilities/web-search/1.0.0/files/",
    download_url: "http://127.0.0.1:1/never-fetched",
    flags: {},
    effective_flags: { verbose: false },
    runtime_digest: DIGEST,
    ...fields,
  };
}

/** Every entry below `dir`, with file contents: what "as it was" is checked against. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const item of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const full = path.join(item.parentPath, item.name);
    found[path.relative(dir, full)] = item.isFile() ? await readFile(full, "utf8") : "<dir>";
  }
  return found;
}

describe("runtime sync refuses a resolved set it cannot trust", () => {
  let server: Server;
  let api: ApiClient;
  let scratch: string;
  /** What the fake server answers to the resolved set. */
  let answer: unknown;

  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "capstan-hostile-"));
    server = createServer((request, response) => {
      if (request.url?.startsWith("/api/v1/org/default/ws/main/runtimes?")) {
        // Every page points on to the same next page.
        const runtime = { id: RUNTIME_ID, key: "looping" };
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ items: [runtime], next_cursor: "the-same-cursor" }));
        return;
      }
      if (request.url === `/api/v1${RUNTIME_PATH}/capabilities/resolved`) {
        response.writeHead(200, { "content-type": "application/json", etag: `"${DIGEST}"` });
        response.end(JSON.stringify(answer));
        return;
      }
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ code: 404, detail: "no", type: "not_found_error" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    api = new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, token: "test", userAgent: "capstan-test" });
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(scratch, { recursive: true, force: true });
  });

  const cases: [string, unknown][] = [
    ["a name that climbs out of the directory", { capabilities: [entry({ name: "a/../../../victim" })] }],
    [
      "an absolute path hidden behind an owner",
      { capabilities: [entry({ name: `a/${"../".repeat(30)}tmp/x` })] },
    ],
    ["a name with a newline and an assignment", { capabilities: [entry({ name: "evil\nPATH=/x#" })] }],
    ["the state file's name", { capabilities: [entry({ name: "resolved.json" })] }],
    ["the lock file's name", { capabilities: [entry({ name: ".capstan-sync.lock" })] }],
    ["a dot", { capabilities: [entry({ name: "." })] }],
    ["two dots", { capabilities: [entry({ name: ".." })] }],
    ["an empty name", { capabilities: [entry({ name: "" })] }],
    ["upper-case letters", { capabilities: [entry({ name: "Web-Search" })] }],
    ["the same name twice", { capabilities: [entry(), entry()] }],
    [
      "a flag name that adds a line",
      { capabilities: [entry({ effective_flags: { "x\nLD_PRELOAD": true } })] },
    ],
    ["a flag name with shell syntax", { capabilities: [entry({ effective_flags: { "$(id)": true } })] }],
    ["a flag value that is not a boolean", { capabilities: [entry({ effective_flags: { off: "false" } })] }],
    ["flags that are not an object", { capabilities: [entry({ effective_flags: null })] }],
    ["an artifact digest that is not one", { capabilities: [entry({ artifact_digest: "sha256:zz" })] }],
    ["no capabilities list", { runtime_digest: DIGEST }],
    ["a capabilities list that is null", { capabilities: null }],
    ["an answer that is not an object", ["web-search"]],
  ];
  for (const [label, body] of cases) {
    test(`with ${label}`, async () => {
      answer =
        Array.isArray(body) || (body as { runtime_digest?: string }).runtime_digest !== undefined
          ? body
          : { runtime_digest: DIGEST, ...(body as object) };
      const parent = await mkdtemp(path.join(scratch, "case-"));
      const dir = path.join(parent, "a", "b", "dir");
      await mkdir(path.join(dir, "kept"), { recursive: true });
      await writeFile(path.join(dir, "kept", "mine.txt"), "untouched");
      const before = await snapshot(parent);
      await assert.rejects(
        syncRuntime(
          { api, runtimeId: RUNTIME_ID, runtimePath: RUNTIME_PATH },
          { dir, maxBundleBytes: 1_000_000 },
        ),
        (error: unknown) => {
          assert.ok(error instanceof CliError, String(error));
          assert.match(error.message, /resolved set cannot be used .*nothing was changed/);
          return true;
        },
      );
      assert.deepEqual(await snapshot(parent), before);
    });
  }

  test("a runtime list whose cursor does not advance ends with an error, not a loop", async () => {
    await assert.rejects(
      listRuntimes({ api, org: "default", workspace: "main" }),
      /runtime list does not advance/,
    );
  });

  test("a state file naming a directory outside the sync directory is not trusted", async () => {
    const dir = await mkdtemp(path.join(scratch, "state-"));
    const state = {
      runtime_id: RUNTIME_ID,
      etag: `"${DIGEST}"`,
      runtime_digest: DIGEST,
      capabilities: [{ ...entry(), directory: "../../elsewhere" }],
    };
    await writeFile(path.join(dir, STATE_FILE), JSON.stringify(state));
    assert.equal(await readState(dir), null);
    await writeFile(
      path.join(dir, STATE_FILE),
      JSON.stringify({ ...state, capabilities: [{ ...entry(), directory: "web-search" }] }),
    );
    assert.notEqual(await readState(dir), null);
  });
});
