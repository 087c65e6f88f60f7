// Requirements between capabilities (SPEC §13) on hand-built graphs: a missing requirement is 422
// unless installed with_dependencies, which binds the highest visible version in range; a bound
// version out of range is a conflict; cycles are refused; another org's public capability can be
// required; a required binding cannot be removed or disabled.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError } from "../helpers/api.js";
import { bind, bindingsUrl, bindingUrl, listBindings, newRuntime, runtimeUrl } from "../helpers/bindings.js";
import { capabilityBundle, publishBundle, publishOk } from "../helpers/capability-bundles.js";
import { newOrg } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const requires = (map: Record<string, string>) =>
  `requires:\n${Object.entries(map)
    .map(([name, range]) => `  ${JSON.stringify(name)}: ${JSON.stringify(range)}`)
    .join("\n")}`;

describe("capability requirements", () => {
  let t: TestApp;

  before(async () => {
    t = await buildTestApp();
    // A diamond: app → (left, right) → base.
    for (const version of ["1.0.0", "1.4.0", "2.0.0"]) await publishOk(t, { name: "base", version });
    await publishOk(t, { name: "base", version: "1.5.0-rc.1" });
    await publishOk(t, { name: "left", version: "1.0.0", manifestExtra: requires({ base: "^1.2.0" }) });
    await publishOk(t, {
      name: "right",
      version: "1.0.0",
      manifestExtra: requires({ base: ">=1.0.0 <1.5.0" }),
    });
    await publishOk(t, {
      name: "app",
      version: "1.0.0",
      manifestExtra: requires({ left: "^1", right: "^1" }),
    });
    await publishOk(t, {
      name: "app",
      version: "1.1.0",
      manifestExtra: requires({ left: "^1", base: "~1.4" }),
    });
    // A cycle: ping → pong → ping.
    await publishOk(t, { name: "ping", version: "1.0.0", manifestExtra: requires({ pong: "^1" }) });
    await publishOk(t, { name: "pong", version: "1.0.0", manifestExtra: requires({ ping: "^1" }) });
    // Another org's public library, and a private one.
    await newOrg(t, "vendor");
    await publishOk(t, { name: "lib", version: "3.1.0" }, { org: "vendor", query: "public=true" });
    await publishOk(t, { name: "secret-lib", version: "1.0.0" }, { org: "vendor" });
    await publishOk(t, {
      name: "uses-lib",
      version: "1.0.0",
      manifestExtra: requires({ "vendor/lib": "^3" }),
    });
    await publishOk(t, {
      name: "uses-secret",
      version: "1.0.0",
      manifestExtra: requires({ "vendor/secret-lib": "^1" }),
    });
  });
  after(() => t.close());

  const install = (runtimeId: string, payload: Record<string, unknown>) =>
    callApi(t, "POST", bindingsUrl(runtimeId), t.adminKey, payload);
  const versions = async (runtimeId: string) =>
    Object.fromEntries((await listBindings(t, runtimeId)).map((b) => [b.capability_name, b.version]));

  test("refuses a missing requirement with binding.missing_dependency and binds nothing", async () => {
    const runtimeId = await newRuntime(t, "missing");
    const res = await install(runtimeId, { name: "app", version: "1.0.0" });
    expectError(res, 422, "validation_error");
    const types = res.json().errors.map((e: { type: string }) => e.type);
    assert.deepEqual(types, ["binding.missing_dependency", "binding.missing_dependency"]);
    assert.deepEqual(await versions(runtimeId), {});
  });

  test("with_dependencies binds a diamond once, at the highest version every range allows", async () => {
    const runtimeId = await newRuntime(t, "diamond");
    const res = await install(runtimeId, { name: "app", version: "1.0.0", with_dependencies: true });
    assert.equal(res.statusCode, 201, res.body);
    // left wants ^1.2.0 (→ 1.4.0; 1.5.0-rc.1 is a prerelease, 2.0.0 out of range); right then accepts it.
    assert.deepEqual(await versions(runtimeId), {
      app: "1.0.0",
      base: "1.4.0",
      left: "1.0.0",
      right: "1.0.0",
    });
  });

  test("a bound requirement outside the range is binding.dependency_conflict", async () => {
    const runtimeId = await newRuntime(t, "conflict");
    await bind(t, runtimeId, { name: "base", version: "2.0.0" });
    const res = await install(runtimeId, { name: "left", with_dependencies: true });
    expectError(res, 422, "validation_error");
    assert.equal(res.json().errors[0].type, "binding.dependency_conflict");
    assert.match(res.json().errors[0].msg, /2\.0\.0 is bound/);
    assert.deepEqual(await versions(runtimeId), { base: "2.0.0" });
  });

  test("a requirement cycle is binding.dependency_cycle", async () => {
    const runtimeId = await newRuntime(t, "cycle");
    const res = await install(runtimeId, { name: "ping", with_dependencies: true });
    expectError(res, 422, "validation_error");
    assert.deepEqual(
      res.json().errors.map((e: { type: string }) => e.type),
      ["binding.dependency_cycle"],
    );
    assert.deepEqual(await versions(runtimeId), {});
  });

  test("requires another org's public capability, never its private one", async () => {
    const runtimeId = await newRuntime(t, "cross-org");
    const res = await install(runtimeId, { name: "uses-lib", with_dependencies: true });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(await versions(runtimeId), { "uses-lib": "1.0.0", "vendor/lib": "3.1.0" });
    const secret = await install(runtimeId, { name: "uses-secret", with_dependencies: true });
    expectError(secret, 422, "validation_error");
    assert.equal(secret.json().errors[0].type, "binding.missing_dependency");
  });

  test("a required binding cannot be removed or disabled (409 naming the dependant)", async () => {
    const runtimeId = await newRuntime(t, "required");
    assert.equal((await install(runtimeId, { name: "left", with_dependencies: true })).statusCode, 201);
    const base = (await listBindings(t, runtimeId)).find((b) => b.capability_name === "base");
    assert.ok(base);
    const removal = await callApi(t, "DELETE", bindingUrl(runtimeId, base.id), t.adminKey);
    expectError(removal, 409, "conflict_error");
    assert.match(removal.json().detail, /left@1\.0\.0/);
    const disable = await callApi(t, "PATCH", bindingUrl(runtimeId, base.id), t.adminKey, { enabled: false });
    expectError(disable, 409, "conflict_error");
    // Once the dependant is disabled, the requirement may go.
    const left = (await listBindings(t, runtimeId)).find((b) => b.capability_name === "left");
    assert.ok(left);
    const off = await callApi(t, "PATCH", bindingUrl(runtimeId, left.id), t.adminKey, { enabled: false });
    assert.equal(off.statusCode, 200, off.body);
    assert.equal((await callApi(t, "DELETE", bindingUrl(runtimeId, base.id), t.adminKey)).statusCode, 204);
    // And enabling the dependant again needs it back.
    const on = await callApi(t, "PATCH", bindingUrl(runtimeId, left.id), t.adminKey, { enabled: true });
    expectError(on, 422, "validation_error");
  });

  test("the upgrade preview lists requirement changes", async () => {
    const runtimeId = await newRuntime(t, "preview");
    const item = await bind(t, runtimeId, { name: "app", version: "1.0.0", with_dependencies: true });
    const res = await callApi(
      t,
      "GET",
      `${bindingUrl(runtimeId, item.id)}/upgrade-preview?version=1.1.0`,
      t.adminKey,
    );
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().requires, { added: ["base"], removed: ["right"], changed: [] });
  });

  test("runtime apply plans show requirements and refuse an unmet one", async () => {
    const runtimeId = await newRuntime(t, "apply");
    const put = (capabilities: unknown[], query = "") =>
      callApi(t, "PUT", `${runtimeUrl(runtimeId)}/config${query}`, t.adminKey, {
        config: { version: "v2", capabilities },
      });
    const dry = await put([{ name: "left" }], "?dry_run=true");
    assert.equal(dry.statusCode, 200, dry.body);
    assert.deepEqual(dry.json().install[0].requires, { base: "^1.2.0" });
    expectError(await put([{ name: "left" }]), 422, "validation_error");
    assert.deepEqual(await versions(runtimeId), {});
    const ok = await put([{ name: "left" }, { name: "base", version: "1.4.0" }]);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(await versions(runtimeId), { base: "1.4.0", left: "1.0.0" });
  });

  test("refuses a malformed requires map at publish", async () => {
    const res = await publishBundle(
      t,
      capabilityBundle({
        name: "bad-req",
        manifestExtra: requires({ "Not A Name": "^1", ok: "not a range" }),
      }),
    );
    expectError(res, 422, "validation_error");
    assert.deepEqual(
      res.json().errors.map((e: { type: string }) => e.type),
      ["manifest.requires", "manifest.requires"],
    );
  });
});
