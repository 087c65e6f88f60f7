import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newOrg, newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/logged/audit";

interface AuditItem {
  id: string;
  at: string;
  action: string;
  target_id: string | null;
}

describe("GET /api/v1/org/{org}/audit", () => {
  let t: TestApp;
  let adminId: string;
  before(async () => {
    t = await buildTestApp();
    adminId = (await callApi(t, "GET", "/api/v1/user/me", t.adminKey)).json().id;
    await newOrg(t, "logged");
    for (const key of ["ws-1", "ws-2", "ws-3", "ws-4"]) await newWorkspace(t, "logged", key);
  });
  after(() => t.close());

  test("lists the org's events newest first with who, what and the request", async () => {
    const res = await callApi(t, "GET", URL, t.adminKey);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.next_cursor, null);
    assert.deepEqual(
      body.items.map((e: AuditItem) => e.action),
      ["workspace.created", "workspace.created", "workspace.created", "workspace.created", "org.created"],
    );
    const newest = body.items[0];
    assert.deepEqual(Object.keys(newest).sort(), [
      "action",
      "actor_user_id",
      "api_key_id",
      "at",
      "data",
      "id",
      "request_id",
      "target_id",
      "target_type",
    ]);
    assert.equal(newest.actor_user_id, adminId);
    assert.equal(newest.target_type, "workspace");
    assert.deepEqual(newest.data, { key: "ws-4", name: "Workspace ws-4" });
    assert.match(newest.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(typeof newest.request_id, "string");
    const ids = body.items.map((e: AuditItem) => e.id);
    assert.deepEqual(ids, [...ids].sort().reverse());
  });

  test("carries the id of the request that made the change", async () => {
    const res = await callApi(t, "POST", "/api/v1/org/logged/ws", t.adminKey, {
      key: "traced",
      name: "Traced",
    });
    const newest = (await callApi(t, "GET", `${URL}?limit=1`, t.adminKey)).json().items[0];
    assert.equal(newest.request_id, res.headers["x-request-id"]);
  });

  test("pages newest first with an opaque cursor until next_cursor is null", async () => {
    const all = (await callApi(t, "GET", URL, t.adminKey)).json().items.map((e: AuditItem) => e.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? "?limit=2" : `?limit=2&cursor=${cursor}`;
      const body = (await callApi(t, "GET", `${URL}${query}`, t.adminKey)).json();
      assert.ok(body.items.length <= 2);
      seen.push(...body.items.map((e: AuditItem) => e.id));
      cursor = body.next_cursor;
      if (cursor !== null) assert.ok(!all.includes(cursor), "the cursor is not a bare id");
      pages++;
    } while (cursor !== null && pages < 20);
    assert.deepEqual(seen, all);
    assert.equal(pages, Math.ceil(all.length / 2));
  });

  test("shows only the org's own events", async () => {
    const defaultEvents = (await callApi(t, "GET", "/api/v1/org/default/audit", t.adminKey)).json().items;
    const loggedIds = new Set(
      (await callApi(t, "GET", URL, t.adminKey)).json().items.map((e: AuditItem) => e.id),
    );
    assert.ok(defaultEvents.every((e: AuditItem) => !loggedIds.has(e.id)));
    assert.equal(defaultEvents.at(-1).action, "system.bootstrapped");
  });

  test("forbids a contributor with 403", async () => {
    const contributor = await newUserKey(t, { org: "logged", role: "contributor" });
    expectError(await callApi(t, "GET", URL, contributor.key), 403, "forbidden_error");
  });

  test("lets an owner with a read-only key read it", async () => {
    const readOnly = await newUserKey(t, { org: "logged", role: "owner", readOnly: true });
    assert.equal((await callApi(t, "GET", URL, readOnly.key)).statusCode, 200);
  });

  test("answers 404 to a non-member and for an unknown org", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", URL, stranger.key), 404, "not_found_error");
    expectError(await callApi(t, "GET", "/api/v1/org/nowhere/audit", t.adminKey), 404, "not_found_error");
  });

  test("rejects a malformed cursor with 422 at query.cursor", async () => {
    for (const cursor of ["garbage", Buffer.from("not-a-uuid").toString("base64url")]) {
      const res = await callApi(t, "GET", `${URL}?cursor=${cursor}`, t.adminKey);
      expectError(res, 422, "validation_error", ["query", "cursor"]);
    }
  });

  test("rejects a limit outside 1..100 with 422 at query.limit", async () => {
    for (const limit of ["0", "101", "many"]) {
      expectError(await callApi(t, "GET", `${URL}?limit=${limit}`, t.adminKey), 422, "validation_error", [
        "query",
        "limit",
      ]);
    }
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "GET", URL);
  });
});
