import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectUnauthenticated } from "../helpers/api.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/user/organizations";

describe("GET /api/v1/user/organizations", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("lists the caller's orgs by key as a bare array with the caller's role in each", async () => {
    await newOrg(t, "acme");
    const res = await callApi(t, "GET", URL, t.adminKey);
    assert.equal(res.statusCode, 200);
    const orgs = res.json();
    assert.deepEqual(
      orgs.map((o: { key: string; role: string }) => [o.key, o.role]),
      [
        ["acme", "owner"],
        ["default", "owner"],
      ],
    );
    assert.deepEqual(Object.keys(orgs[0]).sort(), [
      "created_at",
      "description",
      "id",
      "key",
      "name",
      "role",
      "updated_at",
    ]);
  });

  test("shows a reader their reader role", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    const res = await callApi(t, "GET", URL, reader.key);
    assert.deepEqual(
      res.json().map((o: { key: string; role: string }) => [o.key, o.role]),
      [["default", "reader"]],
    );
  });

  test("leaves out orgs the caller does not belong to", async () => {
    const stranger = await newStranger(t);
    const res = await callApi(t, "GET", URL, stranger.key);
    assert.deepEqual(
      res.json().map((o: { key: string }) => o.key),
      [stranger.org],
    );
  });

  test("answers a read-only key", async () => {
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    assert.equal((await callApi(t, "GET", URL, readOnly.key)).statusCode, 200);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "GET", URL);
  });
});
