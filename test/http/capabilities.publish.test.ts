import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { readCapabilityDir } from "../../src/cli/read-capability-dir.js";
import { callApi, expectError } from "../helpers/api.js";
import {
  capabilityBundle,
  capabilityEntries,
  multipartBody,
  publishBundle,
  publishOk,
} from "../helpers/capability-bundles.js";
import { testDialect } from "../helpers/database.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTarGz } from "../helpers/tar-builder.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";

function countBlobFiles(t: TestApp): number {
  const walk = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (sum, entry) => sum + (entry.isDirectory() ? walk(path.join(dir, entry.name)) : 1),
      0,
    );
  try {
    return walk(path.join(t.dataDir, "blobs"));
  } catch {
    return 0;
  }
}

async function countRows(t: TestApp) {
  const count = async (table: "capabilities" | "capability_versions") =>
    Number(
      (
        await t.deps.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return { capabilities: await count("capabilities"), versions: await count("capability_versions") };
}

async function fixtureBundle(dir: string): Promise<Buffer> {
  const files = await readCapabilityDir(path.join("test/fixtures/capabilities", dir));
  return buildTarGz([...files].map(([name, content]) => ({ name, content })));
}

describe("POST /api/v1/org/{org}/capabilities", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("publishes a raw .tar.gz body as a new version with 201 and the artifact detail", async () => {
    const bundle = await fixtureBundle("basic");
    const res = await publishBundle(t, bundle);
    assert.equal(res.statusCode, 201, res.body);
    const artifact = res.json();
    assert.equal(artifact.name, "basic");
    assert.equal(artifact.version, "1.0.0");
    assert.equal(artifact.status, "active");
    assert.equal(artifact.is_public, false);
    assert.equal(artifact.author_name, "Capstan Tests");
    assert.equal(artifact.license, "MIT");
    assert.deepEqual(artifact.keywords, ["example", "minimal"]);
    assert.deepEqual(artifact.component_counts, {
      agents: 1,
      tools: 1,
      skills: 0,
      mcp_servers: 0,
      workers: 0,
    });
    assert.deepEqual(artifact.versions, ["1.0.0"]);
    assert.equal(artifact.version_count, 1);
    assert.equal(artifact.size_bytes, bundle.length);
    assert.match(artifact.artifact_sha256, /^[0-9a-f]{64}$/);
    assert.match(artifact.runtime_digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(
      artifact.file_manifest.map((f: { path: string }) => f.path),
      ["README.md", "agents/assistant.md", "capability.yaml", "tools/echo.py"],
    );
    assert.equal(artifact.manifest.name, "basic");
    assert.ok(artifact.published_by);
  });

  test("accepts the bundle as the multipart field `bundle`", async () => {
    const { body, contentType } = multipartBody("bundle", capabilityBundle({ name: "multipart-cap" }));
    const res = await t.app.inject({
      method: "POST",
      url: CAP,
      headers: { ...bearer(t.adminKey), "content-type": contentType },
      payload: body,
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().name, "multipart-cap");
  });

  test("accepts application/octet-stream and a streamed body without Content-Length", async () => {
    const octet = await publishBundle(t, capabilityBundle({ name: "octet" }), {
      contentType: "application/octet-stream",
    });
    assert.equal(octet.statusCode, 201, octet.body);
    const streamed = await t.app.inject({
      method: "POST",
      url: CAP,
      headers: { ...bearer(t.adminKey), "content-type": "application/gzip" },
      payload: Readable.from([capabilityBundle({ name: "streamed" })]),
    });
    assert.equal(streamed.statusCode, 201, streamed.body);
  });

  test("answers 422 when the multipart body has no `bundle` field", async () => {
    const { body, contentType } = multipartBody("archive", capabilityBundle({ name: "wrong-field" }));
    const res = await t.app.inject({
      method: "POST",
      url: CAP,
      headers: { ...bearer(t.adminKey), "content-type": contentType },
      payload: body,
    });
    expectError(res, 422, "validation_error", ["body", "bundle"]);
  });

  test("a multipart body that cannot be read is 400 bundle.format, and stores nothing", async () => {
    const { body, contentType } = multipartBody("bundle", capabilityBundle({ name: "broken-multipart" }));
    const cases: [string, string, Buffer][] = [
      ["no boundary", "multipart/form-data", body],
      ["another boundary", "multipart/form-data; boundary=not-the-one", body],
      ["a boundary over 256 characters", `multipart/form-data; boundary=${"b".repeat(300)}`, body],
      ["a body cut in the middle of the part", contentType, body.subarray(0, Math.floor(body.length / 2))],
      ["a body cut right after the part headers", contentType, body.subarray(0, 150)],
    ];
    for (const [label, type, payload] of cases) {
      const res = await t.app.inject({
        method: "POST",
        url: CAP,
        headers: { ...bearer(t.adminKey), "content-type": type },
        payload,
      });
      assert.equal(res.statusCode, 400, `${label}: ${res.body}`);
      assert.deepEqual(
        res.json().errors.map((error: { type: string }) => error.type),
        ["bundle.format"],
        label,
      );
    }
    // An empty boundary finds no part at all: the field is missing.
    const empty = await t.app.inject({
      method: "POST",
      url: CAP,
      headers: { ...bearer(t.adminKey), "content-type": "multipart/form-data; boundary=" },
      payload: body,
    });
    expectError(empty, 422, "validation_error", ["body", "bundle"]);
    expectError(await callApi(t, "GET", `${CAP}/broken-multipart`, t.adminKey), 404, "not_found_error");
  });

  test("a NUL character in manifest text: stored on SQLite, refused with 400 by PostgreSQL, never a 500", async () => {
    // JSON.stringify writes the character as \u0000, which YAML reads back as NUL.
    const res = await publishBundle(t, capabilityBundle({ name: "nul-text", description: "a\u0000b" }));
    if (testDialect() === "postgres") expectError(res, 400, "invalid_error");
    else assert.equal(res.statusCode, 201, res.body);
  });

  test("rejects a JSON body with 400 invalid_error", async () => {
    expectError(await callApi(t, "POST", CAP, t.adminKey, { bundle: "nope" }), 400, "invalid_error");
  });

  test("re-publishing identical content answers 200 with the same artifact", async () => {
    const first = await publishOk(t, { name: "idem" });
    const again = await publishBundle(t, capabilityBundle({ name: "idem" }));
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().id, first.id);
    assert.equal(again.json().runtime_digest, first.runtime_digest);
  });

  test("identical content packed differently (other mtimes, a top-level directory) is still the same version", async () => {
    await publishOk(t, { name: "repacked" });
    const repacked = buildTarGz(
      capabilityEntries({ name: "repacked" }).map((entry) => ({
        ...entry,
        name: `repacked/${entry.name}`,
        mtime: 1_700_000_000,
      })),
    );
    const res = await publishBundle(t, repacked);
    assert.equal(res.statusCode, 200, res.body);
  });

  test("rejects different content under an existing version with 409 already_exists_error", async () => {
    await publishOk(t, { name: "changed" });
    const res = await publishBundle(t, capabilityBundle({ name: "changed", salt: "different" }));
    expectError(res, 409, "already_exists_error");
  });

  test("sets visibility from ?public=true for a new name only", async () => {
    const created = await publishOk(t, { name: "born-public" }, { query: "public=true" });
    assert.equal(created.is_public, true);
    const next = await publishOk(t, { name: "born-public", version: "1.1.0" }, { query: "public=false" });
    assert.equal(next.is_public, true);
  });

  test("records capability.version.published in the audit log", async () => {
    const artifact = await publishOk(t, { name: "audited" });
    const event = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("target_id", "=", artifact.id)
      .executeTakeFirstOrThrow();
    assert.equal(event.action, "capability.version.published");
    assert.equal(JSON.parse(event.data).version, "1.0.0");
  });

  test("stores manifest warnings without blocking the publish", async () => {
    const artifact = await publishOk(t, { name: "warned", manifestExtra: "rollout: canary" });
    assert.deepEqual(
      artifact.warnings.map((w: { type: string }) => w.type),
      ["manifest.unknown_key"],
    );
  });

  // Prereleases are published since SPEC §13 (capabilities.tags.test.ts); build metadata is not.
  test("refuses a build suffix with 422 manifest.version", async () => {
    const res = await publishBundle(t, capabilityBundle({ name: "pre", version: "1.0.0+build.1" }));
    expectError(res, 422, "validation_error", ["bundle", "capability.yaml", "version"]);
    assert.equal(res.json().errors[0].type, "manifest.version");
  });

  test("reports each manifest problem as a 422 item at its own loc", async () => {
    const res = await publishBundle(t, await fixtureBundle("invalid"));
    expectError(res, 422, "validation_error");
    const types = res.json().errors.map((e: { type: string }) => e.type);
    assert.ok(types.includes("manifest.version"), res.body);
    assert.ok(types.includes("manifest.flags"), res.body);
    assert.ok(
      res
        .json()
        .errors.every((e: { loc: unknown[] }) => e.loc[0] === "bundle" && e.loc[1] === "capability.yaml"),
    );
  });

  test("reports a capability.yaml that is not YAML as 422 at bundle/capability.yaml", async () => {
    const bundle = buildTarGz([{ name: "capability.yaml", content: "name: [unclosed" }]);
    expectError(await publishBundle(t, bundle), 422, "validation_error", ["bundle", "capability.yaml"]);
  });

  describe("hostile or broken archives are 400 invalid_error with the rule's type", () => {
    const cases: [string, () => Buffer, string][] = [
      ["not gzip", () => Buffer.from("definitely not a tarball"), "bundle.format"],
      [
        "a '..' path",
        () => buildTarGz([...capabilityEntries({ name: "evil" }), { name: "../escape.txt", content: "x" }]),
        "bundle.path",
      ],
      [
        "a symlink",
        () =>
          buildTarGz([
            ...capabilityEntries({ name: "linked" }),
            { name: "passwd", type: "symlink", linkname: "/etc/passwd" },
          ]),
        "bundle.entry_type",
      ],
      [
        "a duplicate path",
        () => buildTarGz([...capabilityEntries({ name: "twice" }), { name: "README.md", content: "again" }]),
        "bundle.duplicate",
      ],
      [
        "no capability.yaml",
        () => buildTarGz([{ name: "README.md", content: "hello" }]),
        "bundle.no_manifest",
      ],
    ];
    for (const [what, build, type] of cases) {
      test(`${what} → ${type}`, async () => {
        const res = await publishBundle(t, build());
        expectError(res, 400, "invalid_error");
        assert.ok(
          res
            .json()
            .errors.some((e: { type: string; loc: unknown[] }) => e.type === type && e.loc[0] === "bundle"),
          res.body,
        );
      });
    }
  });

  test("stores nothing, neither rows nor blobs, from a rejected bundle", async () => {
    const rowsBefore = await countRows(t);
    const blobsBefore = countBlobFiles(t);
    const hostile = buildTarGz([
      ...capabilityEntries({ name: "rejected" }),
      { name: "/abs/path", content: "x" },
    ]);
    expectError(await publishBundle(t, hostile), 400, "invalid_error");
    expectError(
      await publishBundle(t, capabilityBundle({ name: "rejected", version: "01.0.0" })),
      422,
      "validation_error",
    );
    assert.deepEqual(await countRows(t), rowsBefore);
    assert.equal(countBlobFiles(t), blobsBefore);
  });

  test("a deleted version number is never published again, whatever the content", async () => {
    await publishOk(t, { name: "tombstoned" });
    await publishOk(t, { name: "tombstoned", version: "1.1.0" });
    const deleted = await callApi(t, "DELETE", `${CAP}/tombstoned/1.0.0`, t.adminKey);
    assert.equal(deleted.statusCode, 204, deleted.body);
    expectError(
      await publishBundle(t, capabilityBundle({ name: "tombstoned" })),
      409,
      "already_exists_error",
    );
    expectError(
      await publishBundle(t, capabilityBundle({ name: "tombstoned", salt: "new content" })),
      409,
      "already_exists_error",
    );
  });

  test("rejects missing and unknown keys with 401", async () => {
    const bundle = capabilityBundle({ name: "anon" });
    const none = await t.app.inject({
      method: "POST",
      url: CAP,
      headers: { "content-type": "application/gzip" },
      payload: bundle,
    });
    expectError(none, 401, "authentication_error");
    const unknown = await publishBundle(t, bundle, { key: `cst_aaaaaaaaaaaa_${"A".repeat(40)}` });
    expectError(unknown, 401, "authentication_error");
  });

  test("forbids a reader and a read-only key with 403", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    expectError(
      await publishBundle(t, capabilityBundle({ name: "by-reader" }), { key: reader.key }),
      403,
      "forbidden_error",
    );
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    expectError(
      await publishBundle(t, capabilityBundle({ name: "by-ro" }), { key: readOnly.key }),
      403,
      "forbidden_error",
    );
  });

  test("lets a contributor publish", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    const res = await publishBundle(t, capabilityBundle({ name: "by-contributor" }), {
      key: contributor.key,
    });
    assert.equal(res.statusCode, 201, res.body);
  });

  test("answers 404 to a non-member and for an unknown org", async () => {
    const stranger = await newStranger(t);
    expectError(await publishBundle(t, capabilityBundle(), { key: stranger.key }), 404, "not_found_error");
    expectError(await publishBundle(t, capabilityBundle(), { org: "no-such-org" }), 404, "not_found_error");
  });

  test("answers 422 for an org that is not a slug and for an unknown query parameter", async () => {
    expectError(await publishBundle(t, capabilityBundle(), { org: "Not_A_Slug" }), 422, "validation_error", [
      "path",
      "org",
    ]);
    expectError(
      await publishBundle(t, capabilityBundle(), { query: "visibility=public" }),
      422,
      "validation_error",
    );
  });
});

