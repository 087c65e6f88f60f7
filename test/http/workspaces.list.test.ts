import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newOrg, newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/paged/ws";

describe("GET /api/v1/org/{org}/ws", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    await newOrg(t, "paged");
    // With `main`, five workspaces: a, b, c, d, main.
    for (const key of ["d", "b", "a", "c"]) await newWorkspace(t, "paged", key);
  });
  after(() => t.close());

  const keysOf = (body: { workspaces: { key: string }[] }) => body.workspaces.map((w) => w.key);

  test("lists the workspaces by key with page metadata", async () => {
    const res = await callApi(t, "GET", URL, t.adminKey);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(keysOf(body), ["a", "b", "c", "d", "main"]);
    assert.deepEqual(
      { ...body, workspaces: undefined },
      {
        workspaces: undefined,
        total: 5,
        page: 1,
        limit: 20,
        total_pages: 1,
        has_next: false,
        has_previous: false,
      },
    );
    const main = body.workspaces[4];
    assert.deepEqual(Object.keys(main).sort(), [
      "created_at",
      "description",
      "id",
      "is_default",
      "key",
      "name",
      "org_id",
      "updated_at",
    ]);
    assert.equal(main.is_default, true);
    assert.equal(body.workspaces[0].is_default, false);
  });

  test("pages with page and limit", async () => {
    const body = (await callApi(t, "GET", `${URL}?page=2&limit=2`, t.adminKey)).json();
    assert.deepEqual(keysOf(body), ["c", "d"]);
    assert.equal(body.total, 5);
    assert.equal(body.page, 2);
    assert.equal(body.limit, 2);
    assert.equal(body.total_pages, 3);
    assert.equal(body.has_next, true);
    assert.equal(body.has_previous, true);
  });

  test("accepts page_size as the page length", async () => {
    const body = (await callApi(t, "GET", `${URL}?page=3&page_size=2`, t.adminKey)).json();
    assert.deepEqual(keysOf(body), ["main"]);
    assert.equal(body.limit, 2);
    assert.equal(body.has_next, false);
  });

  test("returns an empty page past the end", async () => {
    const body = (await callApi(t, "GET", `${URL}?page=9&limit=2`, t.adminKey)).json();
    assert.deepEqual(keysOf(body), []);
    assert.equal(body.has_next, false);
    assert.equal(body.has_previous, true);
  });

  test("lets a reader with a read-only key list them", async () => {
    const reader = await newUserKey(t, { org: "paged", role: "reader", readOnly: true });
    assert.equal((await callApi(t, "GET", URL, reader.key)).statusCode, 200);
  });

  test("answers 404 to a non-member and for an unknown org", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", URL, stranger.key), 404, "not_found_error");
    expectError(await callApi(t, "GET", "/api/v1/org/nowhere/ws", t.adminKey), 404, "not_found_error");
  });

  test("rejects page and limit out of range with 422 at the query parameter", async () => {
    expectError(await callApi(t, "GET", `${URL}?page=0`, t.adminKey), 422, "validation_error", [
      "query",
      "page",
    ]);
    expectError(await callApi(t, "GET", `${URL}?limit=101`, t.adminKey), 422, "validation_error", [
      "query",
      "limit",
    ]);
    expectError(await callApi(t, "GET", `${URL}?page_size=0`, t.adminKey), 422, "validation_error", [
      "query",
      "page_size",
    ]);
    expectError(await callApi(t, "GET", `${URL}?limit=ten`, t.adminKey), 422, "validation_error", [
      "query",
      "limit",
    ]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "GET", URL);
  });
});
