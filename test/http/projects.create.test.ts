import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/ws/main/projects";

describe("POST /api/v1/org/{org}/ws/{workspace}/projects", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("lets a contributor create a project", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    const res = await callApi(t, "POST", URL, contributor.key, {
      key: "agents",
      name: "Agents",
      description: "Bots",
    });
    assert.equal(res.statusCode, 201, res.body);
    const project = res.json();
    const workspace = (await callApi(t, "GET", "/api/v1/org/default/ws/main", t.adminKey)).json();
    assert.equal(project.key, "agents");
    assert.equal(project.name, "Agents");
    assert.equal(project.description, "Bots");
    assert.equal(project.workspace_id, workspace.id);
    assert.equal(project.is_default, false);
    assert.equal(project.runtime_count, 0);
    const listed = (await callApi(t, "GET", URL, t.adminKey)).json();
    assert.deepEqual(
      listed.find((p: { key: string }) => p.key === "agents"),
      project,
    );
  });

  test("records project.created", async () => {
    const project = (await callApi(t, "POST", URL, t.adminKey, { key: "audited", name: "A" })).json();
    const audit = (await callApi(t, "GET", "/api/v1/org/default/audit?limit=1", t.adminKey)).json();
    assert.equal(audit.items[0].action, "project.created");
    assert.equal(audit.items[0].target_id, project.id);
  });

  test("answers 409 already_exists_error for a key in use in the workspace", async () => {
    expectError(
      await callApi(t, "POST", URL, t.adminKey, { key: "default", name: "Again" }),
      409,
      "already_exists_error",
    );
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

  test("answers 404 for an unknown workspace and to a non-member", async () => {
    const res = await callApi(t, "POST", "/api/v1/org/default/ws/nowhere/projects", t.adminKey, {
      key: "x",
      name: "X",
    });
    expectError(res, 404, "not_found_error");
    const stranger = await newStranger(t);
    expectError(await callApi(t, "POST", URL, stranger.key, { key: "x", name: "X" }), 404, "not_found_error");
  });

  test("rejects a bad key, a missing name and unknown fields with 422", async () => {
    expectError(
      await callApi(t, "POST", URL, t.adminKey, { key: "no spaces", name: "X" }),
      422,
      "validation_error",
      ["body", "key"],
    );
    expectError(await callApi(t, "POST", URL, t.adminKey, { key: "ok" }), 422, "validation_error", [
      "body",
      "name",
    ]);
    const extra = await callApi(t, "POST", URL, t.adminKey, { key: "ok", name: "X", runtime_count: 3 });
    expectError(extra, 422, "validation_error", ["body", "runtime_count"]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "POST", URL, { key: "anon", name: "Anon" });
  });
});
