import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/members";

describe("POST /api/v1/org/{org}/members", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("creates an unknown user and adds them with the role", async () => {
    const res = await callApi(t, "POST", URL, t.adminKey, {
      email: "ada@example.test",
      role: "contributor",
      name: "Ada",
    });
    assert.equal(res.statusCode, 201, res.body);
    const member = res.json();
    assert.deepEqual(Object.keys(member).sort(), ["created_at", "email", "name", "role", "user_id"]);
    assert.equal(member.email, "ada@example.test");
    assert.equal(member.name, "Ada");
    assert.equal(member.role, "contributor");
    const listed = (await callApi(t, "GET", URL, t.adminKey)).json();
    assert.ok(listed.some((m: { user_id: string }) => m.user_id === member.user_id));
  });

  test("names a new user after the email's local part when no name is given", async () => {
    const member = (
      await callApi(t, "POST", URL, t.adminKey, { email: "grace@example.test", role: "reader" })
    ).json();
    assert.equal(member.name, "grace");
  });

  test("adds an existing user of another org as the same user, disclosing nothing they stored", async () => {
    await newOrg(t, "other");
    const first = (
      await callApi(t, "POST", "/api/v1/org/other/members", t.adminKey, {
        email: "linus@example.test",
        role: "reader",
        name: "Linus",
      })
    ).json();
    const named = await callApi(t, "POST", URL, t.adminKey, {
      email: "Linus@Example.test",
      role: "owner",
      name: "Sent name",
    });
    assert.equal(named.statusCode, 201, named.body);
    assert.equal(named.json().user_id, first.user_id);
    assert.equal(named.json().name, "Sent name");
    assert.equal(named.json().email, "linus@example.test");
    assert.equal(named.json().role, "owner");
    // The stored name stays the user's own.
    const listed = (await callApi(t, "GET", URL, t.adminKey)).json();
    assert.equal(listed.find((m: { user_id: string }) => m.user_id === first.user_id).name, "Linus");

    // Without a name, the answer is the one an unknown user gets: the email's local part.
    await newOrg(t, "third");
    const unnamed = await callApi(t, "POST", "/api/v1/org/third/members", t.adminKey, {
      email: "linus@example.test",
      role: "reader",
    });
    assert.equal(unnamed.statusCode, 201, unnamed.body);
    const { created_at: _, ...answer } = unnamed.json() as Record<string, unknown>;
    assert.deepEqual(answer, {
      user_id: first.user_id,
      email: "linus@example.test",
      name: "linus",
      role: "reader",
    });
  });

  test("refuses another org's service account with 409 and adds nothing", async () => {
    await newOrg(t, "bots");
    const bot = (
      await callApi(t, "POST", "/api/v1/org/bots/service-accounts", t.adminKey, {
        name: "ci",
        role: "reader",
      })
    ).json();
    const email = (await callApi(t, "GET", "/api/v1/org/bots/members", t.adminKey))
      .json()
      .find((m: { user_id: string }) => m.user_id === bot.user_id).email;
    expectError(await callApi(t, "POST", URL, t.adminKey, { email, role: "owner" }), 409, "conflict_error");
    const members = (await callApi(t, "GET", URL, t.adminKey)).json();
    assert.ok(!members.some((m: { user_id: string }) => m.user_id === bot.user_id));
  });

  test("answers 409 member_exists_error when the user is already a member", async () => {
    await callApi(t, "POST", URL, t.adminKey, { email: "twice@example.test", role: "reader" });
    const res = await callApi(t, "POST", URL, t.adminKey, { email: "twice@example.test", role: "owner" });
    expectError(res, 409, "member_exists_error");
    expectError(
      await callApi(t, "POST", URL, t.adminKey, { email: "admin@localhost", role: "reader" }),
      409,
      "member_exists_error",
    );
  });

  test("records member.added", async () => {
    const member = (
      await callApi(t, "POST", URL, t.adminKey, { email: "audit@example.test", role: "reader" })
    ).json();
    const audit = (await callApi(t, "GET", "/api/v1/org/default/audit?limit=1", t.adminKey)).json();
    assert.equal(audit.items[0].action, "member.added");
    assert.equal(audit.items[0].target_id, member.user_id);
    assert.deepEqual(audit.items[0].data, { email: "audit@example.test", role: "reader" });
  });

  test("forbids a contributor with 403", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    const res = await callApi(t, "POST", URL, contributor.key, { email: "x@example.test", role: "reader" });
    expectError(res, 403, "forbidden_error");
  });

  test("forbids a read-only owner key with 403", async () => {
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    const res = await callApi(t, "POST", URL, readOnly.key, { email: "x@example.test", role: "reader" });
    expectError(res, 403, "forbidden_error");
  });

  test("answers 404 to a non-member and for an unknown org", async () => {
    const stranger = await newStranger(t);
    const body = { email: "x@example.test", role: "reader" };
    expectError(await callApi(t, "POST", URL, stranger.key, body), 404, "not_found_error");
    expectError(
      await callApi(t, "POST", "/api/v1/org/nowhere/members", t.adminKey, body),
      404,
      "not_found_error",
    );
  });

  test("rejects an unknown role, a malformed email and unknown fields with 422", async () => {
    const badRole = await callApi(t, "POST", URL, t.adminKey, { email: "x@example.test", role: "admin" });
    expectError(badRole, 422, "validation_error", ["body", "role"]);
    const badEmail = await callApi(t, "POST", URL, t.adminKey, { email: "not an email", role: "reader" });
    expectError(badEmail, 422, "validation_error", ["body", "email"]);
    const extra = await callApi(t, "POST", URL, t.adminKey, {
      email: "x@example.test",
      role: "reader",
      team: "a",
    });
    expectError(extra, 422, "validation_error", ["body", "team"]);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "POST", URL, { email: "x@example.test", role: "reader" });
  });
});
