import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { insertAdminKey } from "../../scripts/seed.js";
import { assertEnvelope } from "../helpers/envelope.js";
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
    // The buckets refill with the app's clock (the per-IP one a token a second): real time passing
    // during a slow run must not hand out a token the test does not expect.
    t = await buildTestApp({ env, extraRoutes: writeRoute, frozenClock: true });
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

  /** Spends the 60 failed logins of the client `forwardedFor` names, as seen from `peer`. */
  const exhaustFailedLogins = async (peer: string, forwardedFor: string) => {
    const request = {
      remoteAddress: peer,
      headers: { ...bearer(UNKNOWN_KEY), "x-forwarded-for": forwardedFor },
    };
    for (let i = 0; i < 60; i++) {
      const res = await t.app.inject({ method: "GET", url: ME, ...request });
      assert.equal(res.statusCode, 401, `failed login ${i + 1} of 60`);
    }
    const limited = await t.app.inject({ method: "GET", url: ME, ...request });
    assertEnvelope(limited, 429, "usage_limit_exceeded_error");
  };

  test("behind a trusted proxy (CAPSTAN_TRUST_PROXY), each forwarded client has its own bucket", async () => {
    await start({ CAPSTAN_RATE_LIMIT_RPM: "1000", CAPSTAN_TRUST_PROXY: "10.0.0.0/8" });
    const proxy = "10.1.2.3";
    await exhaustFailedLogins(proxy, "203.0.113.7");
    const otherClient = await t.app.inject({
      method: "GET",
      url: ME,
      remoteAddress: proxy,
      headers: { ...bearer(UNKNOWN_KEY), "x-forwarded-for": "203.0.113.8" },
    });
    assertEnvelope(otherClient, 401, "authentication_error");
    // A client may prepend anything; the proxy appends the address it saw, and that one counts.
    const spoofed = await t.app.inject({
      method: "GET",
      url: ME,
      remoteAddress: proxy,
      headers: { ...bearer(UNKNOWN_KEY), "x-forwarded-for": "198.51.100.1, 203.0.113.7" },
    });
    assertEnvelope(spoofed, 429, "usage_limit_exceeded_error");
  });

  test("the buckets refill with the app's clock: one failed login more a second", async () => {
    await start({ CAPSTAN_RATE_LIMIT_RPM: "1000" });
    await exhaustFailedLogins("203.0.113.9", "203.0.113.9");
    const attempt = () =>
      t.app.inject({ method: "GET", url: ME, headers: bearer(UNKNOWN_KEY), remoteAddress: "203.0.113.9" });
    t.advanceClock(1_000);
    assertEnvelope(await attempt(), 401, "authentication_error");
    assertEnvelope(await attempt(), 429, "usage_limit_exceeded_error");
  });

  test("X-Forwarded-For from a peer that is not a trusted proxy is ignored", async () => {
    await start({ CAPSTAN_RATE_LIMIT_RPM: "1000", CAPSTAN_TRUST_PROXY: "10.0.0.0/8" });
    await exhaustFailedLogins("203.0.113.50", "203.0.113.7");
    const newName = await t.app.inject({
      method: "GET",
      url: ME,
      remoteAddress: "203.0.113.50",
      headers: { ...bearer(UNKNOWN_KEY), "x-forwarded-for": "192.0.2.99" },
    });
    assertEnvelope(newName, 429, "usage_limit_exceeded_error");
  });

  test("without CAPSTAN_TRUST_PROXY, X-Forwarded-For changes nothing", async () => {
    await start({ CAPSTAN_RATE_LIMIT_RPM: "1000" });
    await exhaustFailedLogins("10.1.2.3", "203.0.113.7");
    const newName = await t.app.inject({
      method: "GET",
      url: ME,
      remoteAddress: "10.1.2.3",
      headers: { ...bearer(UNKNOWN_KEY), "x-forwarded-for": "203.0.113.8" },
    });
    assertEnvelope(newName, 429, "usage_limit_exceeded_error");
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
