import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/ws/editable";

describe("PATCH /api/v1/org/{org}/ws/{workspace}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    await newWorkspace(t, "default", "editable");
  });
  after(() => t.close());

  test("lets a contributor update the name and description", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    const before = (await callApi(t, "GET", URL, t.adminKey)).json();
    t.advanceClock(1000);
    const res = await callApi(t, "PATCH", URL, contributor.key, {
      name: "Edited",
      description: "Now described",
    });
    assert.equal(res.statusCode, 200, res.body);
    const workspace = res.json();
    assert.equal(workspace.name, "Edited");
    assert.equal(workspace.description, "Now described");
    assert.equal(workspace.key, "editable");
    assert.ok(workspace.updated_at > before.updated_at);
    assert.deepEqual((await callApi(t, "GET", URL, t.adminKey)).json(), workspace);
  });

  test("leaves fields that are not sent unchanged", async () => {
    await callApi(t, "PATCH", URL, t.adminKey, { name: "Named", description: "Kept" });
    const workspace = (await callApi(t, "PATCH", URL, t.adminKey, { name: "Renamed" })).json();
    assert.equal(workspace.description, "Kept");
  });

  test("records workspace.updated with the changed fields", async () => {
    await callApi(t, "PATCH", URL, t.adminKey, { description: null });
    const audit = (await callApi(t, "GET", "/api/v1/org/default/audit?limit=1", t.adminKey)).json();
    assert.equal(audit.items[0].action, "workspace.updated");
    assert.deepEqual(audit.items[0].data, { description: null });
  });

  test("forbids a reader with 403", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    expectError(await callApi(t, "PATCH", URL, reader.key, { name: "No" }), 403, "forbidden_error");
  });

  test("forbids a read-only owner key with 403", async () => {
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    expectError(await callApi(t, "PATCH", URL, readOnly.key, { name: "No" }), 403, "forbidden_error");
  });

  test("answers 404 for an unknown workspace and to a non-member", async () => {
    const res = await callApi(t, "PATCH", "/api/v1/org/default/ws/nowhere", t.adminKey, { name: "No" });
    expectError(res, 404, "not_found_error");
    const stranger = await newStranger(t);
    expectError(await callApi(t, "PATCH", URL, stranger.key, { name: "No" }), 404, "not_found_error");
  });

  test("rejects the key, an empty update and unknown fields with 422", async () => {
    expectError(await callApi(t, "PATCH", URL, t.adminKey, { key: "moved" }), 422, "validation_error", [
      "body",
      "key",
    ]);
    expectError(await callApi(t, "PATCH", URL, t.adminKey, {}), 422, "validation_error", ["body"]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "PATCH", URL, { name: "Anon" });
  });
});
