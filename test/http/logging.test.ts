// Keys never appear in logs (SPEC §2.2), whichever header carries them and however the request ends.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

class LogCapture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

const UNKNOWN_KEY = `cst_zzzzzzzzzzzz_${"Q".repeat(48)}`;
const MALFORMED_KEY = "cst_not-a-real-key_hunter2hunter2";

describe("logs", () => {
  let t: TestApp;
  const logs = new LogCapture();
  before(async () => {
    t = await buildTestApp({
      logStream: logs,
      env: { CAPSTAN_RATE_LIMIT_RPM: "1000" },
      extraRoutes: (app) => {
        app.get("/test/crash", async () => {
          throw new Error("boom");
        });
      },
    });
  });
  after(() => t.close());

  test("never contain key material, whatever the header or the outcome", async () => {
    const secrets = [t.adminKey, UNKNOWN_KEY, MALFORMED_KEY];
    const send = (url: string, headers: Record<string, string>, method: "GET" | "POST" = "GET") =>
      t.app.inject({ method, url, headers });
    for (const key of [t.adminKey, UNKNOWN_KEY, MALFORMED_KEY]) {
      await send("/api/v1/user/me", bearer(key));
      await send("/api/v1/user/me", { "x-api-key": key });
      await send("/test/crash", bearer(key));
      await send("/api/v1/no-such-route", bearer(key));
      await send("/api/v1/user/api-keys", { ...bearer(key), "content-type": "application/json" }, "POST");
    }
    const created = await t.app.inject({
      method: "POST",
      url: "/api/v1/user/api-keys",
      headers: bearer(t.adminKey),
      payload: { name: "ci" },
    });
    if (created.statusCode === 201) {
      const minted = created.json().key as string;
      secrets.push(minted);
      await send("/api/v1/user/me", bearer(minted));
    }

    assert.ok(logs.text.includes('"msg":"request completed"'), "requests were logged at info level");
    assert.ok(logs.text.includes('"msg":"unhandled error"'), "the crash was logged");
    for (const secret of secrets) {
      assert.ok(!logs.text.includes(secret), `a key leaked into the logs: ${secret.slice(0, 16)}…`);
      // The secret part alone is as good as the key: it must not appear either.
      const secretPart = secret.slice(secret.lastIndexOf("_") + 1);
      assert.ok(!logs.text.includes(secretPart), "a key's secret part leaked into the logs");
    }
    assert.equal(created.statusCode, 201, "POST /user/api-keys minted a key to check as well");
  });

  test("record a crash with its cause under the request id the client was given", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/test/crash",
      headers: { ...bearer(t.adminKey), "x-request-id": "crash-log-1" },
    });
    assert.equal(res.statusCode, 500);
    const record = logs.text
      .split("\n")
      .filter((line) => line.includes('"reqId":"crash-log-1"'))
      .find((line) => line.includes('"msg":"unhandled error"'));
    assert.ok(record, "the crash is logged with the request id");
    assert.match(record, /"message":"boom"/, "the cause is in the log, not in the response");
  });

  test("redact the key headers when code logs request headers", () => {
    const before = logs.text.length;
    t.deps.logger.info(
      { req: { headers: { authorization: `Bearer ${t.adminKey}`, "x-api-key": t.adminKey } } },
      "headers on purpose",
    );
    const record = logs.text.slice(before);
    assert.ok(record.includes("headers on purpose"));
    assert.ok(!record.includes(t.adminKey), record);
  });
});
