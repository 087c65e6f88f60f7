import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, type Method } from "../helpers/api.js";
import { newUserKey, newWorkspace, type UserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

// A read-only key of an owner: everything its role allows to read, nothing it could change.
describe("read-only API keys on the organization, member, key, workspace and project routes", () => {
  let t: TestApp;
  let readOnly: UserKey;
  before(async () => {
    t = await buildTestApp();
    readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    await newWorkspace(t, "default", "spare");
  });
  after(() => t.close());

  const reads = [
    "/api/v1/user/me",
    "/api/v1/user/organizations",
    "/api/v1/user/api-keys",
    "/api/v1/org/default",
    "/api/v1/org/default/members",
    "/api/v1/org/default/ws",
    "/api/v1/org/default/ws/main",
    "/api/v1/org/default/ws/main/projects",
    "/api/v1/org/default/audit",
  ];

  test("answers every read with 200", async () => {
    for (const url of reads) assert.equal((await callApi(t, "GET", url, readOnly.key)).statusCode, 200, url);
  });

  test("forbids every mutation with 403 and changes nothing", async () => {
    const auditBefore = (await callApi(t, "GET", "/api/v1/org/default/audit?limit=1", t.adminKey)).json()
      .items[0].id;
    const mutations: [Method, string, unknown?][] = [
      ["POST", "/api/v1/user/api-keys", { name: "x" }],
      ["DELETE", `/api/v1/user/api-keys/${randomUUID()}`],
      ["POST", "/api/v1/orgs", { key: "ro-org", name: "X" }],
      ["PATCH", "/api/v1/org/default", { name: "X" }],
      ["POST", "/api/v1/org/default/members", { email: "x@example.test", role: "reader" }],
      ["PUT", `/api/v1/org/default/members/${readOnly.userId}`, { role: "reader" }],
      ["DELETE", `/api/v1/org/default/members/${readOnly.userId}`],
      ["POST", "/api/v1/org/default/service-accounts", { name: "bot", role: "reader" }],
      ["POST", "/api/v1/org/default/ws", { key: "ro-ws", name: "X" }],
      ["PATCH", "/api/v1/org/default/ws/spare", { name: "X" }],
      ["DELETE", "/api/v1/org/default/ws/spare"],
      ["POST", "/api/v1/org/default/ws/main/projects", { key: "ro-project", name: "X" }],
    ];
    for (const [method, url, payload] of mutations) {
      expectError(await callApi(t, method, url, readOnly.key, payload), 403, "forbidden_error");
    }
    const auditAfter = (await callApi(t, "GET", "/api/v1/org/default/audit?limit=1", t.adminKey)).json()
      .items[0].id;
    assert.equal(auditAfter, auditBefore);
  });
});
