// Instance administration (SPEC §3): only instance admins create users, list them, give them keys
// and grant or remove admin; the bootstrap admin is the first, and the last one cannot be removed.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated, type Method } from "../helpers/api.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const USERS = "/api/v1/admin/users";

describe("instance admin routes", () => {
  let t: TestApp;
  let adminId: string;
  before(async () => {
    t = await buildTestApp();
    adminId = (await callApi(t, "GET", "/api/v1/user/me", t.adminKey)).json().id;
  });
  after(() => t.close());

  async function createUser(email: string, name = "Someone"): Promise<{ id: string }> {
    const res = await callApi(t, "POST", USERS, t.adminKey, { email, name });
    assert.equal(res.statusCode, 201, res.body);
    return res.json();
  }

  test("creates a user who has no org and no key until given one", async () => {
    const res = await callApi(t, "POST", USERS, t.adminKey, { email: "New@Example.test", name: "New" });
    assert.equal(res.statusCode, 201, res.body);
    const user = res.json();
    assert.deepEqual(Object.keys(user).sort(), [
      "created_at",
      "email",
      "id",
      "is_admin",
      "name",
      "service_org_id",
    ]);
    assert.equal(user.email, "new@example.test");
    assert.equal(user.is_admin, false);
    expectError(
      await callApi(t, "POST", USERS, t.adminKey, { email: "new@example.test", name: "Again" }),
      409,
      "already_exists_error",
    );
  });

  test("gives a user a key that acts as them, with the body and answer of POST /user/api-keys", async () => {
    const user = await createUser("keyed@example.test", "Keyed");
    const res = await callApi(t, "POST", `${USERS}/${user.id.toUpperCase()}/api-keys`, t.adminKey, {
      name: "first",
      read_only: true,
      expires_in_days: 7,
    });
    assert.equal(res.statusCode, 201, res.body);
    const minted = res.json();
    assert.deepEqual(Object.keys(minted).sort(), [
      "created_at",
      "expires_at",
      "id",
      "key",
      "name",
      "prefix",
      "read_only",
    ]);
    assert.equal(minted.read_only, true);
    const me = await callApi(t, "GET", "/api/v1/user/me", minted.key);
    assert.equal(me.json().id, user.id);
    assert.deepEqual((await callApi(t, "GET", "/api/v1/user/organizations", minted.key)).json(), []);
    const event = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("target_id", "=", minted.id)
      .executeTakeFirstOrThrow();
    assert.equal(event.action, "api_key.created");
    assert.equal(event.actor_user_id, adminId);
    assert.equal(JSON.parse(event.data).user_id, user.id);
  });

  test("limits a key to an org the user belongs to, and refuses one they do not with 422", async () => {
    const member = await newUserKey(t, { role: "reader" });
    const limited = await callApi(t, "POST", `${USERS}/${member.userId}/api-keys`, t.adminKey, {
      name: "limited",
      org: "default",
    });
    assert.equal(limited.statusCode, 201, limited.body);
    const orgs = (await callApi(t, "GET", "/api/v1/user/organizations", limited.json().key)).json();
    assert.deepEqual(
      orgs.map((o: { key: string }) => o.key),
      ["default"],
    );
    const stranger = await newStranger(t);
    expectError(
      await callApi(t, "POST", `${USERS}/${stranger.userId}/api-keys`, t.adminKey, {
        name: "x",
        org: "default",
      }),
      422,
      "validation_error",
      ["body", "org"],
    );
  });

  test("lists every user, oldest first, a page at a time", async () => {
    await createUser("list-1@example.test");
    await createUser("list-2@example.test");
    const seen: { id: string; email: string; is_admin: boolean }[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? "?limit=2" : `?limit=2&cursor=${cursor}`;
      const page = (await callApi(t, "GET", `${USERS}${query}`, t.adminKey)).json();
      assert.ok(page.items.length <= 2);
      seen.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor !== null);
    assert.equal(seen[0].email, "admin@localhost");
    assert.equal(seen[0].is_admin, true);
    const ids = seen.map((u) => u.id);
    assert.deepEqual(ids, [...ids].sort());
    assert.ok(seen.some((u) => u.email === "list-2@example.test"));
  });

  test("grants and removes admin; the last admin cannot be removed (409)", async () => {
    const user = await createUser("second-admin@example.test");
    const key = (await callApi(t, "POST", `${USERS}/${user.id}/api-keys`, t.adminKey, { name: "k" })).json()
      .key;
    expectError(await callApi(t, "GET", USERS, key), 403, "forbidden_error");
    const granted = await callApi(t, "PUT", `${USERS}/${user.id}`, t.adminKey, { is_admin: true });
    assert.equal(granted.statusCode, 200, granted.body);
    assert.equal(granted.json().is_admin, true);
    assert.equal((await callApi(t, "GET", USERS, key)).statusCode, 200);
    // The new admin removes the bootstrap admin, then cannot remove themselves.
    assert.equal((await callApi(t, "PUT", `${USERS}/${adminId}`, key, { is_admin: false })).statusCode, 200);
    expectError(await callApi(t, "GET", USERS, t.adminKey), 403, "forbidden_error");
    expectError(
      await callApi(t, "PUT", `${USERS}/${user.id}`, key, { is_admin: false }),
      409,
      "conflict_error",
    );
    assert.equal((await callApi(t, "PUT", `${USERS}/${adminId}`, key, { is_admin: true })).statusCode, 200);
    const events = await t.deps.db
      .selectFrom("audit_events")
      .select("data")
      .where("action", "=", "user.updated")
      .where("target_id", "=", adminId)
      .execute();
    assert.deepEqual(
      events.map((e) => JSON.parse(e.data)),
      [{ is_admin: false }, { is_admin: true }],
    );
  });

  test("refuses to make a service account an admin (409)", async () => {
    const account = (
      await callApi(t, "POST", "/api/v1/org/default/service-accounts", t.adminKey, {
        name: "bot",
        role: "reader",
      })
    ).json();
    expectError(
      await callApi(t, "PUT", `${USERS}/${account.user_id}`, t.adminKey, { is_admin: true }),
      409,
      "conflict_error",
    );
  });

  test("forbids everyone but instance admins with 403: org owners, limited and read-only admin keys", async () => {
    const owner = await newUserKey(t, { role: "owner" });
    const limitedAdmin = (
      await callApi(t, "POST", "/api/v1/user/api-keys", t.adminKey, { name: "limited", org: "default" })
    ).json().key;
    const readOnlyAdmin = (
      await callApi(t, "POST", "/api/v1/user/api-keys", t.adminKey, { name: "ro", read_only: true })
    ).json().key;
    const calls: [Method, string, unknown?][] = [
      ["GET", USERS],
      ["POST", USERS, { email: "nope@example.test", name: "Nope" }],
      ["PUT", `${USERS}/${owner.userId}`, { is_admin: true }],
      ["POST", `${USERS}/${owner.userId}/api-keys`, { name: "x" }],
    ];
    for (const [method, url, payload] of calls) {
      expectError(await callApi(t, method, url, owner.key, payload), 403, "forbidden_error");
      expectError(await callApi(t, method, url, limitedAdmin, payload), 403, "forbidden_error");
      if (method !== "GET") {
        expectError(await callApi(t, method, url, readOnlyAdmin, payload), 403, "forbidden_error");
      }
      await expectUnauthenticated(t, method, url, payload);
    }
    assert.equal((await callApi(t, "GET", USERS, readOnlyAdmin)).statusCode, 200);
    const nope = await t.deps.db
      .selectFrom("users")
      .select("id")
      .where("email", "=", "nope@example.test")
      .execute();
    assert.deepEqual(nope, []);
  });

  test("answers 404 for an unknown user and 422 for bad input", async () => {
    const unknown = "2489E9AD-2EE2-8E00-8EC9-32D5F69181C0";
    expectError(
      await callApi(t, "POST", `${USERS}/${unknown}/api-keys`, t.adminKey, { name: "x" }),
      404,
      "not_found_error",
    );
    expectError(
      await callApi(t, "PUT", `${USERS}/${unknown}`, t.adminKey, { is_admin: true }),
      404,
      "not_found_error",
    );
    expectError(
      await callApi(t, "PUT", `${USERS}/nope`, t.adminKey, { is_admin: true }),
      422,
      "validation_error",
      ["path", "user_id"],
    );
    expectError(
      await callApi(t, "PUT", `${USERS}/${adminId}`, t.adminKey, { is_admin: "yes" }),
      422,
      "validation_error",
      ["body", "is_admin"],
    );
    expectError(
      await callApi(t, "POST", USERS, t.adminKey, { email: "x@example.test" }),
      422,
      "validation_error",
      ["body", "name"],
    );
    expectError(
      await callApi(t, "POST", USERS, t.adminKey, { email: "x@example.test", name: "X", admin: true }),
      422,
      "validation_error",
      ["body", "admin"],
    );
    expectError(await callApi(t, "GET", `${USERS}?cursor=zzz`, t.adminKey), 422, "validation_error", [
      "query",
      "cursor",
    ]);
  });
});
