import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { seedCapability } from "../../scripts/seed.js";
import type { ChangeEvent } from "../../src/services/change-feed.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/ws/main/runtimes";
const MISSING_ID = "2489E9AD-2EE2-8E00-8EC9-32D5F69181C0";

describe("DELETE /api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    await seedCapability(t.deps, { name: "search", versions: ["1.0.0"] });
  });
  after(() => t.close());

  const newRuntime = async (key: string, capabilities: { name: string }[] = []): Promise<string> => {
    const res = await callApi(t, "POST", URL, t.adminKey, {
      key,
      name: key,
      config: { version: "v2", capabilities },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id;
  };

  test("deletes the runtime with its bindings and answers 204 with no body", async () => {
    const id = await newRuntime("doomed", [{ name: "search" }]);
    const res = await callApi(t, "DELETE", `${URL}/${id.toUpperCase()}`, t.adminKey);
    assert.equal(res.statusCode, 204, res.body);
    assert.equal(res.body, "");
    expectError(await callApi(t, "GET", `${URL}/${id}`, t.adminKey), 404, "not_found_error");
    const bindings = await t.deps.db
      .selectFrom("bindings")
      .select("id")
      .where("runtime_id", "=", id)
      .execute();
    assert.deepEqual(bindings, []);
  });

  test("a delete racing an install on the runtime: never a 500, never a binding left behind", async () => {
    for (let i = 0; i < 10; i++) {
      const id = await newRuntime(`racing-${i}`);
      const [deleted, installed] = await Promise.all([
        callApi(t, "DELETE", `${URL}/${id}`, t.adminKey),
        callApi(t, "POST", `${URL}/${id}/capabilities`, t.adminKey, { name: "search" }),
      ]);
      assert.equal(deleted.statusCode, 204, deleted.body);
      assert.ok([201, 404].includes(installed.statusCode), `${installed.statusCode}: ${installed.body}`);
      const bindings = await t.deps.db
        .selectFrom("bindings")
        .select("id")
        .where("runtime_id", "=", id)
        .execute();
      assert.deepEqual(bindings, []);
    }
  });

  test("a delete racing a runtime token for it: never a 500, never a token left behind", async () => {
    for (let i = 0; i < 10; i++) {
      const id = await newRuntime(`token-race-${i}`);
      const [deleted, minted] = await Promise.all([
        callApi(t, "DELETE", `${URL}/${id}`, t.adminKey),
        callApi(t, "POST", `${URL}/${id}/tokens`, t.adminKey, {}),
      ]);
      assert.equal(deleted.statusCode, 204, deleted.body);
      assert.ok([201, 404, 409].includes(minted.statusCode), `${minted.statusCode}: ${minted.body}`);
      const tokens = await t.deps.db
        .selectFrom("api_keys")
        .select("id")
        .where("runtime_id", "=", id)
        .execute();
      assert.deepEqual(tokens, []);
    }
  });

  test("records runtime.deleted and tells caches the runtime changed", async () => {
    const id = await newRuntime("noted");
    const events: ChangeEvent[] = [];
    const unsubscribe = t.deps.changes.subscribe((event) => events.push(event));
    try {
      assert.equal((await callApi(t, "DELETE", `${URL}/${id}`, t.adminKey)).statusCode, 204);
    } finally {
      unsubscribe();
    }
    // Besides the org's `events` notice (its event log grew), only this runtime's caches change.
    assert.deepEqual(
      events.filter((event) => event.kind !== "events"),
      [{ kind: "runtime", runtimeId: id }],
    );
    assert.equal(events.filter((event) => event.kind === "events").length, 1);
    const event = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "runtime.deleted")
      .where("target_id", "=", id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(event.data), { key: "noted" });
  });

  test("frees the key for a new runtime", async () => {
    const id = await newRuntime("reborn");
    await callApi(t, "DELETE", `${URL}/${id}`, t.adminKey);
    const again = await callApi(t, "POST", URL, t.adminKey, { key: "reborn", name: "Reborn" });
    assert.equal(again.statusCode, 201, again.body);
    assert.notEqual(again.json().id, id);
  });

  test("answers 404 when deleting twice", async () => {
    const id = await newRuntime("twice");
    assert.equal((await callApi(t, "DELETE", `${URL}/${id}`, t.adminKey)).statusCode, 204);
    expectError(await callApi(t, "DELETE", `${URL}/${id}`, t.adminKey), 404, "not_found_error");
  });

  test("lets a contributor delete", async () => {
    const id = await newRuntime("by-contributor");
    const contributor = await newUserKey(t, { role: "contributor" });
    assert.equal((await callApi(t, "DELETE", `${URL}/${id}`, contributor.key)).statusCode, 204);
  });

  test("forbids a reader and a read-only key with 403 and keeps the runtime", async () => {
    const id = await newRuntime("kept");
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    expectError(await callApi(t, "DELETE", `${URL}/${id}`, reader.key), 403, "forbidden_error");
    expectError(await callApi(t, "DELETE", `${URL}/${id}`, readOnly.key), 403, "forbidden_error");
    assert.equal((await callApi(t, "GET", `${URL}/${id}`, t.adminKey)).statusCode, 200);
  });

  test("answers 401 without a valid key", async () => {
    await expectUnauthenticated(t, "DELETE", `${URL}/${t.runtimeId}`);
  });

  test("answers 404 to a non-member, in another workspace and for an unknown runtime", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "DELETE", `${URL}/${t.runtimeId}`, stranger.key), 404, "not_found_error");
    await newWorkspace(t, "default", "other");
    const elsewhere = `/api/v1/org/default/ws/other/runtimes/${t.runtimeId}`;
    expectError(await callApi(t, "DELETE", elsewhere, t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "DELETE", `${URL}/${MISSING_ID}`, t.adminKey), 404, "not_found_error");
    assert.equal((await callApi(t, "GET", `${URL}/${t.runtimeId}`, t.adminKey)).statusCode, 200);
  });

  test("rejects a runtime id that is not a UUID with 422 at path.runtime_id", async () => {
    expectError(await callApi(t, "DELETE", `${URL}/default`, t.adminKey), 422, "validation_error", [
      "path",
      "runtime_id",
    ]);
  });
});
