import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectUnauthenticated } from "../helpers/api.js";
import { newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/user/api-keys";

describe("GET /api/v1/user/api-keys", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("lists the caller's keys in creation order without secrets", async () => {
    const user = await newUserKey(t, { role: "reader" });
    const second = (await callApi(t, "POST", URL, user.key, { name: "second", read_only: true })).json();
    const res = await callApi(t, "GET", URL, user.key);
    assert.equal(res.statusCode, 200);
    const keys = res.json();
    assert.deepEqual(
      keys.map((k: { name: string }) => k.name),
      ["reader key", "second"],
    );
    assert.deepEqual(Object.keys(keys[1]).sort(), [
      "created_at",
      "expires_at",
      "id",
      "last_used_at",
      "name",
      "org_id",
      "prefix",
      "read_only",
      "runtime_id",
    ]);
    assert.equal(keys[1].id, second.id);
    assert.equal(keys[1].prefix, second.prefix);
    assert.equal(keys[1].read_only, true);
    assert.equal(keys[1].org_id, null);
    assert.ok(!res.body.includes(user.key) && !res.body.includes(second.key));
  });

  test("reports when a key was last used", async () => {
    const user = await newUserKey(t, { role: "reader" });
    await callApi(t, "GET", "/api/v1/user/me", user.key);
    // The use is recorded off the request path; on a pooled database it may land a request later.
    let lastUsedAt: string | null = null;
    for (let attempt = 0; attempt < 20 && lastUsedAt === null; attempt++) {
      lastUsedAt = (await callApi(t, "GET", URL, user.key)).json()[0].last_used_at;
    }
    assert.match(String(lastUsedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test("leaves out other users' keys", async () => {
    const user = await newUserKey(t, { role: "owner" });
    const keys = (await callApi(t, "GET", URL, user.key)).json();
    assert.deepEqual(
      keys.map((k: { name: string }) => k.name),
      ["owner key"],
    );
  });

  test("leaves out revoked keys", async () => {
    const user = await newUserKey(t, { role: "reader" });
    const extra = (await callApi(t, "POST", URL, user.key, { name: "temporary" })).json();
    assert.equal((await callApi(t, "DELETE", `${URL}/${extra.id}`, user.key)).statusCode, 204);
    const keys = (await callApi(t, "GET", URL, user.key)).json();
    assert.deepEqual(
      keys.map((k: { name: string }) => k.name),
      ["reader key"],
    );
  });

  test("answers a read-only key", async () => {
    const readOnly = await newUserKey(t, { role: "reader", readOnly: true });
    assert.equal((await callApi(t, "GET", URL, readOnly.key)).statusCode, 200);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "GET", URL);
  });
});
