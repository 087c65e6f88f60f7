import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/ws/main";

describe("GET /api/v1/org/{org}/ws/{workspace}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("returns the workspace", async () => {
    const res = await callApi(t, "GET", URL, t.adminKey);
    assert.equal(res.statusCode, 200);
    const workspace = res.json();
    assert.equal(workspace.key, "main");
    assert.equal(workspace.name, "Main");
    assert.equal(workspace.description, null);
    assert.equal(workspace.is_default, true);
  });

  test("lets a reader with a read-only key read it", async () => {
    const reader = await newUserKey(t, { role: "reader", readOnly: true });
    assert.equal((await callApi(t, "GET", URL, reader.key)).statusCode, 200);
  });

  test("answers 404 for an unknown workspace and to a non-member", async () => {
    expectError(
      await callApi(t, "GET", "/api/v1/org/default/ws/nowhere", t.adminKey),
      404,
      "not_found_error",
    );
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", URL, stranger.key), 404, "not_found_error");
    // The stranger's own org has a `main` too; it is not a way into `default`.
    assert.equal(
      (await callApi(t, "GET", `/api/v1/org/${stranger.org}/ws/main`, stranger.key)).statusCode,
      200,
    );
  });

  test("rejects a workspace that is not a slug with 422", async () => {
    const res = await callApi(t, "GET", "/api/v1/org/default/ws/Main", t.adminKey);
    expectError(res, 422, "validation_error", ["path", "workspace"]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "GET", URL);
  });
});
