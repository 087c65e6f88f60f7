import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const url = (userId: string, org = "default") => `/api/v1/org/${org}/members/${userId}`;

describe("PUT /api/v1/org/{org}/members/{user_id}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("changes the member's role, which takes effect on their next request", async () => {
    const member = await newUserKey(t, { role: "reader" });
    const workspace = { key: "promoted", name: "Promoted" };
    expectError(
      await callApi(t, "POST", "/api/v1/org/default/ws", member.key, workspace),
      403,
      "forbidden_error",
    );
    const res = await callApi(t, "PUT", url(member.userId), t.adminKey, { role: "contributor" });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().role, "contributor");
    assert.equal(res.json().user_id, member.userId);
    assert.equal((await callApi(t, "POST", "/api/v1/org/default/ws", member.key, workspace)).statusCode, 201);
  });

  test("accepts the user id in upper case", async () => {
    const member = await newUserKey(t, { role: "reader" });
    const res = await callApi(t, "PUT", url(member.userId.toUpperCase()), t.adminKey, { role: "owner" });
    assert.equal(res.statusCode, 200, res.body);
  });

  test("records member.updated with the old and new role", async () => {
    const member = await newUserKey(t, { role: "reader" });
    await callApi(t, "PUT", url(member.userId), t.adminKey, { role: "contributor" });
    const audit = (await callApi(t, "GET", "/api/v1/org/default/audit?limit=1", t.adminKey)).json();
    assert.equal(audit.items[0].action, "member.updated");
    assert.deepEqual(audit.items[0].data, { from: "reader", to: "contributor" });
  });

  test("refuses to demote the last owner with 409 conflict_error", async () => {
    await newOrg(t, "solo");
    await newUserKey(t, { org: "solo", role: "contributor" });
    const admin = (await callApi(t, "GET", "/api/v1/user/me", t.adminKey)).json();
    expectError(
      await callApi(t, "PUT", url(admin.id, "solo"), t.adminKey, { role: "reader" }),
      409,
      "conflict_error",
    );
    const org = (await callApi(t, "GET", "/api/v1/org/solo", t.adminKey)).json();
    assert.equal(org.role, "owner");
  });

  test("lets an owner step down once another owner exists", async () => {
    await newOrg(t, "pair");
    const second = await newUserKey(t, { org: "pair", role: "owner" });
    const admin = (await callApi(t, "GET", "/api/v1/user/me", t.adminKey)).json();
    const res = await callApi(t, "PUT", url(admin.id, "pair"), t.adminKey, { role: "contributor" });
    assert.equal(res.statusCode, 200, res.body);
    expectError(
      await callApi(t, "PUT", url(second.userId, "pair"), second.key, { role: "reader" }),
      409,
      "conflict_error",
    );
  });

  test("forbids a contributor with 403", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    const res = await callApi(t, "PUT", url(contributor.userId), contributor.key, { role: "owner" });
    expectError(res, 403, "forbidden_error");
  });

  test("forbids a read-only owner key with 403", async () => {
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    const res = await callApi(t, "PUT", url(readOnly.userId), readOnly.key, { role: "reader" });
    expectError(res, 403, "forbidden_error");
  });

  test("answers 404 for a user who is not a member, and to a non-member caller", async () => {
    const stranger = await newStranger(t);
    expectError(
      await callApi(t, "PUT", url(stranger.userId), t.adminKey, { role: "reader" }),
      404,
      "not_found_error",
    );
    expectError(
      await callApi(t, "PUT", url(randomUUID()), t.adminKey, { role: "reader" }),
      404,
      "not_found_error",
    );
    const member = await newUserKey(t, { role: "reader" });
    expectError(
      await callApi(t, "PUT", url(member.userId), stranger.key, { role: "owner" }),
      404,
      "not_found_error",
    );
  });

  test("rejects an unknown role, a non-UUID user id and unknown fields with 422", async () => {
    const member = await newUserKey(t, { role: "reader" });
    expectError(
      await callApi(t, "PUT", url(member.userId), t.adminKey, { role: "boss" }),
      422,
      "validation_error",
      ["body", "role"],
    );
    expectError(
      await callApi(t, "PUT", url("someone"), t.adminKey, { role: "reader" }),
      422,
      "validation_error",
      ["path", "user_id"],
    );
    const extra = await callApi(t, "PUT", url(member.userId), t.adminKey, { role: "reader", name: "x" });
    expectError(extra, 422, "validation_error", ["body", "name"]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "PUT", url(randomUUID()), { role: "reader" });
  });
});
