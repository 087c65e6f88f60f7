// The audit list's filters (actor, action or action prefix, target, time window), which the
// console's audit screen and its conflict explanation use.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError } from "../helpers/api.js";
import { newOrg, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/filtered/audit";

interface AuditItem {
  id: string;
  at: string;
  action: string;
  actor_user_id: string | null;
  target_id: string | null;
}

describe("GET /api/v1/org/{org}/audit with filters", () => {
  let t: TestApp;
  let adminId: string;
  let other: { userId: string; key: string };
  let otherWorkspaceId: string;
  const list = async (query: string): Promise<AuditItem[]> => {
    const res = await callApi(t, "GET", `${URL}?${query}`, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    return res.json().items;
  };

  before(async () => {
    t = await buildTestApp();
    adminId = (await callApi(t, "GET", "/api/v1/user/me", t.adminKey)).json().id;
    await newOrg(t, "filtered");
    await newWorkspace(t, "filtered", "first");
    other = await newUserKey(t, { org: "filtered", role: "contributor" });
    const created = await callApi(t, "POST", "/api/v1/org/filtered/ws", other.key, {
      key: "second",
      name: "Second",
    });
    assert.equal(created.statusCode, 201, created.body);
    otherWorkspaceId = created.json().id;
  });
  after(() => t.close());

  test("actor_user_id keeps one person's events", async () => {
    const mine = await list(`actor_user_id=${other.userId.toUpperCase()}`);
    assert.deepEqual(
      mine.map((e) => e.action),
      ["workspace.created"],
    );
    assert.ok((await list(`actor_user_id=${adminId}`)).every((e) => e.actor_user_id === adminId));
  });

  test("action matches exactly, and a trailing dot matches a prefix literally", async () => {
    const created = await list("action=workspace.created");
    assert.equal(created.length, 2);
    assert.ok(created.every((e) => e.action === "workspace.created"));
    assert.deepEqual(await list("action=workspace"), []);
    const prefixed = await list("action=member.");
    assert.ok(prefixed.length >= 1 && prefixed.every((e) => e.action.startsWith("member.")));
    // LIKE wildcards in the prefix are literal characters.
    assert.deepEqual(await list("action=%25."), []);
    assert.deepEqual(await list("action=_ember."), []);
  });

  test("target_id keeps the events about one object", async () => {
    const about = await list(`target_id=${otherWorkspaceId}`);
    assert.deepEqual(
      about.map((e) => e.target_id),
      [otherWorkspaceId],
    );
  });

  test("since and until bound the time, in any offset", async () => {
    const all = await list("limit=100");
    const newest = all[0];
    assert.deepEqual(
      (await list(`since=${encodeURIComponent(newest.at)}`)).map((e) => e.id),
      all.filter((e) => e.at >= newest.at).map((e) => e.id),
    );
    assert.deepEqual(await list("until=2000-01-01T00:00:00Z"), []);
    assert.equal((await list("since=2000-01-01T01:00:00%2B01:00")).length, all.length);
    assert.deepEqual(await list("since=2999-01-01T00:00Z"), []);
  });

  test("filters combine with the cursor", async () => {
    const first = await callApi(t, "GET", `${URL}?action=workspace.created&limit=1`, t.adminKey);
    const cursor = first.json().next_cursor;
    assert.equal(typeof cursor, "string");
    const second = await callApi(
      t,
      "GET",
      `${URL}?action=workspace.created&limit=1&cursor=${cursor}`,
      t.adminKey,
    );
    assert.equal(second.json().items.length, 1);
    assert.notEqual(second.json().items[0].id, first.json().items[0].id);
    assert.equal(second.json().next_cursor, null);
  });

  test("rejects malformed filters with 422 at the field, and unknown ones", async () => {
    expectError(await callApi(t, "GET", `${URL}?actor_user_id=nope`, t.adminKey), 422, "validation_error");
    expectError(await callApi(t, "GET", `${URL}?since=yesterday`, t.adminKey), 422, "validation_error");
    expectError(
      await callApi(t, "GET", `${URL}?since=2026-13-45T99:99Z`, t.adminKey),
      422,
      "validation_error",
      ["query", "since"],
    );
    expectError(await callApi(t, "GET", `${URL}?actor=x`, t.adminKey), 422, "validation_error");
  });

  test("stays owner-only", async () => {
    const res = await callApi(t, "GET", `${URL}?action=member.`, other.key);
    expectError(res, 403, "forbidden_error");
  });
});
