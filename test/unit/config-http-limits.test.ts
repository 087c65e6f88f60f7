// The limits on slow bodies and open connections (issue #12): defaults, overrides, refusals.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("loadConfig: body deadline and connection cap", () => {
  test("defaults: a 30 s grace period, then 16 KiB/s; 64 connections per client", () => {
    const config = loadConfig({});
    assert.equal(config.bodyTimeoutMs, 30_000);
    assert.equal(config.bodyMinBytesPerSecond, 16_384);
    assert.equal(config.maxConnectionsPerClient, 64);
  });

  test("takes overrides, and 0 turns the connection cap off", () => {
    const config = loadConfig({
      CAPSTAN_BODY_TIMEOUT_MS: "5000",
      CAPSTAN_BODY_MIN_BYTES_PER_SECOND: "1024",
      CAPSTAN_MAX_CONNECTIONS_PER_CLIENT: "0",
    });
    assert.equal(config.bodyTimeoutMs, 5_000);
    assert.equal(config.bodyMinBytesPerSecond, 1_024);
    assert.equal(config.maxConnectionsPerClient, 0);
  });

  test("refuses values that are not integers in range, naming the variable", () => {
    for (const [variable, value] of [
      ["CAPSTAN_BODY_TIMEOUT_MS", "0"],
      ["CAPSTAN_BODY_TIMEOUT_MS", "30s"],
      ["CAPSTAN_BODY_MIN_BYTES_PER_SECOND", "0"],
      ["CAPSTAN_MAX_CONNECTIONS_PER_CLIENT", "-1"],
    ]) {
      assert.throws(
        () => loadConfig({ [variable]: value }),
        (error: unknown) => error instanceof ConfigError && error.variable === variable,
        `${variable}=${value}`,
      );
    }
  });
});
