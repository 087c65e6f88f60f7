import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { seedCapability } from "../../scripts/seed.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import {
  bind,
  bindingUrl,
  listBindings,
  mintRuntimeToken,
  newRuntime,
  readResolved,
} from "../helpers/bindings.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

describe("DELETE RT/capabilities/{binding_id}", () => {
  let t: TestApp;

  before(async () => {
    t = await buildTestApp();
    await seedCapability(t.deps, { name: "alpha", versions: ["1.0.0"] });
    await seedCapability(t.deps, { name: "beta", versions: ["1.0.0"] });
  });
  after(() => t.close());

  test("removes the binding with 204: it leaves the list and the resolved set", async () => {
    const runtimeId = await newRuntime(t, "remove");
    const alpha = await bind(t, runtimeId, { name: "alpha" });
    await bind(t, runtimeId, { name: "beta" });
    assert.equal((await readResolved(t, runtimeId)).capabilities.length, 2);
    const res = await callApi(t, "DELETE", bindingUrl(runtimeId, alpha.id), t.adminKey);
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, "");
    assert.deepEqual(
      (await listBindings(t, runtimeId)).map((b) => b.capability_name),
      ["beta"],
    );
    assert.deepEqual(
      (await readResolved(t, runtimeId)).capabilities.map((c) => c.name),
      ["beta"],
    );
  });

  test("records the removal in the audit log", async () => {
    const runtimeId = await newRuntime(t, "audited");
    const binding = await bind(t, runtimeId, { name: "alpha" });
    await callApi(t, "DELETE", bindingUrl(runtimeId, binding.id), t.adminKey);
    const event = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "runtime.capability.removed")
      .where("target_id", "=", binding.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(event.data), { runtime_id: runtimeId, name: "alpha", version: "1.0.0" });
  });

  test("allows binding the capability again after removal", async () => {
    const runtimeId = await newRuntime(t, "rebind");
    const binding = await bind(t, runtimeId, { name: "alpha" });
    await callApi(t, "DELETE", bindingUrl(runtimeId, binding.id), t.adminKey);
    assert.equal((await bind(t, runtimeId, { name: "alpha" })).revision, 1);
  });

  test("answers 404 for a binding already removed", async () => {
    const runtimeId = await newRuntime(t, "twice");
    const binding = await bind(t, runtimeId, { name: "alpha" });
    assert.equal((await callApi(t, "DELETE", bindingUrl(runtimeId, binding.id), t.adminKey)).statusCode, 204);
    expectError(
      await callApi(t, "DELETE", bindingUrl(runtimeId, binding.id), t.adminKey),
      404,
      "not_found_error",
    );
  });

  test("honours If-Match: a stale revision is 409 and keeps the binding", async () => {
    const runtimeId = await newRuntime(t, "if-match");
    const binding = await bind(t, runtimeId, { name: "alpha" });
    const url = bindingUrl(runtimeId, binding.id);
    const stale = await t.app.inject({
      method: "DELETE",
      url,
      headers: { ...bearer(t.adminKey), "if-match": '"7"' },
    });
    expectError(stale, 409, "conflict_error");
    const current = await t.app.inject({
      method: "DELETE",
      url,
      headers: { ...bearer(t.adminKey), "if-match": '"1"' },
    });
    assert.equal(current.statusCode, 204);
  });

  test("forbids readers, read-only keys and runtime tokens with 403", async () => {
    const runtimeId = await newRuntime(t, "forbidden");
    const binding = await bind(t, runtimeId, { name: "alpha" });
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    const token = await mintRuntimeToken(t, runtimeId);
    for (const key of [reader.key, readOnly.key, token]) {
      expectError(await callApi(t, "DELETE", bindingUrl(runtimeId, binding.id), key), 403, "forbidden_error");
    }
    assert.equal((await listBindings(t, runtimeId)).length, 1);
  });

  test("rejects a missing or unknown key with 401, a stranger with 404 and a malformed id with 422", async () => {
    const runtimeId = await newRuntime(t, "others");
    const binding = await bind(t, runtimeId, { name: "alpha" });
    await expectUnauthenticated(t, "DELETE", bindingUrl(runtimeId, binding.id));
    const stranger = await newStranger(t);
    expectError(
      await callApi(t, "DELETE", bindingUrl(runtimeId, binding.id), stranger.key),
      404,
      "not_found_error",
    );
    expectError(
      await callApi(t, "DELETE", bindingUrl(runtimeId, "42"), t.adminKey),
      422,
      "validation_error",
      ["path", "binding_id"],
    );
  });
});