describe("POST /api/v1/org/{org}/capabilities with a small CAPSTAN_MAX_BUNDLE_BYTES", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { CAPSTAN_MAX_BUNDLE_BYTES: "4096" } });
  });
  after(() => t.close());

  const oversized = () => capabilityBundle({ name: "big", files: { "data.bin": randomBytes(16 * 1024) } });

  test("refuses a bundle over the limit with 400 bundle.too_large from its Content-Length", async () => {
    const res = await publishBundle(t, oversized());
    expectError(res, 400, "invalid_error");
    assert.equal(res.json().errors[0].type, "bundle.too_large");
  });

  test("refuses a streamed bundle over the limit with 400 bundle.too_large while reading it", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: CAP,
      headers: { ...bearer(t.adminKey), "content-type": "application/gzip" },
      payload: Readable.from([oversized()]),
    });
    expectError(res, 400, "invalid_error");
    assert.equal(res.json().errors[0].type, "bundle.too_large");
  });

  test("refuses an oversized multipart upload with 400 bundle.too_large", async () => {
    const { body, contentType } = multipartBody("bundle", oversized());
    const res = await t.app.inject({
      method: "POST",
      url: CAP,
      headers: { ...bearer(t.adminKey), "content-type": contentType },
      payload: Readable.from([body]),
    });
    expectError(res, 400, "invalid_error");
    assert.equal(res.json().errors[0].type, "bundle.too_large");
  });

  test("still accepts a bundle under the limit", async () => {
    assert.equal((await publishBundle(t, capabilityBundle({ name: "small" }))).statusCode, 201);
  });
});
