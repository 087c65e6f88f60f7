import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

describe("GET /api/v1/user/me", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("returns the bootstrap admin for the bootstrap key", async () => {
    const res = await t.app.inject({ method: "GET", url: "/api/v1/user/me", headers: bearer(t.adminKey) });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.email, "admin@localhost");
    assert.equal(body.name, "admin");
    assert.match(body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test("accepts the key in X-API-Key", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/api/v1/user/me",
      headers: { "x-api-key": t.adminKey },
    });
    assert.equal(res.statusCode, 200);
  });

  test("rejects a missing key with 401 authentication_error", async () => {
    const res = await t.app.inject({ method: "GET", url: "/api/v1/user/me" });
    assert.equal(res.statusCode, 401);
    assert.deepEqual(res.json(), {
      code: 401,
      detail: "An API key is required",
      type: "authentication_error",
    });
  });

  test("rejects a credential that is not in the key format with 401 token_error", async () => {
    const res = await t.app.inject({ method: "GET", url: "/api/v1/user/me", headers: bearer("not-a-key") });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().type, "token_error");
  });

  test("rejects a well-formed unknown key with 401 authentication_error", async () => {
    const unknown = `cst_aaaaaaaaaaaa_${"A".repeat(40)}`;
    const res = await t.app.inject({ method: "GET", url: "/api/v1/user/me", headers: bearer(unknown) });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().type, "authentication_error");
  });
});
