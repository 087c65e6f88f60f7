import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/members";

describe("GET /api/v1/org/{org}/members", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("lists members in joining order with their user details and roles", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    const res = await callApi(t, "GET", URL, t.adminKey);
    assert.equal(res.statusCode, 200);
    const members = res.json();
    assert.deepEqual(
      members.map((m: { email: string; role: string }) => [m.email, m.role]),
      [
        ["admin@localhost", "owner"],
        [reader.email, "reader"],
      ],
    );
    assert.deepEqual(Object.keys(members[1]).sort(), ["created_at", "email", "name", "role", "user_id"]);
    assert.equal(members[1].user_id, reader.userId);
  });

  test("lets a reader with a read-only key list them", async () => {
    const reader = await newUserKey(t, { role: "reader", readOnly: true });
    assert.equal((await callApi(t, "GET", URL, reader.key)).statusCode, 200);
  });

  test("answers 404 to a non-member and for an unknown org", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", URL, stranger.key), 404, "not_found_error");
    expectError(await callApi(t, "GET", "/api/v1/org/nowhere/members", t.adminKey), 404, "not_found_error");
  });

  test("rejects an org that is not a slug with 422", async () => {
    const res = await callApi(t, "GET", "/api/v1/org/BAD/members", t.adminKey);
    expectError(res, 422, "validation_error", ["path", "org"]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "GET", URL);
  });
});
