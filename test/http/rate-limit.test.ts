import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { assertEnvelope } from "../helpers/envelope.js";
import { insertAdminKey } from "../helpers/seed.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const ME = "/api/v1/user/me";
const WRITE = "/test/write";
const UNKNOWN_KEY = `cst_aaaaaaaaaaaa_${"B".repeat(40)}`;

/** A mutating route that needs a key and does nothing else, so only the limiter is under test. */
function writeRoute(app: TestApp["app"]): void {
  app.post(WRITE, async () => ({ ok: true }));
}

describe("rate limits (SPEC §2.6)", () => {
  let t: TestApp;
  afterEach(() => t.close());

  const start = async (env: Record<string, string>) => {
    t = await buildTestApp({ env, extraRoutes: writeRoute });
    return t;
  };

  test("every limited response carries RateLimit-Limit, -Remaining and -Reset", async () => {
    await start({ CAPSTAN_RATE_LIMIT_RPM: "5" });
    const res = await t.app.inject({ method: "GET", url: ME, headers: bearer(t.adminKey) });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["ratelimit-limit"], "5");
    assert.equal(res.headers["ratelimit-remaining"], "4");
    assert.match(String(res.headers["ratelimit-reset"]), /^\d+$/);
  });

  test("the request after the limit is 429 usage_limit_exceeded_error with Retry-After", async () => {
    await start({ CAPSTAN_RATE_LIMIT_RPM: "3" });
    for (let i = 0; i < 3; i++) {
      const ok = await t.app.inject({ method: "GET", url: ME, headers: bearer(t.adminKey) });
      assert.equal(ok.statusCode, 200, `request ${i + 1} of 3`);
    }
    const limited = await t.app.inject({ method: "GET", url: ME, headers: bearer(t.adminKey) });
    assertEnvelope(limited, 429, "usage_limit_exceeded_error");
    assert.match(String(limited.headers["retry-after"]), /^[1-9]\d*$/);
    assert.equal(limited.headers["ratelimit-remaining"], "0");
  });

  test("the limit is per key: another key of the same user is unaffected", async () => {
    await start({ CAPSTAN_RATE_LIMIT_RPM: "2" });
    const second = await insertAdminKey(t.deps, { name: "second" });
    for (let i = 0; i < 3; i++) await t.app.inject({ method: "GET", url: ME, headers: bearer(t.adminKey) });
    const exhausted = await t.app.inject({ method: "GET", url: ME, headers: bearer(t.adminKey) });
    assertEnvelope(exhausted, 429, "usage_limit_exceeded_error");
    const other = await t.app.inject({ method: "GET", url: ME, headers: bearer(second) });
    assert.equal(other.statusCode, 200);
  });

  test("mutating requests have their own, smaller limit; reads continue", async () => {
    await start({ CAPSTAN_RATE_LIMIT_RPM: "100", CAPSTAN_RATE_LIMIT_WRITE_RPM: "2" });
    for (let i = 0; i < 2; i++) {
      const ok = await t.app.inject({ method: "POST", url: WRITE, headers: bearer(t.adminKey) });
      assert.equal(ok.statusCode, 200, `write ${i + 1} of 2`);
    }
    const limited = await t.app.inject({ method: "POST", url: WRITE, headers: bearer(t.adminKey) });
    assertEnvelope(limited, 429, "usage_limit_exceeded_error");
    assert.equal(limited.headers["ratelimit-limit"], "2");
    assert.ok(limited.headers["retry-after"]);
    const read = await t.app.inject({ method: "GET", url: ME, headers: bearer(t.adminKey) });
    assert.equal(read.statusCode, 200);
    assert.equal(read.headers["ratelimit-limit"], "100");
  });

  test("requests with a bad key are limited to 60 per minute per client IP", async () => {
    await start({ CAPSTAN_RATE_LIMIT_RPM: "1000" });
    const attacker = { remoteAddress: "203.0.113.7" };
    for (let i = 0; i < 60; i++) {
      const res = await t.app.inject({ method: "GET", url: ME, headers: bearer(UNKNOWN_KEY), ...attacker });
      assert.equal(res.statusCode, 401, `failed login ${i + 1} of 60`);
      assert.equal(res.headers["ratelimit-limit"], "60");
    }
    const limited = await t.app.inject({ method: "GET", url: ME, headers: bearer(UNKNOWN_KEY), ...attacker });
    assertEnvelope(limited, 429, "usage_limit_exceeded_error");
    const noKey = await t.app.inject({ method: "GET", url: ME, ...attacker });
    assertEnvelope(noKey, 429, "usage_limit_exceeded_error");

    const otherIp = await t.app.inject({ method: "GET", url: ME, headers: bearer(UNKNOWN_KEY) });
    assertEnvelope(otherIp, 401, "authentication_error");
    const validFromSameIp = await t.app.inject({
      method: "GET",
      url: ME,
      headers: bearer(t.adminKey),
      ...attacker,
    });
    assert.equal(validFromSameIp.statusCode, 200, "a valid key is limited per key, not per IP");
  });

  test("CAPSTAN_RATE_LIMIT_RPM=0 disables every limit, the per-IP one included", async () => {
    await start({ CAPSTAN_RATE_LIMIT_RPM: "0", CAPSTAN_RATE_LIMIT_WRITE_RPM: "1" });
    for (let i = 0; i < 70; i++) {
      const bad = await t.app.inject({ method: "GET", url: ME, headers: bearer(UNKNOWN_KEY) });
      assert.equal(bad.statusCode, 401);
      assert.equal(bad.headers["ratelimit-limit"], undefined);
    }
    for (let i = 0; i < 5; i++) {
      const write = await t.app.inject({ method: "POST", url: WRITE, headers: bearer(t.adminKey) });
      assert.equal(write.statusCode, 200);
      assert.equal(write.headers["ratelimit-limit"], undefined);
    }
  });

  test("CAPSTAN_RATE_LIMIT_WRITE_RPM=0 disables only the write limit", async () => {
    await start({ CAPSTAN_RATE_LIMIT_RPM: "10", CAPSTAN_RATE_LIMIT_WRITE_RPM: "0" });
    for (let i = 0; i < 10; i++) {
      const write = await t.app.inject({ method: "POST", url: WRITE, headers: bearer(t.adminKey) });
      assert.equal(write.statusCode, 200, `write ${i + 1} of 10`);
    }
    const limited = await t.app.inject({ method: "POST", url: WRITE, headers: bearer(t.adminKey) });
    assertEnvelope(limited, 429, "usage_limit_exceeded_error");
  });

  test("operational endpoints are not limited", async () => {
    await start({ CAPSTAN_RATE_LIMIT_RPM: "1" });
    for (let i = 0; i < 5; i++) {
      const res = await t.app.inject({ method: "GET", url: "/healthz" });
      assert.equal(res.statusCode, 200);
    }
  });
});
