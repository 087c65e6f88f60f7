import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError } from "../helpers/api.js";
import { capabilityBundle, publishBundle } from "../helpers/capability-bundles.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

describe("GET /api/v1/blobs/{sha256} (signed download)", () => {
  let t: TestApp;
  let bundle: Buffer;
  let path: string;
  let sha256: string;

  /** A fresh signed path (pathname + query) for the bundle. */
  async function signedPath(): Promise<string> {
    const link = (
      await callApi(t, "GET", "/api/v1/org/default/capabilities/blobby/1.0.0/bundle", t.adminKey)
    ).json();
    const url = new URL(link.download_url);
    return url.pathname + url.search;
  }

  before(async () => {
    t = await buildTestApp();
    bundle = capabilityBundle({ name: "blobby", files: { "padding.txt": "x".repeat(4000) } });
    const published = await publishBundle(t, bundle);
    assert.equal(published.statusCode, 201, published.body);
    sha256 = published.json().artifact_sha256;
    path = await signedPath();
  });
  after(() => t.close());

  test("streams the whole archive without any credential", async () => {
    const res = await t.app.inject({ method: "GET", url: path });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers["content-type"], "application/gzip");
    assert.equal(res.headers["accept-ranges"], "bytes");
    assert.equal(Number(res.headers["content-length"]), bundle.length);
    assert.deepEqual(res.rawPayload, bundle);
  });

  test("answers a Range request with 206, Content-Range and exactly those bytes", async () => {
    const res = await t.app.inject({ method: "GET", url: path, headers: { range: "bytes=10-99" } });
    assert.equal(res.statusCode, 206);
    assert.equal(res.headers["content-range"], `bytes 10-99/${bundle.length}`);
    assert.equal(Number(res.headers["content-length"]), 90);
    assert.deepEqual(res.rawPayload, bundle.subarray(10, 100));
  });

  test("supports open-ended and suffix ranges", async () => {
    const open = await t.app.inject({ method: "GET", url: path, headers: { range: "bytes=100-" } });
    assert.equal(open.statusCode, 206);
    assert.deepEqual(open.rawPayload, bundle.subarray(100));
    const suffix = await t.app.inject({ method: "GET", url: path, headers: { range: "bytes=-20" } });
    assert.equal(suffix.statusCode, 206);
    assert.equal(
      suffix.headers["content-range"],
      `bytes ${bundle.length - 20}-${bundle.length - 1}/${bundle.length}`,
    );
    assert.deepEqual(suffix.rawPayload, bundle.subarray(bundle.length - 20));
  });

  test("honours If-Range: the range for the blob's own ETag, the whole blob for any other validator", async () => {
    const etag = `"${sha256}"`;
    const same = await t.app.inject({
      method: "GET",
      url: path,
      headers: { range: "bytes=10-99", "if-range": etag },
    });
    assert.equal(same.statusCode, 206);
    assert.deepEqual(same.rawPayload, bundle.subarray(10, 100));
    for (const validator of [`"${"0".repeat(64)}"`, `W/${etag}`, "Sat, 28 Nov 2026 10:00:00 GMT"]) {
      const other = await t.app.inject({
        method: "GET",
        url: path,
        headers: { range: "bytes=10-99", "if-range": validator },
      });
      assert.equal(other.statusCode, 200, validator);
      assert.equal(other.headers["content-range"], undefined);
      assert.deepEqual(other.rawPayload, bundle, validator);
    }
  });

  test("ignores a malformed Range and sends everything; refuses a range past the end with 400", async () => {
    const malformed = await t.app.inject({ method: "GET", url: path, headers: { range: "lines=1-2" } });
    assert.equal(malformed.statusCode, 200);
    assert.equal(malformed.rawPayload.length, bundle.length);
    const past = await t.app.inject({
      method: "GET",
      url: path,
      headers: { range: `bytes=${bundle.length}-` },
    });
    expectError(past, 400, "invalid_error");
  });

  test("answers HEAD with the headers and no body", async () => {
    const res = await t.app.inject({ method: "HEAD", url: path });
    assert.equal(res.statusCode, 200);
    assert.equal(Number(res.headers["content-length"]), bundle.length);
    assert.equal(res.rawPayload.length, 0);
  });

  test("refuses the URL once it has expired with 403 expired_signature_error", async () => {
    const fresh = await signedPath();
    t.advanceClock(16 * 60 * 1000);
    try {
      expectError(await t.app.inject({ method: "GET", url: fresh }), 403, "expired_signature_error");
    } finally {
      t.advanceClock(-16 * 60 * 1000);
    }
  });

  test("refuses a tampered signature, expiry or digest with 403 expired_signature_error", async () => {
    const url = new URL(path, "http://x");
    const sig = url.searchParams.get("sig")!;
    const exp = url.searchParams.get("exp")!;
    const flipped = `${sig[0] === "a" ? "b" : "a"}${sig.slice(1)}`;
    const tampered = [
      `${url.pathname}?exp=${exp}&sig=${flipped}`,
      `${url.pathname}?exp=${Number(exp) + 3600}&sig=${sig}`,
      `/api/v1/blobs/${"0".repeat(64)}?exp=${exp}&sig=${sig}`,
      `${url.pathname}?exp=${exp}`,
      url.pathname,
      `${url.pathname}?exp=${exp}&sig=short`,
    ];
    for (const target of tampered) {
      expectError(await t.app.inject({ method: "GET", url: target }), 403, "expired_signature_error");
    }
  });

  test("accepts the digest in upper case", async () => {
    const upper = path.replace(sha256, sha256.toUpperCase());
    assert.equal((await t.app.inject({ method: "GET", url: upper })).statusCode, 200);
  });

  test("answers 422 for a path that is not a SHA-256", async () => {
    expectError(
      await t.app.inject({ method: "GET", url: "/api/v1/blobs/not-a-digest" }),
      422,
      "validation_error",
      ["path", "sha256"],
    );
  });
});
