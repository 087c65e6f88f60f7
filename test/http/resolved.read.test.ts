import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { type SeededCapability, seedCapability, setVersionStatus } from "../../scripts/seed.js";
import { verifyBlobSignature } from "../../src/services/signed-urls.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import {
  bind,
  mintRuntimeToken,
  newRuntime,
  patchBinding,
  readResolved,
  resolvedUrl,
} from "../helpers/bindings.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

/** SPEC §7.6 written out: sha256 of the JSON of [{effective_flags, name, runtime_digest, version}] with sorted keys. */
function expectedRuntimeDigest(
  items: {
    name: string;
    version: string;
    runtime_digest: string;
    effective_flags: Record<string, boolean>;
  }[],
): string {
  const canonical = items.map((item) => ({
    effective_flags: Object.fromEntries(
      Object.entries(item.effective_flags).sort(([a], [b]) => (a < b ? -1 : 1)),
    ),
    name: item.name,
    runtime_digest: item.runtime_digest,
    version: item.version,
  }));
  return `sha256:${createHash("sha256").update(JSON.stringify(canonical)).digest("hex")}`;
}

describe("GET RT/capabilities/resolved", () => {
  let t: TestApp;
  let alpha: SeededCapability;
  let runtimeId: string;

  before(async () => {
    t = await buildTestApp();
    await newOrg(t, "acme");
    alpha = await seedCapability(t.deps, {
      name: "alpha",
      versions: [
        { version: "1.0.0", flags: { readonly: { default: true }, verbose: {} } },
        { version: "2.0.0", flags: { readonly: { default: false } } },
      ],
    });
    await seedCapability(t.deps, { name: "beta", versions: ["1.0.0"] });
    await seedCapability(t.deps, {
      org: "acme",
      name: "scanner",
      public: true,
      versions: [{ version: "1.0.0", flags: { deep: { default: true } } }],
    });
    runtimeId = await newRuntime(t, "resolved");
    await bind(t, runtimeId, { name: "alpha", version: "1.0.0", flags: { verbose: true } });
    await bind(t, runtimeId, { name: "beta", enabled: false });
    await bind(t, runtimeId, { name: "acme/scanner" });
  });
  after(() => t.close());

  test("resolves the enabled bindings only, sorted by name, with every field of §7.6", async () => {
    const resolved = await readResolved(t, runtimeId);
    assert.deepEqual(
      resolved.capabilities.map((c) => c.name),
      ["acme/scanner", "alpha"],
    );
    const version = await t.deps.db
      .selectFrom("capability_versions")
      .selectAll()
      .where("id", "=", alpha.versionIds.get("1.0.0") ?? "")
      .executeTakeFirstOrThrow();
    const item = resolved.capabilities[1];
    assert.deepEqual(Object.keys(item).sort(), [
      "artifact_digest",
      "artifact_s3_prefix",
      "download_url",
      "effective_flags",
      "flags",
      "name",
      "runtime_digest",
      "secrets",
      "version",
    ]);
    assert.equal(item.version, "1.0.0");
    assert.equal(item.artifact_digest, `sha256:${version.artifact_sha256}`);
    assert.equal(item.artifact_s3_prefix, "/api/v1/org/default/capabilities/alpha/1.0.0/files/");
    assert.deepEqual(item.flags, { verbose: true });
    assert.deepEqual(item.effective_flags, { readonly: true, verbose: true });
    assert.equal(item.runtime_digest, version.runtime_digest);
    assert.equal(
      resolved.capabilities[0].artifact_s3_prefix,
      "/api/v1/org/acme/capabilities/scanner/1.0.0/files/",
    );
    assert.deepEqual(resolved.capabilities[0].effective_flags, { deep: true });
  });

  test("computes runtime_digest from name, version, runtime_digest and effective_flags, and sends it as strong ETag", async () => {
    const res = await callApi(t, "GET", resolvedUrl(runtimeId), t.adminKey);
    const resolved = res.json();
    assert.equal(resolved.runtime_digest, expectedRuntimeDigest(resolved.capabilities));
    assert.equal(res.headers.etag, `"${resolved.runtime_digest}"`);
  });

  test("signs download URLs for the bundle that verify against its digest", async () => {
    const item = (await readResolved(t, runtimeId)).capabilities[1];
    const url = new URL(item.download_url);
    const sha256 = item.artifact_digest.slice("sha256:".length);
    assert.equal(`${url.origin}${url.pathname}`, `http://capstan.test/api/v1/blobs/${sha256}`);
    await verifyBlobSignature(
      t.deps,
      sha256,
      url.searchParams.get("exp") ?? undefined,
      url.searchParams.get("sig") ?? undefined,
    );
  });

  test("answers 304 without a body to If-None-Match with the current digest", async () => {
    const { runtime_digest } = await readResolved(t, runtimeId);
    for (const tag of [
      `"${runtime_digest}"`,
      `W/"${runtime_digest}"`,
      `"sha256:other", "${runtime_digest}"`,
      // The digest as the body gives it, unquoted.
      runtime_digest,
    ]) {
      const res = await t.app.inject({
        method: "GET",
        url: resolvedUrl(runtimeId),
        headers: { ...bearer(t.adminKey), "if-none-match": tag },
      });
      assert.equal(res.statusCode, 304, tag);
      assert.equal(res.body, "");
      assert.equal(res.headers["content-length"], undefined, "a 304 announces no body");
      assert.equal(res.headers.etag, `"${runtime_digest}"`);
    }
  });

  test("answers 200 to If-None-Match with another digest", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: resolvedUrl(runtimeId),
      headers: { ...bearer(t.adminKey), "if-none-match": '"sha256:stale"' },
    });
    assert.equal(res.statusCode, 200);
    const bare = await t.app.inject({
      method: "GET",
      url: resolvedUrl(runtimeId),
      headers: { ...bearer(t.adminKey), "if-none-match": "sha256:stale" },
    });
    assert.equal(bare.statusCode, 200);
  });

  test("keeps the digest when re-read, and when only the signed URLs are renewed", async () => {
    const first = await readResolved(t, runtimeId);
    assert.deepEqual(await readResolved(t, runtimeId), first);
    t.advanceClock(12 * 60_000);
    const later = await readResolved(t, runtimeId);
    assert.equal(later.runtime_digest, first.runtime_digest);
    assert.notEqual(later.capabilities[0].download_url, first.capabilities[0].download_url);
    const url = new URL(later.capabilities[0].download_url);
    const sha256 = later.capabilities[0].artifact_digest.slice("sha256:".length);
    await verifyBlobSignature(
      t.deps,
      sha256,
      url.searchParams.get("exp") ?? undefined,
      url.searchParams.get("sig") ?? undefined,
    );
  });

  test("changes the digest on disable/enable, flag overrides and version changes, and only then", async () => {
    const runtime = await newRuntime(t, "digest-changes");
    const binding = await bind(t, runtime, { name: "alpha", version: "1.0.0" });
    const digests = [(await readResolved(t, runtime)).runtime_digest];
    const step = async (payload: Record<string, unknown>) => {
      await patchBinding(t, runtime, binding.id, payload);
      digests.push((await readResolved(t, runtime)).runtime_digest);
    };
    await step({ enabled: false });
    await step({ enabled: true });
    assert.notEqual(digests[1], digests[0]);
    assert.equal(digests[2], digests[0], "back to the same content, back to the same digest");
    await step({ flags: { verbose: true } });
    assert.notEqual(digests[3], digests[2]);
    await step({ flags: { verbose: true } });
    assert.equal(digests[4], digests[3], "a no-op PATCH keeps the digest");
    await step({ flags: { readonly: true } });
    assert.equal(
      digests[5],
      digests[4],
      "an override equal to the default keeps the effective flags, so the digest",
    );
    await step({ version: "2.0.0" });
    assert.notEqual(digests[6], digests[5]);
  });

  test("shows effective flags of the new version after an upgrade that removes a flag", async () => {
    const runtime = await newRuntime(t, "upgrade-flags");
    const binding = await bind(t, runtime, {
      name: "alpha",
      version: "1.0.0",
      flags: { verbose: true, readonly: false },
    });
    await patchBinding(t, runtime, binding.id, { version: "2.0.0" });
    const [item] = (await readResolved(t, runtime)).capabilities;
    assert.deepEqual(item.flags, { readonly: false });
    assert.deepEqual(item.effective_flags, { readonly: false });
  });

  test("keeps a yanked bound version in the resolved set", async () => {
    const gamma = await seedCapability(t.deps, { name: "gamma", versions: ["1.0.0", "1.1.0"] });
    const runtime = await newRuntime(t, "yanked");
    await bind(t, runtime, { name: "gamma", version: "1.1.0" });
    const before = await readResolved(t, runtime);
    await setVersionStatus(t.deps, gamma, "1.1.0", "yanked");
    const after = await readResolved(t, runtime);
    assert.deepEqual(
      after.capabilities.map((c) => `${c.name}@${c.version}`),
      ["gamma@1.1.0"],
    );
    assert.equal(after.runtime_digest, before.runtime_digest);
  });

  test("resolves an empty set for a runtime without enabled bindings", async () => {
    const runtime = await newRuntime(t, "nothing");
    const resolved = await readResolved(t, runtime);
    assert.deepEqual(resolved.capabilities, []);
    assert.equal(resolved.runtime_digest, expectedRuntimeDigest([]));
  });

  test("lets readers and the runtime's own token read, and 403s another runtime's token", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    const first = await readResolved(t, runtimeId);
    assert.deepEqual((await readResolved(t, runtimeId, reader.key)).runtime_digest, first.runtime_digest);
    const token = await mintRuntimeToken(t, runtimeId);
    assert.equal((await readResolved(t, runtimeId, token)).runtime_digest, first.runtime_digest);
    const otherToken = await mintRuntimeToken(t, t.runtimeId);
    expectError(await callApi(t, "GET", resolvedUrl(runtimeId), otherToken), 403, "forbidden_error");
  });

  test("rejects a missing or unknown key with 401, a stranger with 404 and a malformed runtime id with 422", async () => {
    await expectUnauthenticated(t, "GET", resolvedUrl(runtimeId));
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", resolvedUrl(runtimeId), stranger.key), 404, "not_found_error");
    expectError(await callApi(t, "GET", resolvedUrl("runtime"), t.adminKey), 422, "validation_error", [
      "path",
      "runtime_id",
    ]);
    const missing = "2489E9AD-2EE2-8E00-8EC9-32D5F69181C0";
    expectError(await callApi(t, "GET", resolvedUrl(missing), t.adminKey), 404, "not_found_error");
  });
});
