import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Ajv } from "ajv";
import { capabilityJsonSchema } from "../../src/domain/manifest-schema.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/schemas/capability.schema.json";

describe("GET /schemas/capability.schema.json", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("serves the capability.yaml JSON Schema without authentication, as cacheable JSON", async () => {
    const res = await t.app.inject({ method: "GET", url: URL });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers["content-type"]), /^application\/json; charset=utf-8$/);
    assert.match(String(res.headers["cache-control"]), /^public, max-age=\d+$/);
    assert.match(String(res.headers.etag), /^"[0-9a-f]{64}"$/);
    const schema = res.json();
    assert.deepEqual(schema, capabilityJsonSchema());
    const validate = new Ajv({ strict: true }).compile(schema);
    assert.equal(validate({ schema: 1, name: "demo", version: "1.0.0", description: "Demo." }), true);
    assert.equal(validate({ schema: 1, name: "Demo", version: "1.0.0", description: "Demo." }), false);
  });

  test("answers 304 to If-None-Match with its ETag, and 200 to another", async () => {
    const etag = String((await t.app.inject({ method: "GET", url: URL })).headers.etag);
    const cached = await t.app.inject({ method: "GET", url: URL, headers: { "if-none-match": etag } });
    assert.equal(cached.statusCode, 304);
    assert.equal(cached.body, "");
    assert.equal(cached.headers.etag, etag);
    const stale = await t.app.inject({ method: "GET", url: URL, headers: { "if-none-match": '"other"' } });
    assert.equal(stale.statusCode, 200);
  });

  test("ignores a credential, even an invalid one", async () => {
    const res = await t.app.inject({ method: "GET", url: URL, headers: { authorization: "Bearer nope" } });
    assert.equal(res.statusCode, 200, res.body);
  });
});
