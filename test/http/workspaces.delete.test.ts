import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const url = (workspace: string) => `/api/v1/org/default/ws/${workspace}`;

describe("DELETE /api/v1/org/{org}/ws/{workspace}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("lets a contributor delete an empty workspace with its projects", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    const workspace = await newWorkspace(t, "default", "empty");
    const res = await callApi(t, "DELETE", url("empty"), contributor.key);
    assert.equal(res.statusCode, 204, res.body);
    assert.equal(res.body, "");
    expectError(await callApi(t, "GET", url("empty"), t.adminKey), 404, "not_found_error");
    const projects = await t.deps.db
      .selectFrom("projects")
      .select("id")
      .where("workspace_id", "=", workspace.id)
      .execute();
    assert.deepEqual(projects, []);
  });

  test("frees the key for a new workspace", async () => {
    await newWorkspace(t, "default", "reused");
    await callApi(t, "DELETE", url("reused"), t.adminKey);
    const res = await callApi(t, "POST", "/api/v1/org/default/ws", t.adminKey, {
      key: "reused",
      name: "Again",
    });
    assert.equal(res.statusCode, 201, res.body);
  });

  test("records workspace.deleted", async () => {
    const workspace = await newWorkspace(t, "default", "audited");
    await callApi(t, "DELETE", url("audited"), t.adminKey);
    const audit = (await callApi(t, "GET", "/api/v1/org/default/audit?limit=1", t.adminKey)).json();
    assert.equal(audit.items[0].action, "workspace.deleted");
    assert.equal(audit.items[0].target_id, workspace.id);
  });

  test("refuses with 409 conflict_error while the workspace has runtimes", async () => {
    await newWorkspace(t, "default", "busy");
    const runtime = await callApi(t, "POST", "/api/v1/org/default/ws/busy/runtimes", t.adminKey, {
      key: "agent",
      name: "Agent",
    });
    assert.equal(runtime.statusCode, 201, runtime.body);
    expectError(await callApi(t, "DELETE", url("busy"), t.adminKey), 409, "conflict_error");
    assert.equal((await callApi(t, "GET", url("busy"), t.adminKey)).statusCode, 200);
  });

  test("a delete racing a runtime created in the workspace: one of them wins, never both, never a 500", async () => {
    for (let i = 0; i < 10; i++) {
      const key = `racing-${i}`;
      await newWorkspace(t, "default", key);
      const [deleted, created] = await Promise.all([
        callApi(t, "DELETE", url(key), t.adminKey),
        callApi(t, "POST", `${url(key)}/runtimes`, t.adminKey, { key: "racer", name: "R" }),
      ]);
      const outcome = `${deleted.statusCode}/${created.statusCode}`;
      assert.ok(
        outcome === "204/404" || outcome === "409/201",
        `${outcome}: ${deleted.body} ${created.body}`,
      );
      const runtime = await t.deps.db
        .selectFrom("runtimes")
        .innerJoin("workspaces", "workspaces.id", "runtimes.workspace_id")
        .select("runtimes.id")
        .where("workspaces.key", "=", key)
        .executeTakeFirst();
      assert.equal(runtime !== undefined, created.statusCode === 201, outcome);
    }
  });

  test("a PATCH racing the workspace's delete is 200 or 404, never a 500", async () => {
    for (let i = 0; i < 10; i++) {
      const key = `patch-race-${i}`;
      await newWorkspace(t, "default", key);
      const [deleted, patched] = await Promise.all([
        callApi(t, "DELETE", url(key), t.adminKey),
        callApi(t, "PATCH", url(key), t.adminKey, { name: "Renamed" }),
      ]);
      assert.equal(deleted.statusCode, 204, deleted.body);
      assert.ok([200, 404].includes(patched.statusCode), `${patched.statusCode}: ${patched.body}`);
    }
  });

  test("refuses with 409 conflict_error to delete the default workspace", async () => {
    const res = await callApi(t, "DELETE", "/api/v1/org/default/ws/main", t.adminKey);
    expectError(res, 409, "conflict_error");
  });

  test("forbids a reader with 403", async () => {
    await newWorkspace(t, "default", "kept-from-reader");
    const reader = await newUserKey(t, { role: "reader" });
    expectError(await callApi(t, "DELETE", url("kept-from-reader"), reader.key), 403, "forbidden_error");
  });

  test("forbids a read-only owner key with 403", async () => {
    await newWorkspace(t, "default", "kept-from-ro");
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    expectError(await callApi(t, "DELETE", url("kept-from-ro"), readOnly.key), 403, "forbidden_error");
  });

  test("answers 404 for an unknown workspace and to a non-member", async () => {
    expectError(await callApi(t, "DELETE", url("nowhere"), t.adminKey), 404, "not_found_error");
    await newWorkspace(t, "default", "kept-from-stranger");
    const stranger = await newStranger(t);
    expectError(await callApi(t, "DELETE", url("kept-from-stranger"), stranger.key), 404, "not_found_error");
  });

  test("rejects a workspace that is not a slug with 422", async () => {
    expectError(await callApi(t, "DELETE", url("Nope!"), t.adminKey), 422, "validation_error", [
      "path",
      "workspace",
    ]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "DELETE", url("main"));
  });
});
