// The web console served by the API's process (SPEC §10): static files with their caching, the
// security headers on every console response, client routes falling back to index.html, and the
// API's own URLs untouched. A console that is not built leaves the API working and says how to build it.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { expectError } from "../helpers/api.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>';
const HTML = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };

function expectConsoleHeaders(headers: Record<string, unknown>): void {
  const csp = String(headers["content-security-policy"]);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/, "scripts only from this origin, none inline");
  assert.match(csp, /frame-ancestors 'none'/);
  const scripts = /script-src ([^;]*)/.exec(csp)?.[1] ?? "";
  assert.equal(scripts.trim(), "'self'", "no inline or evaluated script");
  assert.doesNotMatch(csp, /https?:|\*|data:[^;]*script/, "no remote origin");
  assert.equal(headers["x-content-type-options"], "nosniff");
  assert.equal(headers["referrer-policy"], "no-referrer");
}

describe("the web console, built (SPEC §10)", () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "capstan-console-"));
    mkdirSync(path.join(dir, "assets"));
    writeFileSync(path.join(dir, "index.html"), INDEX);
    writeFileSync(path.join(dir, "assets", "index-abc123.js"), "console.log('console');\n");
    writeFileSync(path.join(dir, "assets", "index-def456.css"), "body{margin:0}\n");
    writeFileSync(path.join(dir, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
    t = await buildTestApp({ consoleDir: dir });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("serves index.html at / with no-cache and the security headers", async () => {
    const res = await t.app.inject({ method: "GET", url: "/" });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/html/);
    assert.equal(res.headers["cache-control"], "no-cache");
    assert.equal(res.body, INDEX);
    expectConsoleHeaders(res.headers);
  });

  test("serves hashed assets as immutable, with their content type", async () => {
    const js = await t.app.inject({ method: "GET", url: "/assets/index-abc123.js" });
    assert.equal(js.statusCode, 200);
    assert.match(String(js.headers["content-type"]), /^text\/javascript/);
    assert.equal(js.headers["cache-control"], "public, max-age=31536000, immutable");
    expectConsoleHeaders(js.headers);
    const css = await t.app.inject({ method: "GET", url: "/assets/index-def456.css" });
    assert.match(String(css.headers["content-type"]), /^text\/css/);
    const icon = await t.app.inject({ method: "GET", url: "/favicon.svg" });
    assert.equal(icon.statusCode, 200);
    assert.equal(icon.headers["cache-control"], "no-cache", "an unhashed file is revalidated");
  });

  test("answers HEAD like GET, without a body", async () => {
    const res = await t.app.inject({ method: "HEAD", url: "/assets/index-abc123.js" });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, "");
  });

  test("falls back to index.html for client routes, deep links included", async () => {
    for (const url of [
      "/sign-in",
      "/orgs/default/catalog?q=web&keywords=%5B%22proxy%22%5D",
      "/orgs/default/capabilities/flag-gated?version=1.2.0&tab=files",
      "/orgs/default/capabilities/acme%2Ftools",
    ]) {
      const res = await t.app.inject({ method: "GET", url, headers: HTML });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.body, INDEX, url);
      assert.equal(res.headers["cache-control"], "no-cache", url);
      expectConsoleHeaders(res.headers);
    }
  });

  test("a missing asset is a 404 envelope, never HTML", async () => {
    expectError(
      await t.app.inject({ method: "GET", url: "/assets/index-gone.js", headers: HTML }),
      404,
      "not_found_error",
    );
    expectError(
      await t.app.inject({ method: "GET", url: "/robots.txt", headers: HTML }),
      404,
      "not_found_error",
    );
  });

  test("leaves the API's URLs alone: unknown ones stay 404 envelopes, known ones answer as before", async () => {
    for (const url of ["/api/v1/nope", "/api", "/docs/nope", "/healthz/x", "/metrics/x", "/v0/servers/x"]) {
      expectError(await t.app.inject({ method: "GET", url, headers: HTML }), 404, "not_found_error");
    }
    const me = await t.app.inject({
      method: "GET",
      url: "/api/v1/user/me",
      headers: { ...HTML, ...bearer(t.adminKey) },
    });
    assert.equal(me.statusCode, 200);
    assert.equal(
      me.headers["content-security-policy"],
      undefined,
      "the API's JSON is not a console response",
    );
    const health = await t.app.inject({ method: "GET", url: "/healthz", headers: HTML });
    assert.deepEqual(health.json(), { status: "ok" });
    const openapi = await t.app.inject({ method: "GET", url: "/openapi.json" });
    assert.equal(openapi.statusCode, 200);
    const docs = await t.app.inject({ method: "GET", url: "/docs" });
    assert.equal(docs.statusCode, 200);
  });

  test("a client that does not ask for a page gets the envelope for an unknown URL", async () => {
    expectError(await t.app.inject({ method: "GET", url: "/no/such/route" }), 404, "not_found_error");
    expectError(
      await t.app.inject({ method: "GET", url: "/no/such/route", headers: { accept: "application/json" } }),
      404,
      "not_found_error",
    );
  });

  test("other methods on console paths are 404 envelopes", async () => {
    expectError(await t.app.inject({ method: "POST", url: "/", headers: HTML }), 404, "not_found_error");
    expectError(
      await t.app.inject({ method: "DELETE", url: "/orgs/default/catalog", headers: HTML }),
      404,
      "not_found_error",
    );
  });
});

describe("the web console, not built", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ consoleDir: null });
  });
  after(() => t.close());

  test("/ says how to build it, with the console's headers; the API works", async () => {
    const res = await t.app.inject({ method: "GET", url: "/", headers: HTML });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /npm run build/);
    expectConsoleHeaders(res.headers);
    const me = await t.app.inject({ method: "GET", url: "/api/v1/user/me", headers: bearer(t.adminKey) });
    assert.equal(me.statusCode, 200);
    expectError(
      await t.app.inject({ method: "GET", url: "/assets/index-abc123.js" }),
      404,
      "not_found_error",
    );
  });
});
