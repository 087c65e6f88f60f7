import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/orgs";

describe("POST /api/v1/orgs", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("creates the org and makes the caller its owner", async () => {
    const user = await newUserKey(t, { role: "reader" });
    const res = await callApi(t, "POST", URL, user.key, {
      key: "acme",
      name: "Acme",
      description: "Rockets",
    });
    assert.equal(res.statusCode, 201, res.body);
    const org = res.json();
    assert.equal(org.key, "acme");
    assert.equal(org.name, "Acme");
    assert.equal(org.description, "Rockets");
    assert.equal(org.role, "owner");
    assert.equal(org.created_at, org.updated_at);
    const members = (await callApi(t, "GET", "/api/v1/org/acme/members", user.key)).json();
    assert.deepEqual(
      members.map((m: { user_id: string; role: string }) => [m.user_id, m.role]),
      [[user.userId, "owner"]],
    );
  });

  test("gives the new org a default workspace main with a default project", async () => {
    await callApi(t, "POST", URL, t.adminKey, { key: "ready", name: "Ready" });
    const workspace = (await callApi(t, "GET", "/api/v1/org/ready/ws/main", t.adminKey)).json();
    assert.equal(workspace.is_default, true);
    const projects = (await callApi(t, "GET", "/api/v1/org/ready/ws/main/projects", t.adminKey)).json();
    assert.deepEqual(
      projects.map((p: { key: string; is_default: boolean }) => [p.key, p.is_default]),
      [["default", true]],
    );
  });

  test("records org.created in the new org's audit log", async () => {
    const org = (await callApi(t, "POST", URL, t.adminKey, { key: "audited", name: "Audited" })).json();
    const audit = (await callApi(t, "GET", "/api/v1/org/audited/audit", t.adminKey)).json();
    assert.deepEqual(
      audit.items.map((e: { action: string; target_id: string }) => [e.action, e.target_id]),
      [["org.created", org.id]],
    );
  });

  test("answers 409 already_exists_error for a key in use", async () => {
    await callApi(t, "POST", URL, t.adminKey, { key: "taken", name: "First" });
    expectError(
      await callApi(t, "POST", URL, t.adminKey, { key: "taken", name: "Second" }),
      409,
      "already_exists_error",
    );
    expectError(
      await callApi(t, "POST", URL, t.adminKey, { key: "default", name: "Again" }),
      409,
      "already_exists_error",
    );
  });

  test("forbids a read-only key with 403", async () => {
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    expectError(
      await callApi(t, "POST", URL, readOnly.key, { key: "nope", name: "Nope" }),
      403,
      "forbidden_error",
    );
  });

  test("rejects a key that is not a slug with 422 at body.key", async () => {
    for (const key of ["Acme", "-acme", "a".repeat(64), "acme corp"]) {
      const res = await callApi(t, "POST", URL, t.adminKey, { key, name: "Bad" });
      expectError(res, 422, "validation_error", ["body", "key"]);
    }
  });

  test("rejects a missing name and an unknown field with 422", async () => {
    expectError(await callApi(t, "POST", URL, t.adminKey, { key: "x1" }), 422, "validation_error", [
      "body",
      "name",
    ]);
    const res = await callApi(t, "POST", URL, t.adminKey, { key: "x2", name: "X", owner: "me" });
    expectError(res, 422, "validation_error", ["body", "owner"]);
  });

  test("rejects a blank name with 422, saying so", async () => {
    for (const name of ["   ", "\t\n"]) {
      const res = await callApi(t, "POST", URL, t.adminKey, { key: "blank", name });
      expectError(res, 422, "validation_error", ["body", "name"]);
      assert.equal(res.json().errors[0].msg, "must not be blank");
    }
    assert.equal((await callApi(t, "GET", "/api/v1/org/blank", t.adminKey)).statusCode, 404);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "POST", URL, { key: "anon", name: "Anon" });
  });
});
