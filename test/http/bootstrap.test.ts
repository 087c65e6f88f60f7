// The first start against an empty data directory (SPEC §1), through the real server process.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { generateApiKey } from "../../src/lib/api-key-format.js";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.js";

const KEY = /cst_[a-z2-7]{12}_[A-Za-z0-9]{32,128}/g;
const WS = "/api/v1/org/default/ws/main";

async function get(
  server: ServerProcess,
  url: string,
  key: string,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(server.url + url, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: await res.json() };
}

describe("bootstrap on first start", () => {
  let dataDir: string;
  let firstOutput: string;
  let generatedKey: string;
  let server: ServerProcess | null = null;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "capstan-bootstrap-"));
    const first = await startServerProcess({ CAPSTAN_DATA_DIR: dataDir });
    try {
      firstOutput = first.output();
      generatedKey = firstOutput.match(KEY)?.[0] ?? "";
      assert.ok(generatedKey, `the first start prints a key:\n${firstOutput}`);
      assert.equal(
        (await get(first, "/api/v1/user/me", generatedKey)).status,
        200,
        "the generated key works at once",
      );
    } finally {
      await first.stop();
    }
    server = await startServerProcess({ CAPSTAN_DATA_DIR: dataDir });
  });

  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("prints the generated key exactly once, outside the JSON log lines", () => {
    assert.equal(firstOutput.match(KEY)?.length, 1);
    const keyLine = firstOutput.split("\n").find((line) => line.includes(generatedKey)) ?? "";
    assert.ok(!keyLine.trim().startsWith("{"), "the key is not inside a log record");
  });

  test("prints no key on the second start", () => {
    assert.equal(server?.output().match(KEY), null);
  });

  test("keeps the first key working after a restart", async () => {
    const me = await get(server!, "/api/v1/user/me", generatedKey);
    assert.equal(me.status, 200);
    assert.equal((me.body as { email: string }).email, "admin@localhost");
    assert.equal((me.body as { name: string }).name, "admin");
  });

  test("creates org default (owned by admin), workspace main and project default", async () => {
    const orgs = await get(server!, "/api/v1/user/organizations", generatedKey);
    assert.equal(orgs.status, 200);
    assert.deepEqual(
      (orgs.body as { key: string; role: string }[]).map(({ key, role }) => ({ key, role })),
      [{ key: "default", role: "owner" }],
    );
    const workspace = await get(server!, WS, generatedKey);
    assert.equal(workspace.status, 200);
    assert.equal((workspace.body as { is_default: boolean }).is_default, true);
    const projects = await get(server!, `${WS}/projects`, generatedKey);
    assert.equal(projects.status, 200);
    assert.deepEqual(
      (projects.body as { key: string; is_default: boolean }[]).map(({ key, is_default }) => ({
        key,
        is_default,
      })),
      [{ key: "default", is_default: true }],
    );
  });

  test("creates runtime default, with no capabilities bound", async () => {
    const runtimes = await get(server!, `${WS}/runtimes`, generatedKey);
    assert.equal(runtimes.status, 200);
    const items = (runtimes.body as { items: { id: string; key: string }[] }).items;
    assert.deepEqual(
      items.map((runtime) => runtime.key),
      ["default"],
    );
    const capabilities = await get(server!, `${WS}/runtimes/${items[0].id}/capabilities`, generatedKey);
    assert.equal(capabilities.status, 200);
    assert.deepEqual(capabilities.body, { items: [] });
  });
});

describe("bootstrap with CAPSTAN_BOOTSTRAP_TOKEN", () => {
  let dataDir: string;
  let server: ServerProcess;
  const token = generateApiKey().key;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "capstan-bootstrap-"));
    server = await startServerProcess({ CAPSTAN_DATA_DIR: dataDir, CAPSTAN_BOOTSTRAP_TOKEN: token });
  });

  after(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("gives the admin that key and prints none", async () => {
    assert.equal(server.output().match(KEY), null);
    const me = await get(server, "/api/v1/user/me", token);
    assert.equal(me.status, 200);
    assert.equal((me.body as { email: string }).email, "admin@localhost");
  });
});
