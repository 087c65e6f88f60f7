import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const KEYS = "/api/v1/user/api-keys";
const ME = "/api/v1/user/me";

describe("DELETE /api/v1/user/api-keys/{key_id}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  async function mintOwnKey(
    key: string,
    body: object = { name: "spare" },
  ): Promise<{ id: string; key: string }> {
    const res = await callApi(t, "POST", KEYS, key, body);
    assert.equal(res.statusCode, 201, res.body);
    return res.json();
  }

  test("revokes the key at once: its very next request is 401", async () => {
    const spare = await mintOwnKey(t.adminKey);
    // Warm the key cache, so the revocation has to evict it.
    assert.equal((await callApi(t, "GET", ME, spare.key)).statusCode, 200);
    const res = await callApi(t, "DELETE", `${KEYS}/${spare.id}`, t.adminKey);
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, "");
    expectError(await callApi(t, "GET", ME, spare.key), 401, "authentication_error");
  });

  test("lets a key revoke itself", async () => {
    const spare = await mintOwnKey(t.adminKey);
    assert.equal((await callApi(t, "DELETE", `${KEYS}/${spare.id}`, spare.key)).statusCode, 204);
    expectError(await callApi(t, "GET", ME, spare.key), 401, "authentication_error");
  });

  test("accepts the key id in upper case", async () => {
    const spare = await mintOwnKey(t.adminKey);
    assert.equal(
      (await callApi(t, "DELETE", `${KEYS}/${spare.id.toUpperCase()}`, t.adminKey)).statusCode,
      204,
    );
  });

  test("records api_key.revoked in the audit trail", async () => {
    const spare = await mintOwnKey(t.adminKey);
    await callApi(t, "DELETE", `${KEYS}/${spare.id}`, t.adminKey);
    const event = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "api_key.revoked")
      .where("target_id", "=", spare.id)
      .executeTakeFirst();
    assert.ok(event);
  });

  test("answers 404 for another user's key and leaves it working", async () => {
    const other = await newUserKey(t, { role: "owner" });
    const otherSpare = await mintOwnKey(other.key);
    expectError(await callApi(t, "DELETE", `${KEYS}/${otherSpare.id}`, t.adminKey), 404, "not_found_error");
    assert.equal((await callApi(t, "GET", ME, otherSpare.key)).statusCode, 200);
  });

  test("answers 404 for an unknown or already revoked key", async () => {
    expectError(await callApi(t, "DELETE", `${KEYS}/${randomUUID()}`, t.adminKey), 404, "not_found_error");
    const spare = await mintOwnKey(t.adminKey);
    await callApi(t, "DELETE", `${KEYS}/${spare.id}`, t.adminKey);
    expectError(await callApi(t, "DELETE", `${KEYS}/${spare.id}`, t.adminKey), 404, "not_found_error");
  });

  test("forbids a read-only key with 403", async () => {
    const readOnly = await mintOwnKey(t.adminKey, { name: "ro", read_only: true });
    const spare = await mintOwnKey(t.adminKey);
    expectError(await callApi(t, "DELETE", `${KEYS}/${spare.id}`, readOnly.key), 403, "forbidden_error");
  });

  test("rejects a key id that is not a UUID with 422", async () => {
    const res = await callApi(t, "DELETE", `${KEYS}/not-a-uuid`, t.adminKey);
    expectError(res, 422, "validation_error", ["path", "key_id"]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "DELETE", `${KEYS}/${randomUUID()}`);
  });
});

describe("API key expiry", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("answers 401 expired_token_error once the key's expiry has passed", async () => {
    const user = await newUserKey(t, { role: "reader", expiresInDays: 1 });
    assert.equal((await callApi(t, "GET", ME, user.key)).statusCode, 200);
    t.advanceClock(2 * 24 * 60 * 60 * 1000);
    expectError(await callApi(t, "GET", ME, user.key), 401, "expired_token_error");
  });
});
