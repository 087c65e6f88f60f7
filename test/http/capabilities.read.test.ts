import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";
const binary = randomBytes(300);

describe("reading one capability: detail, versions, readme, files", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    for (const version of ["1.0.0", "1.9.0", "1.10.0", "2.0.0"]) {
      await publishOk(t, {
        name: "reader",
        version,
        readme: `# reader ${version}`,
        files: { "assets/logo.png": binary, "notes.unknownext": "plain", "docs/guide.md": "# Guide" },
      });
    }
    await publishOk(t, { name: "plain", readme: null });
    await publishOk(t, { name: "lower-readme", readme: null, files: { "readme.md": "lower case" } });
    await newOrg(t, "acme");
    await publishOk(t, { name: "shared", readme: "# shared" }, { org: "acme", query: "public=true" });
    await publishOk(t, { name: "hidden" }, { org: "acme" });
  });
  after(() => t.close());

  test("GET CAP/{name} is the detail of the latest version", async () => {
    const res = await callApi(t, "GET", `${CAP}/reader`, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    const detail = res.json();
    assert.equal(detail.version, "2.0.0");
    assert.deepEqual(detail.versions, ["2.0.0", "1.10.0", "1.9.0", "1.0.0"]);
    for (const field of [
      "artifact_sha256",
      "runtime_digest",
      "size_bytes",
      "file_manifest",
      "manifest",
      "component_details",
      "flags",
      "warnings",
      "deprecation_message",
      "published_by",
    ]) {
      assert.ok(field in detail, `detail has ${field}`);
    }
  });

  test("GET CAP/{name}/{version} reads one version, and `latest` names the latest", async () => {
    const one = (await callApi(t, "GET", `${CAP}/reader/1.9.0`, t.adminKey)).json();
    assert.equal(one.version, "1.9.0");
    const latest = (await callApi(t, "GET", `${CAP}/reader/latest`, t.adminKey)).json();
    assert.equal(latest.version, "2.0.0");
  });

  test("GET CAP/{name}/versions lists newest semver first with status", async () => {
    const res = await callApi(t, "GET", `${CAP}/reader/versions`, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.latest_version, "2.0.0");
    assert.deepEqual(
      body.versions.map((v: { version: string; status: string }) => `${v.version}:${v.status}`),
      ["2.0.0:active", "1.10.0:active", "1.9.0:active", "1.0.0:active"],
    );
  });

  test("reads the README of the latest version and of a given one", async () => {
    assert.deepEqual((await callApi(t, "GET", `${CAP}/reader/readme`, t.adminKey)).json(), {
      content: "# reader 2.0.0",
      path: "README.md",
    });
    assert.equal(
      (await callApi(t, "GET", `${CAP}/reader/1.0.0/readme`, t.adminKey)).json().content,
      "# reader 1.0.0",
    );
    assert.deepEqual((await callApi(t, "GET", `${CAP}/lower-readme/readme`, t.adminKey)).json(), {
      content: "lower case",
      path: "readme.md",
    });
  });

  test("answers 404 for the README of a version without one", async () => {
    expectError(await callApi(t, "GET", `${CAP}/plain/readme`, t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${CAP}/plain/1.0.0/readme`, t.adminKey), 404, "not_found_error");
  });

  test("serves one file's raw bytes with a content type by extension", async () => {
    const png = await callApi(t, "GET", `${CAP}/reader/1.0.0/files/assets/logo.png`, t.adminKey);
    assert.equal(png.statusCode, 200);
    assert.equal(png.headers["content-type"], "image/png");
    assert.deepEqual(png.rawPayload, binary);
    const md = await callApi(t, "GET", `${CAP}/reader/latest/files/docs/guide.md`, t.adminKey);
    assert.match(String(md.headers["content-type"]), /^text\/markdown/);
    assert.equal(md.body, "# Guide");
    const other = await callApi(t, "GET", `${CAP}/reader/1.0.0/files/notes.unknownext`, t.adminKey);
    assert.match(String(other.headers["content-type"]), /^text\/plain/);
    assert.equal(other.body, "plain");
  });

  test("answers 404 for a path that is not in the version's files", async () => {
    for (const path of ["missing.txt", "assets", "", "assets/logo.png/x"]) {
      expectError(
        await callApi(t, "GET", `${CAP}/reader/1.0.0/files/${path}`, t.adminKey),
        404,
        "not_found_error",
      );
    }
  });

  test("answers 404 for an unknown capability or version", async () => {
    expectError(await callApi(t, "GET", `${CAP}/nope`, t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${CAP}/reader/3.0.0`, t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${CAP}/reader/not-a-version`, t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${CAP}/nope/versions`, t.adminKey), 404, "not_found_error");
  });

  test("reads another org's public capability as owner/name, and never its private ones", async () => {
    const shared = await callApi(t, "GET", `${CAP}/${encodeURIComponent("acme/shared")}`, t.adminKey);
    assert.equal(shared.statusCode, 200, shared.body);
    assert.equal(shared.json().name, "acme/shared");
    const readme = await callApi(t, "GET", `${CAP}/acme%2Fshared/1.0.0/readme`, t.adminKey);
    assert.equal(readme.json().content, "# shared");
    expectError(await callApi(t, "GET", `${CAP}/acme%2Fhidden`, t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${CAP}/shared`, t.adminKey), 404, "not_found_error");
  });

  test("takes owner/name unencoded, as two path segments, on every read", async () => {
    const encoded = "acme%2Fshared";
    for (const suffix of [
      "",
      "/",
      "/versions",
      "/readme",
      "/1.0.0",
      "/latest",
      "/1.0.0/readme",
      "/1.0.0/bundle",
    ]) {
      const plain = await callApi(t, "GET", `${CAP}/acme/shared${suffix}`, t.adminKey);
      assert.equal(plain.statusCode, 200, `${suffix}: ${plain.body}`);
      const reference = (await callApi(t, "GET", `${CAP}/${encoded}${suffix}`, t.adminKey)).json();
      const answer = plain.json();
      if (suffix.endsWith("/bundle")) {
        // Signed again per request: the same blob, another expiry.
        assert.equal(answer.digest, reference.digest);
      } else {
        assert.deepEqual(answer, reference, suffix);
      }
    }
    const file = await callApi(t, "GET", `${CAP}/acme/shared/1.0.0/files/README.md`, t.adminKey);
    assert.equal(file.body, "# shared");
    expectError(await callApi(t, "GET", `${CAP}/acme/hidden`, t.adminKey), 404, "not_found_error");
  });

  test("keeps a version, latest and the sub-resources in the second segment for the path's own org", async () => {
    assert.equal((await callApi(t, "GET", `${CAP}/reader/1.0.0`, t.adminKey)).json().name, "reader");
    assert.equal((await callApi(t, "GET", `${CAP}/reader/latest`, t.adminKey)).json().name, "reader");
    assert.equal((await callApi(t, "GET", `${CAP}/reader/versions`, t.adminKey)).statusCode, 200);
    assert.equal((await callApi(t, "GET", `${CAP}/reader/readme`, t.adminKey)).statusCode, 200);
    // Changes never take owner/name: a PATCH keeps `{name}/{version}` and checks the version.
    expectError(
      await callApi(t, "PATCH", `${CAP}/acme/shared`, t.adminKey, { status: "yanked" }),
      422,
      "validation_error",
    );
  });

  test("names a capability of the path's own org as owner/name too", async () => {
    const res = await callApi(t, "GET", `${CAP}/default%2Freader/1.0.0`, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().name, "reader");
  });

  test("lets a reader read everything", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    for (const url of [
      `${CAP}/reader`,
      `${CAP}/reader/versions`,
      `${CAP}/reader/readme`,
      `${CAP}/reader/1.0.0/files/docs/guide.md`,
    ]) {
      assert.equal((await callApi(t, "GET", url, reader.key)).statusCode, 200, url);
    }
  });

  test("rejects missing and unknown keys with 401", async () => {
    for (const url of [
      `${CAP}/reader`,
      `${CAP}/reader/versions`,
      `${CAP}/reader/readme`,
      `${CAP}/reader/1.0.0/files/docs/guide.md`,
    ]) {
      await expectUnauthenticated(t, "GET", url);
    }
  });

  test("answers 404 to a non-member, even for a public capability under its own org", async () => {
    const stranger = await newStranger(t);
    for (const url of [
      `${CAP}/reader`,
      `${CAP}/reader/versions`,
      `${CAP}/reader/1.0.0/files/docs/guide.md`,
    ]) {
      expectError(await callApi(t, "GET", url, stranger.key), 404, "not_found_error");
    }
    expectError(
      await callApi(t, "GET", "/api/v1/org/acme/capabilities/shared", stranger.key),
      404,
      "not_found_error",
    );
  });

  test("answers 422 for a name that cannot be a capability name", async () => {
    expectError(await callApi(t, "GET", `${CAP}/Bad_Name`, t.adminKey), 422, "validation_error", [
      "path",
      "name",
    ]);
  });
});
