import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const KEY_FORMAT = /^cst_[a-z2-7]{12}_[A-Za-z0-9]{32,128}$/;
const DAY_MS = 24 * 60 * 60 * 1000;

describe("POST /api/v1/user/api-keys", () => {
  const URL = "/api/v1/user/api-keys";
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("creates a key for the caller and shows the plaintext once", async () => {
    const res = await callApi(t, "POST", URL, t.adminKey, { name: "ci" });
    assert.equal(res.statusCode, 201, res.body);
    const created = res.json();
    assert.deepEqual(Object.keys(created).sort(), [
      "created_at",
      "expires_at",
      "id",
      "key",
      "name",
      "prefix",
      "read_only",
    ]);
    assert.match(created.key, KEY_FORMAT);
    assert.equal(created.key.split("_")[1], created.prefix);
    assert.equal(created.read_only, false);
    assert.equal(created.expires_at, null);
    const me = await callApi(t, "GET", "/api/v1/user/me", created.key);
    assert.equal(me.json().email, "admin@localhost");
  });

  test("stores only a hash of the key", async () => {
    const created = (await callApi(t, "POST", URL, t.adminKey, { name: "hashed" })).json();
    const row = await t.deps.db
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", created.id)
      .executeTakeFirstOrThrow();
    assert.notEqual(row.key_hash, created.key);
    assert.ok(!Object.values(row).includes(created.key));
  });

  test("sets expires_at expires_in_days after creation", async () => {
    const created = (
      await callApi(t, "POST", URL, t.adminKey, { name: "short", expires_in_days: 30 })
    ).json();
    assert.equal(Date.parse(created.expires_at) - Date.parse(created.created_at), 30 * DAY_MS);
  });

  test("creates a read-only key that can read but not mutate", async () => {
    const created = (await callApi(t, "POST", URL, t.adminKey, { name: "ro", read_only: true })).json();
    assert.equal(created.read_only, true);
    assert.equal((await callApi(t, "GET", "/api/v1/user/me", created.key)).statusCode, 200);
    expectError(await callApi(t, "POST", URL, created.key, { name: "escalate" }), 403, "forbidden_error");
  });

  test("limits the key to `org` when given, and a key minted by a limited key to the same org", async () => {
    await newOrg(t, "limits");
    const limited = (
      await callApi(t, "POST", URL, t.adminKey, { name: "only default", org: "default" })
    ).json();
    const orgs = (await callApi(t, "GET", "/api/v1/user/organizations", limited.key)).json();
    assert.deepEqual(
      orgs.map((o: { key: string }) => o.key),
      ["default"],
    );
    expectError(await callApi(t, "GET", "/api/v1/org/limits", limited.key), 404, "not_found_error");
    const child = (await callApi(t, "POST", URL, limited.key, { name: "child" })).json();
    expectError(await callApi(t, "GET", "/api/v1/org/limits", child.key), 404, "not_found_error");
    assert.equal((await callApi(t, "GET", "/api/v1/org/default", child.key)).statusCode, 200);
    // A limited key cannot widen itself by naming another org.
    expectError(
      await callApi(t, "POST", URL, limited.key, { name: "wider", org: "limits" }),
      404,
      "not_found_error",
    );
  });

  test("answers 404 for an org the caller is not a member of", async () => {
    const stranger = await newStranger(t);
    expectError(
      await callApi(t, "POST", URL, stranger.key, { name: "x", org: "default" }),
      404,
      "not_found_error",
    );
  });

  test("lets a reader create keys for themselves", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    assert.equal((await callApi(t, "POST", URL, reader.key, { name: "mine" })).statusCode, 201);
  });

  test("rejects an unknown field with 422 at its location", async () => {
    const res = await callApi(t, "POST", URL, t.adminKey, { name: "x", readonly: true });
    expectError(res, 422, "validation_error", ["body", "readonly"]);
  });

  test("rejects a blank name with 422 at body.name", async () => {
    const res = await callApi(t, "POST", URL, t.adminKey, { name: "  " });
    expectError(res, 422, "validation_error", ["body", "name"]);
  });

  test("rejects a missing name with 422", async () => {
    expectError(await callApi(t, "POST", URL, t.adminKey, {}), 422, "validation_error", ["body", "name"]);
  });

  test("rejects expires_in_days outside 1..3650 or not an integer with 422", async () => {
    for (const days of [0, 3651, 1.5, "7"]) {
      const res = await callApi(t, "POST", URL, t.adminKey, { name: "x", expires_in_days: days });
      expectError(res, 422, "validation_error", ["body", "expires_in_days"]);
    }
  });

  test("rejects a non-boolean read_only with 422", async () => {
    const res = await callApi(t, "POST", URL, t.adminKey, { name: "x", read_only: "yes" });
    expectError(res, 422, "validation_error", ["body", "read_only"]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "POST", URL, { name: "x" });
  });
});

describe("the removed route POST /api/v1/org/{org}/members/{user_id}/api-keys", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  // An owner could add anyone by email and mint a key that acted as them in all their orgs.
  test("answers 404 like any unknown route and mints nothing", async () => {
    const victim = await newUserKey(t, { role: "reader" });
    const attacker = await newStranger(t);
    const added = await callApi(t, "POST", `/api/v1/org/${attacker.org}/members`, attacker.key, {
      email: victim.email,
      role: "reader",
    });
    assert.equal(added.statusCode, 201, added.body);
    const before = await t.deps.db
      .selectFrom("api_keys")
      .select("id")
      .where("user_id", "=", victim.userId)
      .execute();
    const url = `/api/v1/org/${attacker.org}/members/${victim.userId}/api-keys`;
    expectError(await callApi(t, "POST", url, attacker.key, { name: "takeover" }), 404, "not_found_error");
    const afterwards = await t.deps.db
      .selectFrom("api_keys")
      .select("id")
      .where("user_id", "=", victim.userId)
      .execute();
    assert.deepEqual(afterwards, before);
  });
});
