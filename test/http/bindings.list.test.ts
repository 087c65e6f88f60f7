import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type SeededCapability,
  seedCapability,
  seedVersion,
  setVersionStatus,
  setVisibility,
} from "../../scripts/seed.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { bind, bindingsUrl, listBindings, mintRuntimeToken, newRuntime } from "../helpers/bindings.js";
import { newOrg, newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

describe("GET RT/capabilities", () => {
  let t: TestApp;
  let alpha: SeededCapability;
  let scanner: SeededCapability;
  let runtimeId: string;

  before(async () => {
    t = await buildTestApp();
    await newOrg(t, "acme");
    alpha = await seedCapability(t.deps, {
      name: "alpha",
      versions: ["1.0.0", { version: "1.1.0", flags: { readonly: { default: true }, verbose: {} } }],
    });
    await seedCapability(t.deps, {
      name: "beta",
      versions: [{ version: "2.0.0", components: [{ type: "skill", name: "triage" }] }],
    });
    scanner = await seedCapability(t.deps, {
      org: "acme",
      name: "scanner",
      public: true,
      versions: ["0.9.0", "1.0.0"],
    });
    runtimeId = await newRuntime(t, "listing");
    await bind(t, runtimeId, { name: "beta" });
    await bind(t, runtimeId, { name: "alpha", version: "1.0.0", enabled: false });
    await bind(t, runtimeId, { name: "acme/scanner", version: "0.9.0" });
  });
  after(() => t.close());

  test("lists every binding sorted by capability name with every field of §7.1", async () => {
    const items = await listBindings(t, runtimeId);
    assert.deepEqual(
      items.map((item) => item.capability_name),
      ["acme/scanner", "alpha", "beta"],
    );
    const alphaItem = items[1];
    assert.deepEqual(Object.keys(alphaItem).sort(), [
      "artifact_id",
      "auto_update",
      "capability_name",
      "component_counts",
      "created_at",
      "description",
      "enabled",
      "flags",
      "id",
      "latest_version",
      "missing_secrets",
      "revision",
      "secrets",
      "source",
      "status",
      "track",
      "updated_at",
      "upgrade_available",
      "version",
    ]);
    assert.equal(alphaItem.artifact_id, alpha.versionIds.get("1.0.0"));
    assert.equal(alphaItem.version, "1.0.0");
    assert.equal(alphaItem.latest_version, "1.1.0");
    assert.equal(alphaItem.upgrade_available, true);
    assert.equal(alphaItem.enabled, false);
    assert.deepEqual(alphaItem.flags, {});
    assert.equal(alphaItem.source, "org");
    assert.equal(alphaItem.status, "active");
    assert.equal(alphaItem.revision, 1);
    assert.equal(alphaItem.description, "alpha 1.0.0: a capability for tests");
    assert.deepEqual(alphaItem.component_counts, {
      agents: 1,
      tools: 1,
      skills: 0,
      mcp_servers: 0,
      workers: 0,
    });
    assert.match(alphaItem.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test("shows the bound version's component counts and no upgrade when bound to latest", async () => {
    const beta = (await listBindings(t, runtimeId)).find((item) => item.capability_name === "beta");
    assert.deepEqual(beta?.component_counts, { agents: 0, tools: 0, skills: 1, mcp_servers: 0, workers: 0 });
    assert.equal(beta?.upgrade_available, false);
    assert.equal(beta?.latest_version, "2.0.0");
  });

  test("names another org's public capability owner/name with source public", async () => {
    const item = (await listBindings(t, runtimeId))[0];
    assert.equal(item.capability_name, "acme/scanner");
    assert.equal(item.source, "public");
    assert.equal(item.latest_version, "1.0.0");
    assert.equal(item.upgrade_available, true);
  });

  test("flips upgrade_available on the next read after a new version is published", async () => {
    const gamma = await seedCapability(t.deps, { name: "gamma", versions: ["1.0.0"] });
    const runtime = await newRuntime(t, "upgrades");
    await bind(t, runtime, { name: "gamma" });
    assert.equal((await listBindings(t, runtime))[0].upgrade_available, false);
    await seedVersion(t.deps, gamma, "1.1.0");
    const [item] = await listBindings(t, runtime);
    assert.equal(item.latest_version, "1.1.0");
    assert.equal(item.upgrade_available, true);
  });

  test("keeps listing a yanked bound version with status yanked", async () => {
    const delta = await seedCapability(t.deps, { name: "delta", versions: ["1.0.0", "1.1.0"] });
    const runtime = await newRuntime(t, "yanked");
    await bind(t, runtime, { name: "delta", version: "1.1.0" });
    await listBindings(t, runtime);
    await setVersionStatus(t.deps, delta, "1.1.0", "yanked");
    const [item] = await listBindings(t, runtime);
    assert.equal(item.status, "yanked");
    assert.equal(item.version, "1.1.0");
    assert.equal(item.latest_version, "1.0.0");
    assert.equal(item.upgrade_available, false);
  });

  test("keeps a binding whose public capability went private, with latest_version null", async () => {
    const runtime = await newRuntime(t, "went-private");
    await bind(t, runtime, { name: "acme/scanner", version: "0.9.0" });
    await listBindings(t, runtime);
    await setVisibility(t.deps, scanner, false);
    try {
      const [item] = await listBindings(t, runtime);
      assert.equal(item.capability_name, "acme/scanner");
      assert.equal(item.latest_version, null);
      assert.equal(item.upgrade_available, false);
      assert.equal(item.version, "0.9.0");
    } finally {
      await setVisibility(t.deps, scanner, true);
    }
  });

  test("accepts the runtime id in upper case", async () => {
    const res = await callApi(t, "GET", bindingsUrl(runtimeId.toUpperCase()), t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().items.length, 3);
  });

  test("answers an empty list for a runtime without bindings", async () => {
    const runtime = await newRuntime(t, "empty");
    assert.deepEqual(await listBindings(t, runtime), []);
  });

  test("lets a reader and a read-only key read", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    assert.equal((await listBindings(t, runtimeId, reader.key)).length, 3);
    assert.equal((await listBindings(t, runtimeId, readOnly.key)).length, 3);
  });

  test("lets the runtime's own token read it", async () => {
    const token = await mintRuntimeToken(t, runtimeId);
    assert.equal((await listBindings(t, runtimeId, token)).length, 3);
  });

  test("rejects a runtime token of another runtime with 403", async () => {
    const token = await mintRuntimeToken(t, t.runtimeId);
    expectError(await callApi(t, "GET", bindingsUrl(runtimeId), token), 403, "forbidden_error");
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "GET", bindingsUrl(runtimeId));
  });

  test("answers 404 to a caller outside the org", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", bindingsUrl(runtimeId), stranger.key), 404, "not_found_error");
  });

  test("answers 404 for the runtime under another org or workspace", async () => {
    expectError(await callApi(t, "GET", bindingsUrl(runtimeId, "acme"), t.adminKey), 404, "not_found_error");
    await newWorkspace(t, "default", "elsewhere");
    expectError(
      await callApi(t, "GET", bindingsUrl(runtimeId, "default", "elsewhere"), t.adminKey),
      404,
      "not_found_error",
    );
  });

  test("answers 404 for an unknown runtime", async () => {
    const missing = "2489E9AD-2EE2-8E00-8EC9-32D5F69181C0";
    expectError(await callApi(t, "GET", bindingsUrl(missing), t.adminKey), 404, "not_found_error");
  });

  test("rejects a runtime id that is not a UUID with 422 at path.runtime_id", async () => {
    expectError(await callApi(t, "GET", bindingsUrl("default"), t.adminKey), 422, "validation_error", [
      "path",
      "runtime_id",
    ]);
  });

  test("stops listing a runtime once it is deleted", async () => {
    const runtime = await newRuntime(t, "short-lived");
    await bind(t, runtime, { name: "beta" });
    await listBindings(t, runtime);
    const deleted = await callApi(t, "DELETE", `/api/v1/org/default/ws/main/runtimes/${runtime}`, t.adminKey);
    assert.equal(deleted.statusCode, 204, deleted.body);
    expectError(await callApi(t, "GET", bindingsUrl(runtime), t.adminKey), 404, "not_found_error");
  });
});
