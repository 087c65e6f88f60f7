import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newProject, newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/ws/main/projects";

describe("GET /api/v1/org/{org}/ws/{workspace}/projects", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  async function newRuntime(workspace: string, key: string, project: string): Promise<void> {
    const res = await callApi(t, "POST", `/api/v1/org/default/ws/${workspace}/runtimes`, t.adminKey, {
      key,
      name: key,
      project,
    });
    assert.equal(res.statusCode, 201, res.body);
  }

  test("lists the workspace's projects by key as a bare array with runtime counts", async () => {
    await newProject(t, "default", "main", "agents");
    await newProject(t, "default", "main", "batch");
    await newRuntime("main", "a1", "agents");
    await newRuntime("main", "a2", "agents");
    const res = await callApi(t, "GET", URL, t.adminKey);
    assert.equal(res.statusCode, 200);
    const projects = res.json();
    assert.deepEqual(
      projects.map((p: { key: string; runtime_count: number; is_default: boolean }) => [
        p.key,
        p.runtime_count,
        p.is_default,
      ]),
      [
        ["agents", 2, false],
        ["batch", 0, false],
        // The bootstrap runtime `default` lives in the default project.
        ["default", 1, true],
      ],
    );
    const workspace = (await callApi(t, "GET", "/api/v1/org/default/ws/main", t.adminKey)).json();
    assert.deepEqual(Object.keys(projects[0]).sort(), [
      "created_at",
      "description",
      "id",
      "is_default",
      "key",
      "name",
      "runtime_count",
      "updated_at",
      "workspace_id",
    ]);
    assert.equal(projects[0].workspace_id, workspace.id);
  });

  test("lists only the projects of the named workspace", async () => {
    await newWorkspace(t, "default", "side");
    await newProject(t, "default", "side", "only-here");
    const projects = (await callApi(t, "GET", "/api/v1/org/default/ws/side/projects", t.adminKey)).json();
    assert.deepEqual(
      projects.map((p: { key: string }) => p.key),
      ["default", "only-here"],
    );
  });

  test("lets a reader with a read-only key list them", async () => {
    const reader = await newUserKey(t, { role: "reader", readOnly: true });
    assert.equal((await callApi(t, "GET", URL, reader.key)).statusCode, 200);
  });

  test("answers 404 for an unknown workspace and to a non-member", async () => {
    const res = await callApi(t, "GET", "/api/v1/org/default/ws/nowhere/projects", t.adminKey);
    expectError(res, 404, "not_found_error");
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", URL, stranger.key), 404, "not_found_error");
  });

  test("rejects a workspace that is not a slug with 422", async () => {
    const res = await callApi(t, "GET", "/api/v1/org/default/ws/MAIN/projects", t.adminKey);
    expectError(res, 422, "validation_error", ["path", "workspace"]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "GET", URL);
  });
});
