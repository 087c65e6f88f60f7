// Service accounts (SPEC §3): automation users of one org alone. Owners create them and mint, list
// and revoke their keys, which are limited to the org; keys are never minted for a person this way.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const SA = "/api/v1/org/default/service-accounts";

describe("service accounts", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    await newOrg(t, "other");
  });
  after(() => t.close());

  async function newAccount(role = "contributor"): Promise<{ user_id: string }> {
    const res = await callApi(t, "POST", SA, t.adminKey, { name: `bot ${randomUUID().slice(0, 6)}`, role });
    assert.equal(res.statusCode, 201, res.body);
    return res.json();
  }

  async function mint(accountId: string, body: Record<string, unknown> = { name: "ci" }) {
    const res = await callApi(t, "POST", `${SA}/${accountId}/api-keys`, t.adminKey, body);
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: string; key: string; read_only: boolean };
  }

  test("creates one that is listed as a service account and as a member, and audited", async () => {
    const res = await callApi(t, "POST", SA, t.adminKey, { name: "Deployer", role: "contributor" });
    assert.equal(res.statusCode, 201, res.body);
    const account = res.json();
    assert.deepEqual(Object.keys(account).sort(), ["created_at", "name", "role", "user_id"]);
    assert.equal(account.name, "Deployer");
    const listed = (await callApi(t, "GET", SA, t.adminKey)).json();
    assert.deepEqual(
      listed.find((a: { user_id: string }) => a.user_id === account.user_id),
      account,
    );
    const members = (await callApi(t, "GET", "/api/v1/org/default/members", t.adminKey)).json();
    const member = members.find((m: { user_id: string }) => m.user_id === account.user_id);
    assert.equal(member.role, "contributor");
    const audit = (await callApi(t, "GET", "/api/v1/org/default/audit?limit=1", t.adminKey)).json();
    assert.equal(audit.items[0].action, "service_account.created");
    assert.equal(audit.items[0].target_id, account.user_id);
  });

  test("mints keys that act as the account within its org only", async () => {
    const account = await newAccount();
    const minted = await mint(account.user_id.toUpperCase(), { name: "ci", read_only: true });
    assert.equal(minted.read_only, true);
    const me = (await callApi(t, "GET", "/api/v1/user/me", minted.key)).json();
    assert.equal(me.id, account.user_id);
    const orgs = (await callApi(t, "GET", "/api/v1/user/organizations", minted.key)).json();
    assert.deepEqual(
      orgs.map((o: { key: string }) => o.key),
      ["default"],
    );
    assert.equal((await callApi(t, "GET", "/api/v1/org/default/ws", minted.key)).statusCode, 200);
    const row = await t.deps.db
      .selectFrom("api_keys")
      .innerJoin("orgs", "orgs.id", "api_keys.org_id")
      .select("orgs.key")
      .where("api_keys.id", "=", minted.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.key, "default");
  });

  test("cannot create orgs, reach other orgs or widen its keys", async () => {
    const account = await newAccount("owner");
    const { key } = await mint(account.user_id);
    expectError(
      await callApi(t, "POST", "/api/v1/orgs", key, { key: "bot-org", name: "Bot" }),
      403,
      "forbidden_error",
    );
    expectError(await callApi(t, "GET", "/api/v1/org/other", key), 404, "not_found_error");
    // Even if an owner of another org could make it a member, it belongs to its org alone.
    const child = await callApi(t, "POST", "/api/v1/user/api-keys", key, { name: "child" });
    assert.equal(child.statusCode, 201, child.body);
    expectError(await callApi(t, "GET", "/api/v1/org/other", child.json().key), 404, "not_found_error");
    expectError(
      await callApi(t, "POST", "/api/v1/user/api-keys", key, { name: "wider", org: "other" }),
      404,
      "not_found_error",
    );
  });

  test("lists and revokes an account's keys; a revoked key is refused at once", async () => {
    const account = await newAccount();
    const first = await mint(account.user_id, { name: "first" });
    const second = await mint(account.user_id, { name: "second" });
    const keys = (await callApi(t, "GET", `${SA}/${account.user_id}/api-keys`, t.adminKey)).json();
    assert.deepEqual(
      keys.map((k: { name: string }) => k.name),
      ["first", "second"],
    );
    assert.ok(!JSON.stringify(keys).includes(first.key));
    assert.equal((await callApi(t, "GET", "/api/v1/user/me", first.key)).statusCode, 200);
    const revoked = await callApi(t, "DELETE", `${SA}/${account.user_id}/api-keys/${first.id}`, t.adminKey);
    assert.equal(revoked.statusCode, 204, revoked.body);
    expectError(await callApi(t, "GET", "/api/v1/user/me", first.key), 401, "authentication_error");
    assert.equal((await callApi(t, "GET", "/api/v1/user/me", second.key)).statusCode, 200);
    expectError(
      await callApi(t, "DELETE", `${SA}/${account.user_id}/api-keys/${first.id}`, t.adminKey),
      404,
      "not_found_error",
    );
  });

  test("never mints, lists or revokes a person's keys (404), nor another org's account's", async () => {
    const person = await newUserKey(t, { role: "contributor" });
    const personKeyId = (await callApi(t, "GET", "/api/v1/user/api-keys", person.key)).json()[0].id;
    expectError(
      await callApi(t, "POST", `${SA}/${person.userId}/api-keys`, t.adminKey, { name: "takeover" }),
      404,
      "not_found_error",
    );
    expectError(
      await callApi(t, "GET", `${SA}/${person.userId}/api-keys`, t.adminKey),
      404,
      "not_found_error",
    );
    expectError(
      await callApi(t, "DELETE", `${SA}/${person.userId}/api-keys/${personKeyId}`, t.adminKey),
      404,
      "not_found_error",
    );
    const foreign = (
      await callApi(t, "POST", "/api/v1/org/other/service-accounts", t.adminKey, {
        name: "x",
        role: "reader",
      })
    ).json();
    expectError(
      await callApi(t, "POST", `${SA}/${foreign.user_id}/api-keys`, t.adminKey, { name: "x" }),
      404,
      "not_found_error",
    );
    // A key of this org's account cannot be revoked through another account's path.
    const account = await newAccount();
    const { id } = await mint(account.user_id);
    const otherAccount = await newAccount();
    expectError(
      await callApi(t, "DELETE", `${SA}/${otherAccount.user_id}/api-keys/${id}`, t.adminKey),
      404,
      "not_found_error",
    );
    const keyCount = await t.deps.db
      .selectFrom("api_keys")
      .select("id")
      .where("user_id", "=", person.userId)
      .execute();
    assert.equal(keyCount.length, 1);
  });

  test("forbids contributors and read-only owner keys with 403, strangers get 404", async () => {
    const account = await newAccount();
    const contributor = await newUserKey(t, { role: "contributor" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    const stranger = await newStranger(t);
    const keysUrl = `${SA}/${account.user_id}/api-keys`;
    expectError(await callApi(t, "GET", SA, contributor.key), 403, "forbidden_error");
    expectError(
      await callApi(t, "POST", SA, contributor.key, { name: "x", role: "reader" }),
      403,
      "forbidden_error",
    );
    expectError(await callApi(t, "POST", keysUrl, contributor.key, { name: "x" }), 403, "forbidden_error");
    expectError(await callApi(t, "GET", keysUrl, contributor.key), 403, "forbidden_error");
    expectError(await callApi(t, "POST", keysUrl, readOnly.key, { name: "x" }), 403, "forbidden_error");
    assert.equal((await callApi(t, "GET", keysUrl, readOnly.key)).statusCode, 200);
    expectError(await callApi(t, "GET", SA, stranger.key), 404, "not_found_error");
    expectError(await callApi(t, "POST", keysUrl, stranger.key, { name: "x" }), 404, "not_found_error");
    await expectUnauthenticated(t, "POST", keysUrl, { name: "x" });
    await expectUnauthenticated(t, "GET", SA);
  });

  test("rejects bad input with 422", async () => {
    expectError(
      await callApi(t, "POST", SA, t.adminKey, { name: "x", role: "admin" }),
      422,
      "validation_error",
      ["body", "role"],
    );
    expectError(await callApi(t, "POST", SA, t.adminKey, { role: "reader" }), 422, "validation_error", [
      "body",
      "name",
    ]);
    expectError(
      await callApi(t, "POST", SA, t.adminKey, { name: "x", role: "reader", email: "x@example.test" }),
      422,
      "validation_error",
      ["body", "email"],
    );
    const account = await newAccount();
    expectError(
      await callApi(t, "POST", `${SA}/${account.user_id}/api-keys`, t.adminKey, { name: "x", org: "other" }),
      422,
      "validation_error",
      ["body", "org"],
    );
    expectError(await callApi(t, "GET", `${SA}/bot/api-keys`, t.adminKey), 422, "validation_error", [
      "path",
      "user_id",
    ]);
  });
});
