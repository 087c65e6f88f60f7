// GET, PATCH and DELETE of one project: the routes SPEC §2.3's "create/update/delete … projects"
// implies, shaped as the workspace routes are.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const PROJECTS = "/api/v1/org/default/ws/main/projects";
const RUNTIMES = "/api/v1/org/default/ws/main/runtimes";

describe("GET, PATCH, DELETE /api/v1/org/{org}/ws/{workspace}/projects/{project}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  const newProject = async (key: string) => {
    const res = await callApi(t, "POST", PROJECTS, t.adminKey, { key, name: `Project ${key}` });
    assert.equal(res.statusCode, 201, res.body);
    return res.json();
  };
  const auditOf = (action: string, targetId: string) =>
    t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", action)
      .where("target_id", "=", targetId)
      .executeTakeFirst();

  test("reads a project by key or by id (any letter case), as the list shows it", async () => {
    const project = await newProject("readable");
    const runtime = await callApi(t, "POST", RUNTIMES, t.adminKey, {
      key: "in-readable",
      name: "R",
      project: "readable",
    });
    assert.equal(runtime.statusCode, 201, runtime.body);
    const reader = await newUserKey(t, { role: "reader" });
    const byKey = await callApi(t, "GET", `${PROJECTS}/readable`, reader.key);
    assert.equal(byKey.statusCode, 200, byKey.body);
    assert.equal(byKey.json().runtime_count, 1);
    const listed = (await callApi(t, "GET", PROJECTS, t.adminKey))
      .json()
      .find((p: { key: string }) => p.key === "readable");
    assert.deepEqual(byKey.json(), listed);
    const byId = await callApi(t, "GET", `${PROJECTS}/${project.id.toUpperCase()}`, reader.key);
    assert.deepEqual(byId.json(), listed);
  });

  test("updates the name and clears the description, and records project.updated", async () => {
    const project = await newProject("renamed");
    const contributor = await newUserKey(t, { role: "contributor" });
    const res = await callApi(t, "PATCH", `${PROJECTS}/renamed`, contributor.key, {
      name: "New name",
      description: null,
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().name, "New name");
    assert.equal(res.json().description, null);
    assert.equal(res.json().key, "renamed");
    assert.ok(res.json().updated_at >= project.updated_at);
    assert.equal((await callApi(t, "GET", `${PROJECTS}/renamed`, t.adminKey)).json().name, "New name");
    const event = await auditOf("project.updated", project.id);
    assert.ok(event);
    assert.deepEqual(JSON.parse(event.data), {
      workspace: "main",
      key: "renamed",
      name: "New name",
      description: null,
    });
  });

  test("refuses an empty, blank or unknown-field PATCH with 422 and changes nothing", async () => {
    await newProject("strict");
    expectError(await callApi(t, "PATCH", `${PROJECTS}/strict`, t.adminKey, {}), 422, "validation_error");
    expectError(
      await callApi(t, "PATCH", `${PROJECTS}/strict`, t.adminKey, { name: "  " }),
      422,
      "validation_error",
      ["body", "name"],
    );
    expectError(
      await callApi(t, "PATCH", `${PROJECTS}/strict`, t.adminKey, { key: "other" }),
      422,
      "validation_error",
      ["body", "key"],
    );
    assert.equal((await callApi(t, "GET", `${PROJECTS}/strict`, t.adminKey)).json().name, "Project strict");
  });

  test("deletes a project without runtimes with 204, and records project.deleted", async () => {
    const project = await newProject("doomed");
    const res = await callApi(t, "DELETE", `${PROJECTS}/doomed`, t.adminKey);
    assert.equal(res.statusCode, 204, res.body);
    expectError(await callApi(t, "GET", `${PROJECTS}/doomed`, t.adminKey), 404, "not_found_error");
    assert.ok(await auditOf("project.deleted", project.id));
    expectError(await callApi(t, "DELETE", `${PROJECTS}/doomed`, t.adminKey), 404, "not_found_error");
  });

  test("refuses to delete a project with runtimes, or the default project, with 409", async () => {
    await newProject("occupied");
    const runtime = await callApi(t, "POST", RUNTIMES, t.adminKey, {
      key: "in-occupied",
      name: "R",
      project: "occupied",
    });
    expectError(await callApi(t, "DELETE", `${PROJECTS}/occupied`, t.adminKey), 409, "conflict_error");
    expectError(await callApi(t, "DELETE", `${PROJECTS}/default`, t.adminKey), 409, "conflict_error");
    assert.equal((await callApi(t, "GET", `${RUNTIMES}/${runtime.json().id}`, t.adminKey)).statusCode, 200);
    assert.equal(
      (await callApi(t, "DELETE", `${RUNTIMES}/${runtime.json().id}`, t.adminKey)).statusCode,
      204,
    );
    assert.equal((await callApi(t, "DELETE", `${PROJECTS}/occupied`, t.adminKey)).statusCode, 204);
  });

  test("a delete racing a runtime created in the project: one of them wins, never both, never a 500", async () => {
    for (let i = 0; i < 10; i++) {
      const key = `racing-${i}`;
      await newProject(key);
      const [deleted, created] = await Promise.all([
        callApi(t, "DELETE", `${PROJECTS}/${key}`, t.adminKey),
        callApi(t, "POST", RUNTIMES, t.adminKey, { key: `in-${key}`, name: "R", project: key }),
      ]);
      const outcome = `${deleted.statusCode}/${created.statusCode}`;
      assert.ok(
        outcome === "204/404" || outcome === "409/201",
        `${outcome}: ${deleted.body} ${created.body}`,
      );
      const runtimes = await t.deps.db
        .selectFrom("runtimes")
        .select("id")
        .where("key", "=", `in-${key}`)
        .execute();
      assert.equal(runtimes.length, created.statusCode === 201 ? 1 : 0);
    }
  });

  test("a PATCH racing the project's delete is 200 or 404, never a 500", async () => {
    for (let i = 0; i < 10; i++) {
      const key = `patch-race-${i}`;
      await newProject(key);
      const [deleted, patched] = await Promise.all([
        callApi(t, "DELETE", `${PROJECTS}/${key}`, t.adminKey),
        callApi(t, "PATCH", `${PROJECTS}/${key}`, t.adminKey, { name: "Renamed" }),
      ]);
      assert.equal(deleted.statusCode, 204, deleted.body);
      assert.ok([200, 404].includes(patched.statusCode), `${patched.statusCode}: ${patched.body}`);
    }
  });

  test("a reader or read-only key → 403 on PATCH and DELETE", async () => {
    await newProject("guarded");
    const reader = await newUserKey(t, { role: "reader" });
    expectError(
      await callApi(t, "PATCH", `${PROJECTS}/guarded`, reader.key, { name: "X" }),
      403,
      "forbidden_error",
    );
    expectError(await callApi(t, "DELETE", `${PROJECTS}/guarded`, reader.key), 403, "forbidden_error");
    assert.equal((await callApi(t, "GET", `${PROJECTS}/guarded`, t.adminKey)).json().name, "Project guarded");
  });

  test("a non-member → 404; an unknown project → 404; a malformed reference → 422; no key → 401", async () => {
    await newProject("private");
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", `${PROJECTS}/private`, stranger.key), 404, "not_found_error");
    expectError(await callApi(t, "DELETE", `${PROJECTS}/private`, stranger.key), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${PROJECTS}/nope`, t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${PROJECTS}/Not_A_Key`, t.adminKey), 422, "validation_error", [
      "path",
      "project",
    ]);
    await expectUnauthenticated(t, "GET", `${PROJECTS}/private`);
  });
});
