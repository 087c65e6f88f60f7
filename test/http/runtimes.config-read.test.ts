import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { seedCapability } from "../../scripts/seed.js";
import { canonicalDigest } from "../../src/domain/digests.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newOrg, newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/ws/main/runtimes";
const MISSING_ID = "2489E9AD-2EE2-8E00-8EC9-32D5F69181C0";

describe("GET /api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/config", () => {
  let t: TestApp;
  let runtimeUrl: string;
  before(async () => {
    t = await buildTestApp();
    runtimeUrl = `${URL}/${t.runtimeId}`;
    await seedCapability(t.deps, { name: "search", versions: ["1.0.0", "1.2.0"] });
    await newOrg(t, "vendor");
    await seedCapability(t.deps, { org: "vendor", name: "shared", public: true, versions: ["3.0.0"] });
  });
  after(() => t.close());

  test("shows a fresh runtime's config with no capabilities", async () => {
    const res = await callApi(t, "GET", `${runtimeUrl}/config`, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { config: { version: "v2", capabilities: [] } });
  });

  test("shows bindings made through the bindings API as capabilities, sorted by name", async () => {
    const bind = (payload: object) => callApi(t, "POST", `${runtimeUrl}/capabilities`, t.adminKey, payload);
    assert.equal((await bind({ name: "vendor/shared" })).statusCode, 201);
    assert.equal((await bind({ name: "search", version: "1.0.0", enabled: false })).statusCode, 201);
    const config = (await callApi(t, "GET", `${runtimeUrl}/config`, t.adminKey)).json().config;
    assert.deepEqual(config.capabilities, [
      { name: "search", version: "1.0.0", enabled: false },
      { name: "vendor/shared", version: "3.0.0", enabled: true },
    ]);
  });

  test("makes config_digest the digest of the config it shows, in the runtime and the list", async () => {
    const config = (await callApi(t, "GET", `${runtimeUrl}/config`, t.adminKey)).json().config;
    const runtime = (await callApi(t, "GET", runtimeUrl, t.adminKey)).json();
    assert.equal(runtime.config_digest, canonicalDigest(config));
    assert.equal(runtime.capability_count, 2);
    const listed = (await callApi(t, "GET", URL, t.adminKey)).json().items;
    assert.equal(
      listed.find((r: { id: string }) => r.id === t.runtimeId).config_digest,
      runtime.config_digest,
    );
  });

  test("changes config_digest when a binding changes", async () => {
    const original = (await callApi(t, "GET", runtimeUrl, t.adminKey)).json().config_digest;
    const items = (await callApi(t, "GET", `${runtimeUrl}/capabilities`, t.adminKey)).json().items;
    const search = items.find((b: { capability_name: string }) => b.capability_name === "search");
    const patched = await callApi(t, "PATCH", `${runtimeUrl}/capabilities/${search.id}`, t.adminKey, {
      enabled: true,
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const changed = (await callApi(t, "GET", runtimeUrl, t.adminKey)).json().config_digest;
    assert.notEqual(changed, original);
  });

  test("lets a reader and a read-only key read", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    assert.equal((await callApi(t, "GET", `${runtimeUrl}/config`, reader.key)).statusCode, 200);
    assert.equal((await callApi(t, "GET", `${runtimeUrl}/config`, readOnly.key)).statusCode, 200);
  });

  test("answers 401 without a valid key", async () => {
    await expectUnauthenticated(t, "GET", `${runtimeUrl}/config`);
  });

  test("answers 404 to a non-member, in another workspace and for an unknown runtime", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", `${runtimeUrl}/config`, stranger.key), 404, "not_found_error");
    await newWorkspace(t, "default", "other");
    const elsewhere = `/api/v1/org/default/ws/other/runtimes/${t.runtimeId}/config`;
    expectError(await callApi(t, "GET", elsewhere, t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${URL}/${MISSING_ID}/config`, t.adminKey), 404, "not_found_error");
  });

  test("rejects a runtime id that is not a UUID with 422 at path.runtime_id", async () => {
    const res = await callApi(t, "GET", `${URL}/default/config`, t.adminKey);
    expectError(res, 422, "validation_error", ["path", "runtime_id"]);
  });
});
