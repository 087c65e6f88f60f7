import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default";

describe("PATCH /api/v1/org/{org}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("updates the name and description and bumps updated_at", async () => {
    const before = (await callApi(t, "GET", URL, t.adminKey)).json();
    t.advanceClock(1000);
    const res = await callApi(t, "PATCH", URL, t.adminKey, { name: "Renamed", description: "Ours" });
    assert.equal(res.statusCode, 200, res.body);
    const org = res.json();
    assert.equal(org.name, "Renamed");
    assert.equal(org.description, "Ours");
    assert.equal(org.role, "owner");
    assert.equal(org.created_at, before.created_at);
    assert.ok(org.updated_at > before.updated_at);
  });

  test("leaves fields that are not sent unchanged and clears a description set to null", async () => {
    await callApi(t, "PATCH", URL, t.adminKey, { name: "Kept", description: "Soon gone" });
    const org = (await callApi(t, "PATCH", URL, t.adminKey, { description: null })).json();
    assert.equal(org.name, "Kept");
    assert.equal(org.description, null);
  });

  test("records org.updated with the changed fields", async () => {
    await callApi(t, "PATCH", URL, t.adminKey, { name: "Audited" });
    const audit = (await callApi(t, "GET", "/api/v1/org/default/audit?limit=1", t.adminKey)).json();
    assert.equal(audit.items[0].action, "org.updated");
    assert.deepEqual(audit.items[0].data, { name: "Audited" });
  });

  test("forbids a contributor with 403", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    expectError(await callApi(t, "PATCH", URL, contributor.key, { name: "No" }), 403, "forbidden_error");
  });

  test("forbids a read-only owner key with 403", async () => {
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    expectError(await callApi(t, "PATCH", URL, readOnly.key, { name: "No" }), 403, "forbidden_error");
  });

  test("answers 404 to a non-member and for an unknown org", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "PATCH", URL, stranger.key, { name: "No" }), 404, "not_found_error");
    expectError(
      await callApi(t, "PATCH", "/api/v1/org/nowhere", t.adminKey, { name: "No" }),
      404,
      "not_found_error",
    );
  });

  test("rejects the key (immutable) and other unknown fields with 422", async () => {
    expectError(await callApi(t, "PATCH", URL, t.adminKey, { key: "other" }), 422, "validation_error", [
      "body",
      "key",
    ]);
  });

  test("rejects an empty update and an empty name with 422", async () => {
    expectError(await callApi(t, "PATCH", URL, t.adminKey, {}), 422, "validation_error", ["body"]);
    expectError(await callApi(t, "PATCH", URL, t.adminKey, { name: "" }), 422, "validation_error", [
      "body",
      "name",
    ]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "PATCH", URL, { name: "Anon" });
  });
});
