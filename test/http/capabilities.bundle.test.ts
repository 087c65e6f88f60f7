import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { insertAdminKey } from "../../scripts/seed.js";
import { newId } from "../../src/lib/ids.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { capabilityBundle, publishOk } from "../helpers/capability-bundles.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";

async function bindToDefaultRuntime(t: TestApp, versionId: string): Promise<void> {
  const version = await t.deps.db
    .selectFrom("capability_versions")
    .select(["capability_id", "org_id"])
    .where("id", "=", versionId)
    .executeTakeFirstOrThrow();
  const at = new Date().toISOString();
  await t.deps.db
    .insertInto("bindings")
    .values({
      id: newId(),
      org_id: version.org_id,
      runtime_id: t.runtimeId,
      capability_id: version.capability_id,
      version_id: versionId,
      enabled: 1,
      flags: "{}",
      revision: 1,
      created_at: at,
      updated_at: at,
    })
    .execute();
}

describe("GET /api/v1/org/{org}/capabilities/{name}/{version}/bundle", () => {
  let t: TestApp;
  let artifact: { id: string; artifact_sha256: string; size_bytes: number };
  before(async () => {
    t = await buildTestApp();
    artifact = await publishOk(t, { name: "pkg" });
    await publishOk(t, { name: "pkg", version: "1.1.0" });
  });
  after(() => t.close());

  test("returns the digest, a signed download URL under CAPSTAN_PUBLIC_URL, the size and the expiry", async () => {
    const res = await callApi(t, "GET", `${CAP}/pkg/1.0.0/bundle`, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    const link = res.json();
    assert.deepEqual(Object.keys(link).sort(), ["digest", "download_url", "expires_at", "size_bytes"]);
    assert.equal(link.digest, `sha256:${artifact.artifact_sha256}`);
    assert.equal(link.size_bytes, artifact.size_bytes);
    assert.ok(link.download_url.startsWith(`http://capstan.test/api/v1/blobs/${artifact.artifact_sha256}?`));
    const lifetime = Date.parse(link.expires_at) - Date.now();
    assert.ok(lifetime > 0 && lifetime <= 15 * 60 * 1000, `expires in ${lifetime} ms`);
  });

  test("the downloaded bytes hash to the digest", async () => {
    const link = (await callApi(t, "GET", `${CAP}/pkg/latest/bundle`, t.adminKey)).json();
    const url = new URL(link.download_url);
    const res = await t.app.inject({ method: "GET", url: url.pathname + url.search });
    assert.equal(res.statusCode, 200);
    assert.equal(`sha256:${createHash("sha256").update(res.rawPayload).digest("hex")}`, link.digest);
  });

  test("lets a runtime token read a bound version's bundle and files, and nothing else", async () => {
    const token = await insertAdminKey(t.deps, { name: "runtime token", runtimeId: t.runtimeId });
    expectError(await callApi(t, "GET", `${CAP}/pkg/1.0.0/bundle`, token), 403, "forbidden_error");
    await bindToDefaultRuntime(t, artifact.id);
    assert.equal((await callApi(t, "GET", `${CAP}/pkg/1.0.0/bundle`, token)).statusCode, 200);
    const file = await callApi(t, "GET", `${CAP}/pkg/1.0.0/files/capability.yaml`, token);
    assert.equal(file.statusCode, 200, file.body);
    expectError(await callApi(t, "GET", `${CAP}/pkg/1.1.0/bundle`, token), 403, "forbidden_error");
    expectError(
      await callApi(t, "GET", `${CAP}/pkg/1.1.0/files/capability.yaml`, token),
      403,
      "forbidden_error",
    );
    expectError(await callApi(t, "GET", `${CAP}/nope/1.0.0/bundle`, token), 403, "forbidden_error");
    expectError(await callApi(t, "GET", `${CAP}/pkg/1.0.0`, token), 403, "forbidden_error");
    expectError(await callApi(t, "GET", CAP, token), 403, "forbidden_error");
  });

  test("lets a runtime token read a bound public capability of another org under the owner's path", async () => {
    await newOrg(t, "acme");
    const shared = await publishOk(t, { name: "shared" }, { org: "acme", query: "public=true" });
    const token = await insertAdminKey(t.deps, { name: "runtime token", runtimeId: t.runtimeId });
    const ownerPath = "/api/v1/org/acme/capabilities/shared/1.0.0";
    expectError(await callApi(t, "GET", `${ownerPath}/bundle`, token), 403, "forbidden_error");
    await bindToDefaultRuntime(t, shared.id);
    assert.equal((await callApi(t, "GET", `${ownerPath}/bundle`, token)).statusCode, 200);
    assert.equal((await callApi(t, "GET", `${ownerPath}/files/capability.yaml`, token)).statusCode, 200);
    assert.equal((await callApi(t, "GET", `${CAP}/acme%2Fshared/1.0.0/bundle`, token)).statusCode, 200);
  });

  test("lets a reader get a link", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    assert.equal((await callApi(t, "GET", `${CAP}/pkg/1.0.0/bundle`, reader.key)).statusCode, 200);
  });

  test("answers 401 without a valid key, 404 to a non-member and for an unknown version", async () => {
    await expectUnauthenticated(t, "GET", `${CAP}/pkg/1.0.0/bundle`);
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", `${CAP}/pkg/1.0.0/bundle`, stranger.key), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${CAP}/pkg/7.0.0/bundle`, t.adminKey), 404, "not_found_error");
  });

  test("a yanked version still has a bundle (existing bindings keep working)", async () => {
    await publishOk(t, { name: "yanked-pkg" });
    await callApi(t, "PATCH", `${CAP}/yanked-pkg/1.0.0`, t.adminKey, { status: "yanked" });
    assert.equal((await callApi(t, "GET", `${CAP}/yanked-pkg/1.0.0/bundle`, t.adminKey)).statusCode, 200);
  });

  test("the bundle is the archive exactly as uploaded", async () => {
    const bundle = capabilityBundle({ name: "exact" });
    await t.app.inject({
      method: "POST",
      url: CAP,
      headers: { authorization: `Bearer ${t.adminKey}`, "content-type": "application/gzip" },
      payload: bundle,
    });
    const link = (await callApi(t, "GET", `${CAP}/exact/1.0.0/bundle`, t.adminKey)).json();
    const url = new URL(link.download_url);
    const res = await t.app.inject({ method: "GET", url: url.pathname + url.search });
    assert.deepEqual(res.rawPayload, bundle);
  });
});
