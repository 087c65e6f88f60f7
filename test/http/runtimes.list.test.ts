import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { seedCapability } from "../../scripts/seed.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newProject, newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const WS = "/api/v1/org/default/ws/main";
const URL = `${WS}/runtimes`;

const RUNTIME_FIELDS = [
  "capability_count",
  "config_digest",
  "config_version",
  "created_at",
  "description",
  "id",
  "key",
  "name",
  "project_id",
  "status",
  "sync",
  "updated_at",
  "workspace_id",
];

interface RuntimeBody {
  id: string;
  key: string;
  project_id: string;
  capability_count: number;
  config_digest: string;
}

describe("GET /api/v1/org/{org}/ws/{workspace}/runtimes", () => {
  let t: TestApp;
  let extraProjectId: string;
  const created: RuntimeBody[] = [];

  before(async () => {
    t = await buildTestApp();
    await seedCapability(t.deps, { name: "search", versions: ["1.0.0"] });
    await seedCapability(t.deps, { name: "browser", versions: ["2.0.0"] });
    extraProjectId = (await newProject(t, "default", "main", "extra")).id;
    for (const key of ["rt-1", "rt-2", "rt-3", "rt-4"]) {
      const res = await callApi(t, "POST", URL, t.adminKey, { key, name: key });
      created.push(res.json());
    }
    const withCapabilities = await callApi(t, "POST", URL, t.adminKey, {
      key: "rt-5",
      name: "rt-5",
      project: "extra",
      config: { version: "v2", capabilities: [{ name: "search" }, { name: "browser", enabled: false }] },
    });
    assert.equal(withCapabilities.statusCode, 201, withCapabilities.body);
    created.push(withCapabilities.json());
  });
  after(() => t.close());

  test("lists the workspace's runtimes oldest first with the runtime shape", async () => {
    const res = await callApi(t, "GET", URL, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ["items", "next_cursor"]);
    assert.equal(body.next_cursor, null);
    assert.deepEqual(
      body.items.map((r: RuntimeBody) => r.key),
      ["default", "rt-1", "rt-2", "rt-3", "rt-4", "rt-5"],
    );
    const first = body.items[0];
    assert.deepEqual(Object.keys(first).sort(), RUNTIME_FIELDS);
    assert.equal(first.id, t.runtimeId);
    assert.equal(first.status, "idle");
    assert.equal(first.config_version, "v2");
    assert.match(first.config_digest, /^sha256:[0-9a-f]{64}$/);
  });

  test("counts each runtime's bindings in capability_count", async () => {
    const items: RuntimeBody[] = (await callApi(t, "GET", URL, t.adminKey)).json().items;
    const counts = Object.fromEntries(items.map((r) => [r.key, r.capability_count]));
    assert.deepEqual(counts, { default: 0, "rt-1": 0, "rt-2": 0, "rt-3": 0, "rt-4": 0, "rt-5": 2 });
  });

  test("shows the same config_digest as reading the runtime", async () => {
    const items: RuntimeBody[] = (await callApi(t, "GET", URL, t.adminKey)).json().items;
    for (const listed of items) {
      const single = (await callApi(t, "GET", `${URL}/${listed.id}`, t.adminKey)).json();
      assert.equal(listed.config_digest, single.config_digest, listed.key);
    }
  });

  test("pages through every runtime once with the cursor", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? "?limit=2" : `?limit=2&cursor=${encodeURIComponent(cursor)}`;
      const res = await callApi(t, "GET", `${URL}${query}`, t.adminKey);
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json();
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((r: RuntimeBody) => r.key));
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor !== null);
    assert.equal(pages, 3);
    assert.deepEqual(seen, ["default", "rt-1", "rt-2", "rt-3", "rt-4", "rt-5"]);
  });

  test("ends with next_cursor null when the last page is exactly full", async () => {
    const first = (await callApi(t, "GET", `${URL}?limit=3`, t.adminKey)).json();
    const second = (await callApi(t, "GET", `${URL}?limit=3&cursor=${first.next_cursor}`, t.adminKey)).json();
    assert.equal(second.items.length, 3);
    assert.equal(second.next_cursor, null);
  });

  test("filters by project_id, in any letter case", async () => {
    const res = await callApi(t, "GET", `${URL}?project_id=${extraProjectId.toUpperCase()}`, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(
      res.json().items.map((r: RuntimeBody) => r.key),
      ["rt-5"],
    );
  });

  test("filters by status, repeatable", async () => {
    const idle = (await callApi(t, "GET", `${URL}?status=idle`, t.adminKey)).json();
    assert.equal(idle.items.length, 6);
    const running = (await callApi(t, "GET", `${URL}?status=running`, t.adminKey)).json();
    assert.deepEqual(running.items, []);
    const either = (await callApi(t, "GET", `${URL}?status=running&status=idle`, t.adminKey)).json();
    assert.equal(either.items.length, 6);
  });

  test("lists only the runtimes of the named workspace", async () => {
    await newWorkspace(t, "default", "empty");
    const res = await callApi(t, "GET", "/api/v1/org/default/ws/empty/runtimes", t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { items: [], next_cursor: null });
  });

  test("lets a reader and a read-only key list", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    assert.equal((await callApi(t, "GET", URL, reader.key)).statusCode, 200);
    assert.equal((await callApi(t, "GET", URL, readOnly.key)).statusCode, 200);
  });

  test("answers 401 without a valid key", async () => {
    await expectUnauthenticated(t, "GET", URL);
  });

  test("answers 404 to a non-member and for an unknown workspace", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", URL, stranger.key), 404, "not_found_error");
    expectError(
      await callApi(t, "GET", "/api/v1/org/default/ws/nowhere/runtimes", t.adminKey),
      404,
      "not_found_error",
    );
  });

  test("rejects a limit out of 1..100 with 422 at query.limit", async () => {
    expectError(await callApi(t, "GET", `${URL}?limit=0`, t.adminKey), 422, "validation_error", [
      "query",
      "limit",
    ]);
    expectError(await callApi(t, "GET", `${URL}?limit=101`, t.adminKey), 422, "validation_error", [
      "query",
      "limit",
    ]);
  });

  test("rejects a cursor it did not issue with 422 at query.cursor", async () => {
    const res = await callApi(t, "GET", `${URL}?cursor=not-a-cursor`, t.adminKey);
    expectError(res, 422, "validation_error", ["query", "cursor"]);
  });

  test("rejects a project_id that is not a UUID with 422 at query.project_id", async () => {
    const res = await callApi(t, "GET", `${URL}?project_id=extra`, t.adminKey);
    expectError(res, 422, "validation_error", ["query", "project_id"]);
  });
});
