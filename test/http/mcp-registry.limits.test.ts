// What one anonymous `/v0` request may read (SPEC §13, docs/mcp-registry.md): at most 100 versions,
// the most one page of `limit=100` needs; a caller with a key keeps the budget of 1,000. 120
// versions of one public capability are copied from a published one in the database (a publish each
// would be slow and prove nothing more).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { newId } from "../../src/lib/ids.js";
import { callApi } from "../helpers/api.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const SERVER = 'mcp:\n  servers:\n    proxy:\n      url: "https://proxy.example.com/mcp"';
const COPIES = 120;

describe("MCP registry budgets per request", () => {
  let t: TestApp;

  before(async () => {
    t = await buildTestApp();
    const published = await publishOk(
      t,
      { name: "many", version: "1.0.0", manifestExtra: SERVER },
      { query: "public=true" },
    );
    const row = await t.deps.db
      .selectFrom("capability_versions")
      .selectAll()
      .where("id", "=", published.id)
      .executeTakeFirstOrThrow();
    const copies = Array.from({ length: COPIES }, (_, i) => ({
      ...row,
      id: newId(),
      version: `1.0.${i + 1}`,
    }));
    for (let start = 0; start < copies.length; start += 40)
      await t.deps.db
        .insertInto("capability_versions")
        .values(copies.slice(start, start + 40))
        .execute();
    // Published after the copies: its version comes after all of them in the registry's order.
    await publishOk(t, { name: "needle", version: "1.0.0", manifestExtra: SERVER }, { query: "public=true" });
  });
  after(() => t.close());

  const get = async (url: string, key?: string) => {
    const res = await callApi(t, "GET", url, key);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { servers: { server: { name: string } }[]; metadata: { nextCursor?: string } };
  };

  test("an anonymous search reads at most 100 versions and hands back a cursor", async () => {
    const first = await get("/v0/servers?search=needle&limit=100");
    assert.deepEqual(first.servers, []);
    assert.ok(first.metadata.nextCursor, "a short page still has a cursor");
    const next = await get(
      `/v0/servers?search=needle&limit=100&cursor=${encodeURIComponent(first.metadata.nextCursor)}`,
    );
    assert.deepEqual(
      next.servers.map((entry) => entry.server.name),
      ["io.capstan.default/needle-proxy"],
    );
    // A key reads up to 1,000: the same search ends in one page.
    const keyed = await get("/v0/servers?search=needle&limit=100", t.adminKey);
    assert.deepEqual(
      keyed.servers.map((entry) => entry.server.name),
      ["io.capstan.default/needle-proxy"],
    );
    assert.equal(keyed.metadata.nextCursor, undefined);
  });

  test("an anonymous version list holds the newest 100; a key sees all of them", async () => {
    const url = `/v0/servers/${encodeURIComponent("io.capstan.default/many-proxy")}/versions`;
    assert.equal((await get(url)).servers.length, 100);
    assert.equal((await get(url, t.adminKey)).servers.length, COPIES + 1);
  });
});
