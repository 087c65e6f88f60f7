import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/ws/main/runtimes";
const MISSING_ID = "2489E9AD-2EE2-8E00-8EC9-32D5F69181C0";

describe("PATCH /api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}", () => {
  let t: TestApp;
  let runtimeUrl: string;
  before(async () => {
    t = await buildTestApp();
    runtimeUrl = `${URL}/${t.runtimeId}`;
  });
  after(() => t.close());

  test("updates the name and description and moves updated_at", async () => {
    const original = (await callApi(t, "GET", runtimeUrl, t.adminKey)).json();
    t.advanceClock(1000);
    const res = await callApi(t, "PATCH", runtimeUrl, t.adminKey, {
      name: "Renamed",
      description: "Now described",
    });
    assert.equal(res.statusCode, 200, res.body);
    const runtime = res.json();
    assert.equal(runtime.name, "Renamed");
    assert.equal(runtime.description, "Now described");
    assert.equal(runtime.key, original.key);
    assert.equal(runtime.created_at, original.created_at);
    assert.ok(runtime.updated_at > original.updated_at);
    assert.deepEqual((await callApi(t, "GET", runtimeUrl, t.adminKey)).json(), runtime);
  });

  test("clears the description with null and leaves the name alone", async () => {
    const res = await callApi(t, "PATCH", `${URL}/${t.runtimeId.toUpperCase()}`, t.adminKey, {
      description: null,
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().description, null);
    assert.equal(res.json().name, "Renamed");
  });

  test("records runtime.updated with the changed fields", async () => {
    await callApi(t, "PATCH", runtimeUrl, t.adminKey, { name: "Audited" });
    const event = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "runtime.updated")
      .orderBy("id", "desc")
      .executeTakeFirstOrThrow();
    assert.equal(event.target_id, t.runtimeId);
    assert.deepEqual(JSON.parse(event.data), { name: "Audited" });
  });

  test("lets a contributor update", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    assert.equal(
      (await callApi(t, "PATCH", runtimeUrl, contributor.key, { name: "By contributor" })).statusCode,
      200,
    );
  });

  test("forbids a reader and a read-only key with 403", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    expectError(await callApi(t, "PATCH", runtimeUrl, reader.key, { name: "No" }), 403, "forbidden_error");
    expectError(await callApi(t, "PATCH", runtimeUrl, readOnly.key, { name: "No" }), 403, "forbidden_error");
  });

  test("answers 401 without a valid key", async () => {
    await expectUnauthenticated(t, "PATCH", runtimeUrl, { name: "Anon" });
  });

  test("answers 404 to a non-member, in another workspace and for an unknown runtime", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "PATCH", runtimeUrl, stranger.key, { name: "S" }), 404, "not_found_error");
    await newWorkspace(t, "default", "other");
    const elsewhere = `/api/v1/org/default/ws/other/runtimes/${t.runtimeId}`;
    expectError(await callApi(t, "PATCH", elsewhere, t.adminKey, { name: "S" }), 404, "not_found_error");
    expectError(
      await callApi(t, "PATCH", `${URL}/${MISSING_ID}`, t.adminKey, { name: "S" }),
      404,
      "not_found_error",
    );
  });

  test("rejects an empty body, an unknown field and an empty name with 422", async () => {
    expectError(await callApi(t, "PATCH", runtimeUrl, t.adminKey, {}), 422, "validation_error", ["body"]);
    expectError(
      await callApi(t, "PATCH", runtimeUrl, t.adminKey, { key: "rekey" }),
      422,
      "validation_error",
      ["body", "key"],
    );
    expectError(await callApi(t, "PATCH", runtimeUrl, t.adminKey, { name: "" }), 422, "validation_error", [
      "body",
      "name",
    ]);
  });

  test("rejects a runtime id that is not a UUID with 422 at path.runtime_id", async () => {
    const res = await callApi(t, "PATCH", `${URL}/default`, t.adminKey, { name: "X" });
    expectError(res, 422, "validation_error", ["path", "runtime_id"]);
  });
});
