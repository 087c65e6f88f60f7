// Route schemas compile when a request first needs them (src/http/serialization.ts), not when the
// app is built. So that a broken schema still fails here rather than on a user's first request,
// this file builds the app and compiles every validator and serializer its routes declared.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { compilePendingSerializers, serializerCompiler } from "../../src/http/serialization.js";
import { compilePendingValidators, validatorCompiler } from "../../src/http/validation.js";
import { callApi, expectError } from "../helpers/api.js";
import { registeredRoutes } from "../helpers/route-table.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

describe("route schemas", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("every validator and serializer the routes declare compiles", () => {
    const routes = registeredRoutes(t.app).length;
    const validators = compilePendingValidators();
    const serializers = compilePendingSerializers();
    // Nothing has been requested yet: each route declared at least a response schema.
    assert.ok(serializers >= routes / 2, `${serializers} serializers for ${routes} routes`);
    assert.ok(validators >= routes / 2, `${validators} validators for ${routes} routes`);
    assert.equal(compilePendingValidators() + compilePendingSerializers(), 0, "all compiled once");
  });

  test("a schema compiled on first use validates and serializes as an eager one would", async () => {
    const bad = await callApi(t, "POST", "/api/v1/orgs", t.adminKey, { key: "x", name: "X", extra: 1 });
    expectError(bad, 422, "validation_error", ["body", "extra"]);
    const ok = await callApi(t, "GET", "/api/v1/user/me", t.adminKey);
    assert.equal(ok.statusCode, 200, ok.body);
  });

  test("a broken schema fails when compiled, which the test above would report", () => {
    const broken = { type: "object", properties: { n: { type: "no-such-type" } } };
    const validate = validatorCompiler({ schema: broken, method: "GET", url: "/", httpPart: "body" });
    const serialize = serializerCompiler({ schema: broken, method: "GET", url: "/", httpStatus: "200" });
    assert.throws(() => compilePendingValidators());
    assert.throws(() => compilePendingSerializers());
    assert.throws(() => validate({ n: 1 }));
    assert.throws(() => serialize({ n: 1 }));
  });
});
