import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newOrg, newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/ws/main/runtimes";
const MISSING_ID = "2489E9AD-2EE2-8E00-8EC9-32D5F69181C0";

describe("GET /api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("returns the bootstrap runtime", async () => {
    const res = await callApi(t, "GET", `${URL}/${t.runtimeId}`, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    const runtime = res.json();
    assert.equal(runtime.id, t.runtimeId);
    assert.equal(runtime.key, "default");
    assert.equal(runtime.status, "idle");
    assert.equal(runtime.config_version, "v2");
    assert.equal(runtime.capability_count, 0);
  });

  test("accepts the runtime id in upper case", async () => {
    const res = await callApi(t, "GET", `${URL}/${t.runtimeId.toUpperCase()}`, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().id, t.runtimeId);
  });

  test("lets a reader and a read-only key read", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    assert.equal((await callApi(t, "GET", `${URL}/${t.runtimeId}`, reader.key)).statusCode, 200);
    assert.equal((await callApi(t, "GET", `${URL}/${t.runtimeId}`, readOnly.key)).statusCode, 200);
  });

  test("answers 401 without a valid key", async () => {
    await expectUnauthenticated(t, "GET", `${URL}/${t.runtimeId}`);
  });

  test("answers 404 to a non-member", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", `${URL}/${t.runtimeId}`, stranger.key), 404, "not_found_error");
  });

  test("answers 404 for a runtime of another workspace or another org", async () => {
    await newWorkspace(t, "default", "other");
    const elsewhere = `/api/v1/org/default/ws/other/runtimes/${t.runtimeId}`;
    expectError(await callApi(t, "GET", elsewhere, t.adminKey), 404, "not_found_error");
    await newOrg(t, "second");
    const otherOrg = `/api/v1/org/second/ws/main/runtimes/${t.runtimeId}`;
    expectError(await callApi(t, "GET", otherOrg, t.adminKey), 404, "not_found_error");
  });

  test("answers 404 for an unknown runtime id", async () => {
    expectError(await callApi(t, "GET", `${URL}/${MISSING_ID}`, t.adminKey), 404, "not_found_error");
  });

  test("rejects a runtime id that is not a UUID with 422 at path.runtime_id", async () => {
    const res = await callApi(t, "GET", `${URL}/default`, t.adminKey);
    expectError(res, 422, "validation_error", ["path", "runtime_id"]);
  });
});
