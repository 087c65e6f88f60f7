import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default";

describe("GET /api/v1/org/{org}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("returns the org with the caller's role", async () => {
    const res = await callApi(t, "GET", URL, t.adminKey);
    assert.equal(res.statusCode, 200);
    const org = res.json();
    assert.deepEqual(Object.keys(org).sort(), [
      "created_at",
      "description",
      "id",
      "key",
      "name",
      "role",
      "updated_at",
    ]);
    assert.equal(org.key, "default");
    assert.equal(org.role, "owner");
  });

  test("lets a reader, also with a read-only key, read it", async () => {
    const reader = await newUserKey(t, { role: "reader", readOnly: true });
    const res = await callApi(t, "GET", URL, reader.key);
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().role, "reader");
  });

  test("answers 404 to a non-member and for an unknown org alike", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", URL, stranger.key), 404, "not_found_error");
    expectError(await callApi(t, "GET", "/api/v1/org/nowhere", t.adminKey), 404, "not_found_error");
  });

  test("rejects an org that is not a slug with 422", async () => {
    expectError(await callApi(t, "GET", "/api/v1/org/Not_A_Slug", t.adminKey), 422, "validation_error", [
      "path",
      "org",
    ]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "GET", URL);
  });
});
