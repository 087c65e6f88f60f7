import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/ws";

describe("POST /api/v1/org/{org}/ws", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("lets a contributor create a workspace", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    const res = await callApi(t, "POST", URL, contributor.key, {
      key: "staging",
      name: "Staging",
      description: "Pre-prod",
    });
    assert.equal(res.statusCode, 201, res.body);
    const workspace = res.json();
    const org = (await callApi(t, "GET", "/api/v1/org/default", t.adminKey)).json();
    assert.equal(workspace.key, "staging");
    assert.equal(workspace.name, "Staging");
    assert.equal(workspace.description, "Pre-prod");
    assert.equal(workspace.org_id, org.id);
    assert.equal(workspace.is_default, false);
    const read = (await callApi(t, "GET", `${URL}/staging`, contributor.key)).json();
    assert.deepEqual(read, workspace);
  });

  test("creates the workspace's default project with it", async () => {
    const workspace = (await callApi(t, "POST", URL, t.adminKey, { key: "with-project", name: "P" })).json();
    const projects = (await callApi(t, "GET", `${URL}/with-project/projects`, t.adminKey)).json();
    assert.equal(projects.length, 1);
    assert.equal(projects[0].key, "default");
    assert.equal(projects[0].is_default, true);
    assert.equal(projects[0].workspace_id, workspace.id);
  });

  test("records workspace.created", async () => {
    const workspace = (await callApi(t, "POST", URL, t.adminKey, { key: "audited", name: "A" })).json();
    const audit = (await callApi(t, "GET", "/api/v1/org/default/audit?limit=1", t.adminKey)).json();
    assert.equal(audit.items[0].action, "workspace.created");
    assert.equal(audit.items[0].target_id, workspace.id);
  });

  test("answers 409 already_exists_error for a key in use in the org", async () => {
    expectError(
      await callApi(t, "POST", URL, t.adminKey, { key: "main", name: "Again" }),
      409,
      "already_exists_error",
    );
  });

  test("allows the same key in another org", async () => {
    await callApi(t, "POST", "/api/v1/orgs", t.adminKey, { key: "other", name: "Other" });
    const res = await callApi(t, "POST", "/api/v1/org/other/ws", t.adminKey, {
      key: "staging",
      name: "Staging",
    });
    assert.equal(res.statusCode, 201, res.body);
  });

  test("forbids a reader with 403", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    expectError(
      await callApi(t, "POST", URL, reader.key, { key: "nope", name: "No" }),
      403,
      "forbidden_error",
    );
  });

  test("forbids a read-only owner key with 403", async () => {
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    expectError(
      await callApi(t, "POST", URL, readOnly.key, { key: "nope", name: "No" }),
      403,
      "forbidden_error",
    );
  });

  test("answers 404 to a non-member and for an unknown org", async () => {
    const stranger = await newStranger(t);
    expectError(
      await callApi(t, "POST", URL, stranger.key, { key: "nope", name: "No" }),
      404,
      "not_found_error",
    );
    const res = await callApi(t, "POST", "/api/v1/org/nowhere/ws", t.adminKey, { key: "nope", name: "No" });
    expectError(res, 404, "not_found_error");
  });

  test("rejects a bad key, a missing name and unknown fields with 422", async () => {
    expectError(
      await callApi(t, "POST", URL, t.adminKey, { key: "Bad_Key", name: "X" }),
      422,
      "validation_error",
      ["body", "key"],
    );
    expectError(await callApi(t, "POST", URL, t.adminKey, { key: "ok" }), 422, "validation_error", [
      "body",
      "name",
    ]);
    const extra = await callApi(t, "POST", URL, t.adminKey, { key: "ok", name: "X", is_default: true });
    expectError(extra, 422, "validation_error", ["body", "is_default"]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "POST", URL, { key: "anon", name: "Anon" });
  });
});
