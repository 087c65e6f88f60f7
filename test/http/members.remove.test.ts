import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const url = (userId: string, org = "default") => `/api/v1/org/${org}/members/${userId}`;

describe("DELETE /api/v1/org/{org}/members/{user_id}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("removes the member, who loses access at once", async () => {
    const member = await newUserKey(t, { role: "reader" });
    assert.equal((await callApi(t, "GET", "/api/v1/org/default", member.key)).statusCode, 200);
    const res = await callApi(t, "DELETE", url(member.userId), t.adminKey);
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, "");
    expectError(await callApi(t, "GET", "/api/v1/org/default", member.key), 404, "not_found_error");
    const listed = (await callApi(t, "GET", "/api/v1/org/default/members", t.adminKey)).json();
    assert.ok(!listed.some((m: { user_id: string }) => m.user_id === member.userId));
  });

  test("records member.removed", async () => {
    const member = await newUserKey(t, { role: "contributor" });
    await callApi(t, "DELETE", url(member.userId), t.adminKey);
    const audit = (await callApi(t, "GET", "/api/v1/org/default/audit?limit=1", t.adminKey)).json();
    assert.equal(audit.items[0].action, "member.removed");
    assert.equal(audit.items[0].target_id, member.userId);
  });

  test("refuses to remove the last owner with 409 conflict_error", async () => {
    await newOrg(t, "solo");
    const admin = (await callApi(t, "GET", "/api/v1/user/me", t.adminKey)).json();
    expectError(await callApi(t, "DELETE", url(admin.id, "solo"), t.adminKey), 409, "conflict_error");
    assert.equal((await callApi(t, "GET", "/api/v1/org/solo", t.adminKey)).statusCode, 200);
  });

  test("lets an owner leave once another owner exists", async () => {
    await newOrg(t, "pair");
    await newUserKey(t, { org: "pair", role: "owner" });
    const admin = (await callApi(t, "GET", "/api/v1/user/me", t.adminKey)).json();
    assert.equal((await callApi(t, "DELETE", url(admin.id, "pair"), t.adminKey)).statusCode, 204);
    expectError(await callApi(t, "GET", "/api/v1/org/pair", t.adminKey), 404, "not_found_error");
  });

  test("forbids a contributor with 403", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    const reader = await newUserKey(t, { role: "reader" });
    expectError(await callApi(t, "DELETE", url(reader.userId), contributor.key), 403, "forbidden_error");
  });

  test("forbids a read-only owner key with 403", async () => {
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    const reader = await newUserKey(t, { role: "reader" });
    expectError(await callApi(t, "DELETE", url(reader.userId), readOnly.key), 403, "forbidden_error");
  });

  test("answers 404 for a user who is not a member, and to a non-member caller", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "DELETE", url(stranger.userId), t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "DELETE", url(randomUUID()), t.adminKey), 404, "not_found_error");
    const reader = await newUserKey(t, { role: "reader" });
    expectError(await callApi(t, "DELETE", url(reader.userId), stranger.key), 404, "not_found_error");
  });

  test("rejects a user id that is not a UUID with 422", async () => {
    expectError(await callApi(t, "DELETE", url("someone"), t.adminKey), 422, "validation_error", [
      "path",
      "user_id",
    ]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "DELETE", url(randomUUID()));
  });
});
