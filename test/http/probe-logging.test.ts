// Health probes come every few seconds: their request lines are logged at debug, not info, while
// every other request still logs its two info lines.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { buildTestApp } from "../helpers/test-app.js";

const PINO_LEVELS: Record<number, string> = { 20: "debug", 30: "info", 40: "warn", 50: "error" };

async function requestLines(logLevel: string, urls: string[]) {
  let text = "";
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const t = await buildTestApp({ logStream, logLevel });
  try {
    text = "";
    for (const url of urls) assert.equal((await t.app.inject({ method: "GET", url })).statusCode < 500, true);
  } finally {
    await t.close();
  }
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { level: number; msg: string; req?: { url: string } })
    .filter((line) => line.msg === "incoming request" || line.msg === "request completed");
}

describe("request logging of health probes", () => {
  test("at the default level, /healthz and /readyz log nothing; other requests log at info", async () => {
    const lines = await requestLines("info", ["/healthz", "/readyz?full=1", "/openapi.json"]);
    const urls = lines.filter((line) => line.req).map((line) => line.req!.url);
    assert.deepEqual(urls, ["/openapi.json"]);
    assert.deepEqual(
      lines.map((line) => PINO_LEVELS[line.level]),
      ["info", "info"],
    );
  });

  test("at debug, the probes' request lines are there, at debug", async () => {
    const lines = await requestLines("debug", ["/healthz", "/readyz"]);
    assert.equal(lines.length, 4);
    assert.deepEqual(new Set(lines.map((line) => PINO_LEVELS[line.level])), new Set(["debug"]));
  });
});
