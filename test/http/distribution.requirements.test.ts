// Auto-update and PATCH against requirements (SPEC §13): a tracking binding does not follow a target
// that would break a requirement on its runtime — its own (something the target requires is not
// bound, enabled and in range) or a dependant's (another enabled binding requires it in a range the
// target leaves). The skip is audited and the publish or tag move still succeeds. A PATCH or a
// runtime apply that moves a dependency out of a dependant's range is 409 naming the dependant.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError } from "../helpers/api.js";
import { bind, bindingUrl, listBindings, newRuntime, runtimeUrl } from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";

const requires = (map: Record<string, string>) =>
  `requires:\n${Object.entries(map)
    .map(([name, range]) => `  ${JSON.stringify(name)}: ${JSON.stringify(range)}`)
    .join("\n")}`;

type Tracked = { id: string; capability_name: string; version: string; upgrade_available: boolean };

describe("auto-update and requirements", () => {
  let t: TestApp;

  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  const versions = async (runtimeId: string) =>
    Object.fromEntries((await listBindings(t, runtimeId)).map((b) => [b.capability_name, b.version]));
  const bindingOf = async (runtimeId: string, name: string) => {
    const item = (await listBindings(t, runtimeId)).find((b) => b.capability_name === name);
    assert.ok(item, `${name} is bound`);
    return item as unknown as Tracked;
  };
  const skips = async (bindingId: string) => {
    const rows = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "runtime.capability.auto_update_skipped")
      .where("target_id", "=", bindingId)
      .orderBy("at")
      .execute();
    return rows.map((row) => ({ actor: row.actor_user_id, ...JSON.parse(row.data) }));
  };

  test("a dependency tracking latest does not leave its dependant's range; it moves once it can", async () => {
    await publishOk(t, { name: "lib-a", version: "1.0.0" });
    await publishOk(t, { name: "app-a", version: "1.0.0", manifestExtra: requires({ "lib-a": "^1" }) });
    const runtimeId = await newRuntime(t, "req-latest");
    const lib = await bind(t, runtimeId, { name: "lib-a", auto_update: true });
    await bind(t, runtimeId, { name: "app-a", version: "1.0.0" });
    // An unrelated runtime with the library alone follows it as before.
    const alone = await newRuntime(t, "req-alone");
    await bind(t, alone, { name: "lib-a", auto_update: true });

    await publishOk(t, { name: "lib-a", version: "2.0.0" });
    assert.deepEqual(await versions(runtimeId), { "app-a": "1.0.0", "lib-a": "1.0.0" });
    assert.equal((await bindingOf(runtimeId, "lib-a")).upgrade_available, true);
    assert.deepEqual(await versions(alone), { "lib-a": "2.0.0" });
    const [skip] = await skips(lib.id);
    assert.equal(skip.actor, null);
    assert.equal(skip.reason, "requirements");
    assert.equal(skip.version, "1.0.0");
    assert.equal(skip.target_version, "2.0.0");
    assert.deepEqual(skip.unmet, []);
    assert.equal(skip.dependants.length, 1);
    assert.match(skip.dependants[0], /app-a@1\.0\.0 requires 'lib-a' \^1/);
    assert.equal(skip.cause.action, "capability.version.published");

    // 1.5.0 is in range but not latest (2.0.0 is): nothing to follow yet.
    await publishOk(t, { name: "lib-a", version: "1.5.0" });
    assert.equal((await versions(runtimeId))["lib-a"], "1.0.0");
    // Yanking 2.0.0 makes 1.5.0 latest: the binding follows it.
    const yank = await callApi(t, "PATCH", `${CAP}/lib-a/2.0.0`, t.adminKey, { status: "yanked" });
    assert.equal(yank.statusCode, 200, yank.body);
    assert.deepEqual(await versions(runtimeId), { "app-a": "1.0.0", "lib-a": "1.5.0" });
  });

  test("a dependency tracking a tag: publish 2.0.0 on the tag → stays; 1.5.0 on the tag → moves", async () => {
    await publishOk(t, { name: "lib-b", version: "1.0.0" });
    await publishOk(t, { name: "app-b", version: "1.0.0", manifestExtra: requires({ "lib-b": "^1" }) });
    const tag = (version: string) => callApi(t, "PUT", `${CAP}/lib-b/tags/stable`, t.adminKey, { version });
    assert.equal((await tag("1.0.0")).statusCode, 200);
    const runtimeId = await newRuntime(t, "req-tag");
    await bind(t, runtimeId, { name: "lib-b", version: "stable", auto_update: true });
    await bind(t, runtimeId, { name: "app-b", version: "1.0.0" });

    await publishOk(t, { name: "lib-b", version: "2.0.0" });
    const moved = await tag("2.0.0");
    assert.equal(moved.statusCode, 200, moved.body);
    assert.equal((await versions(runtimeId))["lib-b"], "1.0.0");

    await publishOk(t, { name: "lib-b", version: "1.5.0" });
    assert.equal((await tag("1.5.0")).statusCode, 200);
    assert.equal((await versions(runtimeId))["lib-b"], "1.5.0");
  });

  test("a target requiring what the runtime lacks is not followed until the runtime has it", async () => {
    await publishOk(t, { name: "base-c", version: "1.0.0" });
    await publishOk(t, { name: "tool-c", version: "1.0.0" });
    const runtimeId = await newRuntime(t, "req-unmet");
    const tool = await bind(t, runtimeId, { name: "tool-c", auto_update: true });

    await publishOk(t, { name: "tool-c", version: "1.1.0", manifestExtra: requires({ "base-c": "^1" }) });
    assert.deepEqual(await versions(runtimeId), { "tool-c": "1.0.0" });
    const [skip] = await skips(tool.id);
    assert.equal(skip.target_version, "1.1.0");
    assert.match(skip.unmet[0], /tool-c@1\.1\.0 requires 'base-c' \^1, which is not bound and enabled/);

    // A disabled requirement does not count either.
    const base = await bind(t, runtimeId, { name: "base-c", enabled: false });
    await publishOk(t, { name: "tool-c", version: "1.2.0", manifestExtra: requires({ "base-c": "^1" }) });
    assert.equal((await versions(runtimeId))["tool-c"], "1.0.0");

    const on = await callApi(t, "PATCH", bindingUrl(runtimeId, base.id), t.adminKey, { enabled: true });
    assert.equal(on.statusCode, 200, on.body);
    await publishOk(t, { name: "tool-c", version: "1.3.0", manifestExtra: requires({ "base-c": "^1" }) });
    assert.deepEqual(await versions(runtimeId), { "base-c": "1.0.0", "tool-c": "1.3.0" });
    assert.equal((await skips(tool.id)).length, 2);
  });

  test("PATCHing a dependency out of a dependant's range is 409 naming the dependant", async () => {
    await publishOk(t, { name: "lib-d", version: "1.0.0" });
    await publishOk(t, { name: "lib-d", version: "2.0.0" });
    await publishOk(t, { name: "app-d", version: "1.0.0", manifestExtra: requires({ "lib-d": "^1" }) });
    const runtimeId = await newRuntime(t, "req-patch");
    const lib = await bind(t, runtimeId, { name: "lib-d", version: "1.0.0" });
    await bind(t, runtimeId, { name: "app-d", version: "1.0.0" });

    for (const version of ["2.0.0", "latest"]) {
      const res = await callApi(t, "PATCH", bindingUrl(runtimeId, lib.id), t.adminKey, { version });
      expectError(res, 409, "conflict_error");
      assert.match(res.json().detail, /app-d@1\.0\.0 requires 'lib-d' \^1/);
      assert.equal(res.json().errors[0].type, "binding.dependency_conflict");
      assert.deepEqual(res.json().errors[0].loc, ["body", "version"]);
    }
    assert.equal((await versions(runtimeId))["lib-d"], "1.0.0");

    // With the dependant disabled, the dependency may move.
    const app = await bindingOf(runtimeId, "app-d");
    const off = await callApi(t, "PATCH", bindingUrl(runtimeId, app.id), t.adminKey, { enabled: false });
    assert.equal(off.statusCode, 200, off.body);
    const res = await callApi(t, "PATCH", bindingUrl(runtimeId, lib.id), t.adminKey, { version: "2.0.0" });
    assert.equal(res.statusCode, 200, res.body);
  });

  test("a runtime apply that moves a dependency out of range is 409; moving both together is fine", async () => {
    await publishOk(t, { name: "lib-e", version: "1.0.0" });
    await publishOk(t, { name: "lib-e", version: "2.0.0" });
    await publishOk(t, { name: "app-e", version: "1.0.0", manifestExtra: requires({ "lib-e": "^1" }) });
    await publishOk(t, { name: "app-e", version: "2.0.0", manifestExtra: requires({ "lib-e": "^2" }) });
    const runtimeId = await newRuntime(t, "req-apply");
    const put = (capabilities: unknown[]) =>
      callApi(t, "PUT", `${runtimeUrl(runtimeId)}/config`, t.adminKey, {
        config: { version: "v2", capabilities },
      });
    const first = await put([
      { name: "lib-e", version: "1.0.0" },
      { name: "app-e", version: "1.0.0" },
    ]);
    assert.equal(first.statusCode, 200, first.body);

    const moved = await put([{ name: "lib-e", version: "2.0.0" }, { name: "app-e" }]);
    expectError(moved, 409, "conflict_error");
    assert.match(moved.json().detail, /app-e@1\.0\.0 requires 'lib-e' \^1/);
    assert.equal(moved.json().errors[0].type, "binding.dependency_conflict");
    const disabled = await put([{ name: "lib-e", enabled: false }, { name: "app-e" }]);
    expectError(disabled, 409, "conflict_error");
    assert.deepEqual(await versions(runtimeId), { "app-e": "1.0.0", "lib-e": "1.0.0" });

    // The dependant moving with it is a new requirement, checked like an install (and met here).
    const both = await put([
      { name: "lib-e", version: "2.0.0" },
      { name: "app-e", version: "2.0.0" },
    ]);
    assert.equal(both.statusCode, 200, both.body);
    assert.deepEqual(await versions(runtimeId), { "app-e": "2.0.0", "lib-e": "2.0.0" });
    // A new requirement that is not met stays a 422, as for an install.
    const unmet = await put([
      { name: "lib-e", version: "2.0.0" },
      { name: "app-e", version: "1.0.0" },
    ]);
    expectError(unmet, 422, "validation_error");
  });
});
