// Deeply nested JSON bodies (issue #12): 4,000 levels under a runtime's `defaults` overflowed the
// stack while the config was digested, a 500. Every JSON body is now refused past 64 levels, before
// anything reads it, with the malformed-body envelope; up to the limit it is stored as sent.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../../src/http/json-body.js";
import { assertEnvelope } from "../helpers/envelope.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const RUNTIMES = "/api/v1/org/default/ws/main/runtimes";

/** `levels` objects nested in each other, innermost `leaf`. */
function nested(levels: number, leaf: unknown = true): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe("JSON body depth", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  const send = (method: "PUT" | "POST", url: string, body: unknown) =>
    t.app.inject({
      method,
      url,
      headers: { ...bearer(t.adminKey), "content-type": "application/json" },
      payload: JSON.stringify(body),
    });
  const runtimeCount = async () =>
    (await t.app.inject({ method: "GET", url: RUNTIMES, headers: bearer(t.adminKey) })).json().items.length;

  test("4,000 levels under PUT RT/config defaults is a 400 envelope and changes nothing", async () => {
    const configUrl = `${RUNTIMES}/${t.runtimeId}/config`;
    const before = await t.app.inject({ method: "GET", url: configUrl, headers: bearer(t.adminKey) });
    const res = await send("PUT", configUrl, { config: { version: "v2", defaults: nested(4000) } });
    const body = assertEnvelope(res, 400, "invalid_error");
    assert.match(body.detail, /64 levels/);
    const after = await t.app.inject({ method: "GET", url: configUrl, headers: bearer(t.adminKey) });
    assert.deepEqual(after.json(), before.json());
  });

  test("4,000 levels in a new runtime's config, or in an array, is a 400 and creates nothing", async () => {
    const count = await runtimeCount();
    const deepObject = await send("POST", RUNTIMES, {
      key: "deep",
      name: "deep",
      config: { version: "v2", defaults: nested(4000) },
    });
    assertEnvelope(deepObject, 400, "invalid_error");
    let array: unknown = [];
    for (let i = 0; i < 4000; i++) array = [array];
    const deepArray = await send("POST", RUNTIMES, {
      key: "deep",
      name: "deep",
      config: { version: "v2", defaults: { list: array } },
    });
    assertEnvelope(deepArray, 400, "invalid_error");
    assert.equal(await runtimeCount(), count);
  });

  test("a body just at the limit is accepted and stored as sent", async () => {
    // The body object and `config`, then `defaults` holding the rest: MAX_JSON_DEPTH levels in all.
    const defaults = nested(MAX_JSON_DEPTH - 2) as Record<string, unknown>;
    const res = await send("POST", RUNTIMES, {
      key: "at-limit",
      name: "at limit",
      config: { version: "v2", defaults },
    });
    assert.equal(res.statusCode, 201, res.body);
    const config = await t.app.inject({
      method: "GET",
      url: `${RUNTIMES}/${res.json().id}/config`,
      headers: bearer(t.adminKey),
    });
    assert.deepEqual(config.json().config.defaults, defaults);
    const over = await send("POST", RUNTIMES, {
      key: "over-limit",
      name: "over limit",
      config: { version: "v2", defaults: nested(MAX_JSON_DEPTH - 1) },
    });
    assertEnvelope(over, 400, "invalid_error");
  });

  test("brackets inside strings do not count as nesting", () => {
    const text = JSON.stringify({ note: '[[[[{{{{\\"[[[['.repeat(100), list: [[1]] });
    assert.equal(nestsDeeperThan(text, 3), false);
    assert.equal(nestsDeeperThan(JSON.stringify(nested(4)), 3), true);
  });
});
