// The last pass over every log line (src/http/log-redaction.ts): what it takes out, what it keeps,
// and that a hostile URL cannot make it slow (it runs on every line the server writes).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { redactLine, redactUrl } from "../../src/http/log-redaction.js";

const KEY = `cst_abcdefghijk2_${"A1b2".repeat(10)}`;

describe("log redaction", () => {
  test("takes credential-named query values out of URLs and keeps the rest", () => {
    assert.equal(
      redactUrl("/api/v1/blobs/ab?exp=17&sig=deadbeef&api_key=k&access_token=t&limit=5#top"),
      "/api/v1/blobs/ab?exp=17&sig=[REDACTED]&api_key=[REDACTED]&access_token=[REDACTED]&limit=5#top",
    );
    assert.equal(redactUrl("/api/v1/user/me"), "/api/v1/user/me");
  });

  test("takes keys and credential-named query values out of any line, keeping a key's prefix", () => {
    const line = JSON.stringify({ msg: `boom at /x?sig=cafe&page=2 with ${KEY}`, url: `/y?token=${KEY}` });
    const redacted = redactLine(line);
    assert.ok(!redacted.includes("cafe") && !redacted.includes("A1b2A1b2"), redacted);
    assert.ok(redacted.includes("page=2") && redacted.includes("cst_abcdefghijk2_[REDACTED]"), redacted);
    assert.equal(redactLine('{"msg":"request completed"}'), '{"msg":"request completed"}');
  });

  test("a hostile URL costs one pass over the line, not one per character", () => {
    // Took ~0.9 s with a pattern that backtracked over the parameter name; one pass is ~1 ms.
    const line = JSON.stringify({ a: "x=1", url: `/x?${"a&".repeat(8000)}${"sig".repeat(5000)}` });
    const started = performance.now();
    redactLine(line);
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs < 200, `${elapsedMs.toFixed(1)} ms`);
  });
});
