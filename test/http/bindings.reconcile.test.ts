// Reconciliation (SPEC §6) as a client reaches it: PUT RT/config and POST WS/runtimes with
// config.capabilities. The runtime routes own the request shapes; these tests check what happens
// to the bindings.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type SeededCapability, seedCapability, setVisibility } from "../../scripts/seed.js";
import { callApi, expectError } from "../helpers/api.js";
import { bind, listBindings, newRuntime, patchBinding, runtimeUrl } from "../helpers/bindings.js";
import { newOrg } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

describe("reconciling a runtime's bindings to config.capabilities", () => {
  let t: TestApp;
  let scanner: SeededCapability;

  before(async () => {
    t = await buildTestApp();
    await newOrg(t, "acme");
    await seedCapability(t.deps, {
      name: "alpha",
      versions: [
        { version: "1.0.0", flags: { verbose: {} } },
        { version: "1.1.0", flags: { verbose: {} } },
        { version: "2.0.0" },
        { version: "2.1.0", status: "yanked" },
      ],
    });
    await seedCapability(t.deps, { name: "beta", versions: ["1.0.0"] });
    await seedCapability(t.deps, { name: "gamma", versions: ["0.1.0"] });
    scanner = await seedCapability(t.deps, {
      org: "acme",
      name: "scanner",
      public: true,
      versions: ["1.0.0"],
    });
  });
  after(() => t.close());

  const putConfig = (runtimeId: string, capabilities: unknown[], query = "") =>
    callApi(t, "PUT", `${runtimeUrl(runtimeId)}/config${query}`, t.adminKey, {
      config: { version: "v2", capabilities },
    });

  const summary = async (runtimeId: string) =>
    (await listBindings(t, runtimeId)).map(
      (b) => `${b.capability_name}@${b.version}${b.enabled ? "" : " (disabled)"}`,
    );

  test("installs, re-points, disables and removes to match the list, and returns the plan", async () => {
    const runtimeId = await newRuntime(t, "apply");
    await bind(t, runtimeId, { name: "alpha", version: "1.0.0" });
    await bind(t, runtimeId, { name: "beta" });
    await bind(t, runtimeId, { name: "gamma" });
    const res = await putConfig(runtimeId, [
      { name: "alpha", version: "1.1.0" },
      { name: "gamma", enabled: false },
      { name: "acme/scanner" },
    ]);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().plan, {
      install: [
        { name: "acme/scanner", version: "1.0.0", enabled: true, track: "latest", auto_update: false },
      ],
      update: [
        { name: "alpha", from: "1.0.0", to: "1.1.0", enabled: true, track: null, auto_update: false },
        { name: "gamma", from: "0.1.0", to: "0.1.0", enabled: false, track: "latest", auto_update: false },
      ],
      remove: [{ name: "beta", version: "1.0.0" }],
    });
    assert.deepEqual(await summary(runtimeId), [
      "acme/scanner@1.0.0",
      "alpha@1.1.0",
      "gamma@0.1.0 (disabled)",
    ]);
  });

  test("changes nothing when the same list is applied again", async () => {
    const runtimeId = await newRuntime(t, "idempotent");
    const list = [{ name: "alpha" }, { name: "beta", version: "1.0.0" }];
    assert.equal((await putConfig(runtimeId, list)).statusCode, 200);
    const before = await listBindings(t, runtimeId);
    const again = await putConfig(runtimeId, list);
    assert.deepEqual(again.json().plan, { install: [], update: [], remove: [] });
    assert.deepEqual(await listBindings(t, runtimeId), before);
  });

  test("keeps a bound version when the entry has no version, and follows latest when asked", async () => {
    const runtimeId = await newRuntime(t, "unpinned");
    await bind(t, runtimeId, { name: "alpha", version: "1.0.0" });
    assert.deepEqual((await putConfig(runtimeId, [{ name: "alpha" }])).json().plan.update, []);
    const latest = await putConfig(runtimeId, [{ name: "alpha", version: "latest" }]);
    assert.deepEqual(latest.json().plan.update, [
      { name: "alpha", from: "1.0.0", to: "2.0.0", enabled: true, track: "latest", auto_update: false },
    ]);
  });

  test("drops overrides of flags the new version does not declare and keeps the rest", async () => {
    const runtimeId = await newRuntime(t, "overrides");
    const binding = await bind(t, runtimeId, { name: "alpha", version: "1.0.0" });
    await patchBinding(t, runtimeId, binding.id, { flags: { verbose: true } });
    await putConfig(runtimeId, [{ name: "alpha", version: "1.1.0" }]);
    assert.deepEqual((await listBindings(t, runtimeId))[0].flags, { verbose: true });
    await putConfig(runtimeId, [{ name: "alpha", version: "2.0.0" }]);
    const [item] = await listBindings(t, runtimeId);
    assert.deepEqual(item.flags, {});
    assert.equal(item.revision, 4);
  });

  test("plans without changing anything on dry_run", async () => {
    const runtimeId = await newRuntime(t, "dry-run");
    await bind(t, runtimeId, { name: "beta" });
    const res = await putConfig(runtimeId, [{ name: "alpha" }], "?dry_run=true");
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), {
      install: [{ name: "alpha", version: "2.0.0", enabled: true, track: "latest", auto_update: false }],
      update: [],
      remove: [{ name: "beta", version: "1.0.0" }],
    });
    assert.deepEqual(await summary(runtimeId), ["beta@1.0.0"]);
  });

  test("aborts the whole apply on an unknown capability (404) or a yanked version (409)", async () => {
    const runtimeId = await newRuntime(t, "aborts");
    await bind(t, runtimeId, { name: "beta" });
    expectError(await putConfig(runtimeId, [{ name: "alpha" }, { name: "nope" }]), 404, "not_found_error");
    expectError(await putConfig(runtimeId, [{ name: "alpha", version: "2.1.0" }]), 409, "conflict_error");
    expectError(await putConfig(runtimeId, [{ name: "alpha", version: "9.0.0" }]), 404, "not_found_error");
    assert.deepEqual(await summary(runtimeId), ["beta@1.0.0"]);
  });

  test("rejects a capability listed twice with 422 at its second entry", async () => {
    const runtimeId = await newRuntime(t, "duplicates");
    const res = await putConfig(runtimeId, [{ name: "alpha" }, { name: "beta" }, { name: "default/alpha" }]);
    expectError(res, 422, "validation_error", ["body", "config", "capabilities", 2, "name"]);
  });

  test("keeps a binding whose public capability went private while it stays listed as is", async () => {
    const runtimeId = await newRuntime(t, "went-private");
    await bind(t, runtimeId, { name: "acme/scanner" });
    await setVisibility(t.deps, scanner, false);
    try {
      const res = await putConfig(runtimeId, [{ name: "acme/scanner" }, { name: "beta" }]);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(await summary(runtimeId), ["acme/scanner@1.0.0", "beta@1.0.0"]);
      expectError(
        await putConfig(runtimeId, [{ name: "acme/scanner", version: "latest" }]),
        404,
        "not_found_error",
      );
    } finally {
      await setVisibility(t.deps, scanner, true);
    }
  });

  test("creates a runtime with its bindings in one go, and none when one entry fails", async () => {
    const create = (key: string, capabilities: unknown[]) =>
      callApi(t, "POST", "/api/v1/org/default/ws/main/runtimes", t.adminKey, {
        key,
        name: key,
        config: { version: "v2", capabilities },
      });
    const res = await create("with-config", [
      { name: "alpha", version: "1.0.0" },
      { name: "beta", enabled: false },
    ]);
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(await summary(res.json().id), ["alpha@1.0.0", "beta@1.0.0 (disabled)"]);
    expectError(
      await create("broken-config", [{ name: "alpha" }, { name: "missing" }]),
      404,
      "not_found_error",
    );
    const list = await callApi(t, "GET", "/api/v1/org/default/ws/main/runtimes", t.adminKey);
    assert.ok(!list.json().items.some((r: { key: string }) => r.key === "broken-config"));
  });

  test("entries track tags or latest and set auto_update, as the binding routes do", async () => {
    const runtimeId = await newRuntime(t, "tracking");
    const tag = (version: string) =>
      callApi(t, "PUT", "/api/v1/org/default/capabilities/alpha/tags/stable", t.adminKey, { version });
    assert.equal((await tag("1.1.0")).statusCode, 200);
    const tracking = async () => {
      const [item] = (await listBindings(t, runtimeId)) as unknown as {
        version: string;
        track: string | null;
        auto_update: boolean;
      }[];
      return { version: item.version, track: item.track, auto_update: item.auto_update };
    };
    const entry = { name: "alpha", version: "stable", auto_update: true };
    const dry = await putConfig(runtimeId, [entry], "?dry_run=true");
    assert.equal(dry.statusCode, 200, dry.body);
    assert.deepEqual(dry.json().install, [
      { name: "alpha", version: "1.1.0", enabled: true, track: "stable", auto_update: true },
    ]);
    assert.equal((await putConfig(runtimeId, [entry])).statusCode, 200);
    assert.deepEqual(await tracking(), { version: "1.1.0", track: "stable", auto_update: true });
    // The same file, or the entry without auto_update, changes nothing.
    assert.deepEqual((await putConfig(runtimeId, [entry])).json().plan.update, []);
    assert.deepEqual((await putConfig(runtimeId, [{ name: "alpha" }])).json().plan.update, []);
    // The binding follows its tag.
    assert.equal((await tag("2.0.0")).statusCode, 200);
    assert.deepEqual(await tracking(), { version: "2.0.0", track: "stable", auto_update: true });

    // Turning auto_update off is a planned change of its own.
    const off = [{ name: "alpha", auto_update: false }];
    assert.deepEqual((await putConfig(runtimeId, off, "?dry_run=true")).json().update, [
      { name: "alpha", from: "2.0.0", to: "2.0.0", enabled: true, track: "stable", auto_update: false },
    ]);
    assert.equal((await putConfig(runtimeId, off)).statusCode, 200);
    assert.deepEqual(await tracking(), { version: "2.0.0", track: "stable", auto_update: false });
    assert.equal((await putConfig(runtimeId, [entry])).statusCode, 200);

    // A fixed version has nothing to follow: 422 at the entry, nothing changed.
    const fixed = await putConfig(runtimeId, [{ name: "alpha", version: "1.0.0", auto_update: true }]);
    expectError(fixed, 422, "validation_error", ["body", "config", "capabilities", 0, "auto_update"]);
    assert.equal(fixed.json().errors[0].type, "binding.auto_update");
    assert.deepEqual(await tracking(), { version: "2.0.0", track: "stable", auto_update: true });
    // Pinning a version stops tracking (and auto-update) with it.
    assert.equal((await putConfig(runtimeId, [{ name: "alpha", version: "1.0.0" }])).statusCode, 200);
    assert.deepEqual(await tracking(), { version: "1.0.0", track: null, auto_update: false });
  });

  test("writes an audit event per binding it changes", async () => {
    const runtimeId = await newRuntime(t, "audit");
    await putConfig(runtimeId, [{ name: "alpha" }, { name: "beta" }]);
    await putConfig(runtimeId, [{ name: "alpha", enabled: false }]);
    const events = await t.deps.db
      .selectFrom("audit_events")
      .select("action")
      .where("action", "like", "runtime.capability.%")
      .where("data", "like", `%${runtimeId}%`)
      .orderBy("id")
      .execute();
    assert.deepEqual(
      events.map((e) => e.action),
      [
        "runtime.capability.installed",
        "runtime.capability.installed",
        "runtime.capability.updated",
        "runtime.capability.removed",
      ],
    );
  });
});
