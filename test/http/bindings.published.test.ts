// Bindings to versions published through the registry's own routes: the caches must follow every
// registry change (publish, yank, visibility, forced delete), and the resolved set must point at
// bytes a runtime can really fetch.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { callApi } from "../helpers/api.js";
import { bind, listBindings, mintRuntimeToken, newRuntime, readResolved } from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newOrg } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const FLAGS = 'flags:\n  readonly:\n    description: "Hide mutating tools"\n    default: true';

describe("bindings to published versions", () => {
  let t: TestApp;

  before(async () => {
    t = await buildTestApp();
    await newOrg(t, "acme");
    await publishOk(t, { name: "demo", version: "1.0.0", manifestExtra: FLAGS });
  });
  after(() => t.close());

  test("flips upgrade_available on the next read after a newer version is published", async () => {
    const runtimeId = await newRuntime(t, "publish");
    await bind(t, runtimeId, { name: "demo", version: "1.0.0" });
    assert.equal((await listBindings(t, runtimeId))[0].upgrade_available, false);
    await publishOk(t, { name: "demo", version: "1.1.0", manifestExtra: FLAGS });
    const [item] = await listBindings(t, runtimeId);
    assert.equal(item.latest_version, "1.1.0");
    assert.equal(item.upgrade_available, true);
  });

  test("shows a yank of the bound version on the next read, and keeps it resolved", async () => {
    await publishOk(t, { name: "yankable", version: "1.0.0" });
    await publishOk(t, { name: "yankable", version: "1.1.0" });
    const runtimeId = await newRuntime(t, "yank");
    await bind(t, runtimeId, { name: "yankable" });
    await listBindings(t, runtimeId);
    const res = await callApi(t, "PATCH", "/api/v1/org/default/capabilities/yankable/1.1.0", t.adminKey, {
      status: "yanked",
    });
    assert.equal(res.statusCode, 200, res.body);
    const [item] = await listBindings(t, runtimeId);
    assert.equal(item.status, "yanked");
    assert.equal(item.latest_version, "1.0.0");
    assert.equal((await readResolved(t, runtimeId)).capabilities[0].version, "1.1.0");
  });

  test("nulls latest_version once another org's public capability goes private", async () => {
    await publishOk(t, { name: "scanner", version: "1.0.0" }, { org: "acme", query: "public=true" });
    const runtimeId = await newRuntime(t, "visibility");
    assert.equal((await bind(t, runtimeId, { name: "acme/scanner" })).latest_version, "1.0.0");
    const res = await callApi(t, "PATCH", "/api/v1/org/acme/capabilities/scanner/visibility", t.adminKey, {
      is_public: false,
    });
    assert.equal(res.statusCode, 200, res.body);
    const [item] = await listBindings(t, runtimeId);
    assert.equal(item.capability_name, "acme/scanner");
    assert.equal(item.source, "public");
    assert.equal(item.latest_version, null);
  });

  test("drops the binding from list and resolved set when its version is force-deleted", async () => {
    await publishOk(t, { name: "doomed", version: "1.0.0" });
    const runtimeId = await newRuntime(t, "force-delete");
    await bind(t, runtimeId, { name: "doomed" });
    await listBindings(t, runtimeId);
    await readResolved(t, runtimeId);
    const res = await callApi(
      t,
      "DELETE",
      "/api/v1/org/default/capabilities/doomed/1.0.0?force=true",
      t.adminKey,
    );
    assert.equal(res.statusCode, 204, res.body);
    assert.deepEqual(await listBindings(t, runtimeId), []);
    assert.deepEqual((await readResolved(t, runtimeId)).capabilities, []);
  });

  test("resolves to a signed URL that downloads the published bundle without a key", async () => {
    const runtimeId = await newRuntime(t, "download");
    await bind(t, runtimeId, { name: "demo", version: "1.0.0" });
    const [item] = (await readResolved(t, runtimeId)).capabilities;
    assert.deepEqual(item.effective_flags, { readonly: true });
    const url = new URL(item.download_url);
    const res = await t.app.inject({ method: "GET", url: `${url.pathname}${url.search}` });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(`sha256:${createHash("sha256").update(res.rawPayload).digest("hex")}`, item.artifact_digest);
  });

  test("lets the runtime's token fetch the bound version's files under artifact_s3_prefix", async () => {
    const runtimeId = await newRuntime(t, "files");
    await bind(t, runtimeId, { name: "demo", version: "1.0.0" });
    const token = await mintRuntimeToken(t, runtimeId);
    const [item] = (await readResolved(t, runtimeId, token)).capabilities;
    assert.equal(item.artifact_s3_prefix, "/api/v1/org/default/capabilities/demo/1.0.0/files/");
    const res = await t.app.inject({
      method: "GET",
      url: `${item.artifact_s3_prefix}capability.yaml`,
      headers: bearer(token),
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.body, /name: demo/);
  });
});
