import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { seedCapability } from "../../scripts/seed.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import {
  type Binding,
  bind,
  bindingUrl,
  listBindings,
  mintRuntimeToken,
  newRuntime,
  patchBinding,
} from "../helpers/bindings.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

describe("PATCH RT/capabilities/{binding_id}", () => {
  let t: TestApp;
  const manyFlags = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`flag-${i}`, {}]));

  before(async () => {
    t = await buildTestApp();
    await seedCapability(t.deps, {
      name: "alpha",
      versions: [
        { version: "1.0.0", flags: { readonly: { default: true } } },
        { version: "1.1.0", flags: { readonly: { default: true }, verbose: {} } },
        { version: "1.2.0", status: "yanked" },
        { version: "2.0.0", flags: { readonly: { default: false }, proxy: {} } },
      ],
    });
    await seedCapability(t.deps, { name: "many", versions: [{ version: "1.0.0", flags: manyFlags }] });
  });
  after(() => t.close());

  async function freshBinding(
    key: string,
    payload: Record<string, unknown> = { name: "alpha", version: "1.1.0" },
  ) {
    const runtimeId = await newRuntime(t, key);
    return { runtimeId, binding: await bind(t, runtimeId, payload) };
  }

  const patch = (
    runtimeId: string,
    bindingId: string,
    payload: unknown,
    headers: Record<string, string> = {},
  ) =>
    t.app.inject({
      method: "PATCH",
      url: bindingUrl(runtimeId, bindingId),
      headers: { ...bearer(t.adminKey), ...headers },
      payload: payload as object,
    });

  test("disables a binding, bumps the revision and sends it as ETag", async () => {
    const { runtimeId, binding } = await freshBinding("disable");
    const res = await patch(runtimeId, binding.id, { enabled: false });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers.etag, '"2"');
    const updated = res.json();
    assert.equal(updated.enabled, false);
    assert.equal(updated.revision, 2);
    assert.deepEqual(await listBindings(t, runtimeId), [updated]);
  });

  test("merges flag overrides: true/false set, null removes, others stay", async () => {
    const { runtimeId, binding } = await freshBinding("merge");
    assert.deepEqual((await patchBinding(t, runtimeId, binding.id, { flags: { readonly: false } })).flags, {
      readonly: false,
    });
    const both = await patchBinding(t, runtimeId, binding.id, { flags: { verbose: true } });
    assert.deepEqual(both.flags, { readonly: false, verbose: true });
    const removed = await patchBinding(t, runtimeId, binding.id, { flags: { readonly: null } });
    assert.deepEqual(removed.flags, { verbose: true });
    assert.equal(removed.revision, 4);
  });

  test("rejects an undeclared flag with 422 invalid_flag_error at body.flags.<name>", async () => {
    const { runtimeId, binding } = await freshBinding("undeclared");
    expectError(await patch(runtimeId, binding.id, { flags: { proxy: true } }), 422, "invalid_flag_error", [
      "body",
      "flags",
      "proxy",
    ]);
  });

  test("rejects a non-boolean flag value with 422 invalid_flag_error, changing nothing", async () => {
    const { runtimeId, binding } = await freshBinding("non-boolean");
    for (const value of ["true", 0, [true]]) {
      const res = await patch(runtimeId, binding.id, { flags: { verbose: true, readonly: value } });
      expectError(res, 422, "invalid_flag_error", ["body", "flags", "readonly"]);
    }
    assert.deepEqual((await listBindings(t, runtimeId))[0], binding);
  });

  test("upgrades to another version and drops the overrides it does not declare", async () => {
    const { runtimeId, binding } = await freshBinding("upgrade");
    await patchBinding(t, runtimeId, binding.id, { flags: { readonly: false, verbose: true } });
    const upgraded = await patchBinding(t, runtimeId, binding.id, { version: "2.0.0" });
    assert.equal(upgraded.version, "2.0.0");
    assert.deepEqual(upgraded.flags, { readonly: false });
    assert.equal(upgraded.upgrade_available, false);
    assert.equal(upgraded.revision, 3);
  });

  test("validates flags of the same PATCH against the target version", async () => {
    const { runtimeId, binding } = await freshBinding("version-and-flags");
    const res = await patch(runtimeId, binding.id, { version: "2.0.0", flags: { verbose: true } });
    expectError(res, 422, "invalid_flag_error", ["body", "flags", "verbose"]);
    const upgraded = await patchBinding(t, runtimeId, binding.id, {
      version: "2.0.0",
      flags: { proxy: true },
    });
    assert.deepEqual(upgraded.flags, { proxy: true });
  });

  test('re-points to "latest", downgrades and pins', async () => {
    const { runtimeId, binding } = await freshBinding("repoint", { name: "alpha", version: "1.0.0" });
    assert.equal((await patchBinding(t, runtimeId, binding.id, { version: "latest" })).version, "2.0.0");
    const pinned = await patchBinding(t, runtimeId, binding.id, { version: "1.1.0" });
    assert.equal(pinned.version, "1.1.0");
    assert.equal(pinned.upgrade_available, true);
  });

  test("rejects a yanked target version with 409 conflict_error and an unknown one with 404", async () => {
    const { runtimeId, binding } = await freshBinding("yanked-target");
    expectError(await patch(runtimeId, binding.id, { version: "1.2.0" }), 409, "conflict_error");
    expectError(await patch(runtimeId, binding.id, { version: "3.0.0" }), 404, "not_found_error");
  });

  test("keeps the revision when the PATCH changes nothing", async () => {
    const { runtimeId, binding } = await freshBinding("no-op", {
      name: "alpha",
      version: "1.1.0",
      flags: { verbose: true },
    });
    const same = await patchBinding(t, runtimeId, binding.id, {
      enabled: true,
      flags: { verbose: true },
      version: "1.1.0",
    });
    assert.equal(same.revision, 1);
    assert.deepEqual(same, binding);
  });

  test("applies a PATCH whose If-Match names the current revision, bare or quoted", async () => {
    const { runtimeId, binding } = await freshBinding("if-match");
    const bare = await patch(runtimeId, binding.id, { enabled: false }, { "if-match": "1" });
    assert.equal(bare.statusCode, 200, bare.body);
    const quoted = await patch(runtimeId, binding.id, { enabled: true }, { "if-match": '"2"' });
    assert.equal(quoted.statusCode, 200, quoted.body);
    assert.equal(quoted.json().revision, 3);
  });

  test("rejects a PATCH whose If-Match names another revision with 409 conflict_error", async () => {
    const { runtimeId, binding } = await freshBinding("if-match-stale");
    await patchBinding(t, runtimeId, binding.id, { enabled: false });
    expectError(
      await patch(runtimeId, binding.id, { enabled: true }, { "if-match": '"1"' }),
      409,
      "conflict_error",
    );
    expectError(
      await patch(runtimeId, binding.id, { enabled: true }, { "if-match": "not-a-revision" }),
      409,
      "conflict_error",
    );
    assert.equal((await listBindings(t, runtimeId))[0].enabled, false);
  });

  test("of 50 parallel conditional PATCHes, the successes form a chain of revisions and the rest get 409", async () => {
    const { runtimeId, binding } = await freshBinding("parallel-if-match");
    const attempt = async () => {
      const current: Binding = (
        await callApi(t, "GET", bindingUrl(runtimeId, binding.id), t.adminKey)
      ).json();
      const res = await patch(
        runtimeId,
        binding.id,
        { enabled: !current.enabled },
        { "if-match": `"${current.revision}"` },
      );
      return { res, before: current };
    };
    const results = await Promise.all(Array.from({ length: 50 }, attempt));
    const successes = results.filter(({ res }) => res.statusCode === 200);
    for (const { res } of results.filter(({ res }) => res.statusCode !== 200))
      expectError(res, 409, "conflict_error");
    assert.ok(successes.length >= 1);
    // Each success moved the revision it read by exactly one and flipped the state it read.
    for (const { res, before } of successes) {
      assert.equal(res.json().revision, before.revision + 1);
      assert.equal(res.json().enabled, !before.enabled);
    }
    const revisions = successes.map(({ res }) => res.json().revision).sort((a, b) => a - b);
    assert.deepEqual(
      revisions,
      Array.from({ length: successes.length }, (_, i) => i + 2),
    );
    const [final] = await listBindings(t, runtimeId);
    assert.equal(final.revision, 1 + successes.length);
    assert.equal(final.enabled, successes.length % 2 === 0);
  });

  test("loses no update when every client retries its conditional PATCH until it applies", async () => {
    const { runtimeId, binding } = await freshBinding("retry-until-applied");
    const clients = 20;
    const toggleUntilApplied = async () => {
      for (;;) {
        const current: Binding = (
          await callApi(t, "GET", bindingUrl(runtimeId, binding.id), t.adminKey)
        ).json();
        const res = await patch(
          runtimeId,
          binding.id,
          { enabled: !current.enabled },
          { "if-match": String(current.revision) },
        );
        if (res.statusCode === 200) return;
        expectError(res, 409, "conflict_error");
      }
    };
    await Promise.all(Array.from({ length: clients }, toggleUntilApplied));
    const [final] = await listBindings(t, runtimeId);
    assert.equal(final.revision, 1 + clients);
    assert.equal(final.enabled, true);
  });

  test("keeps every flag set by parallel unconditional PATCHes", async () => {
    const { runtimeId, binding } = await freshBinding("parallel-flags", { name: "many" });
    const names = Object.keys(manyFlags);
    const responses = await Promise.all(
      names.map((name) => patch(runtimeId, binding.id, { flags: { [name]: true } })),
    );
    for (const res of responses) assert.equal(res.statusCode, 200, res.body);
    const [final] = await listBindings(t, runtimeId);
    assert.deepEqual(final.flags, Object.fromEntries(names.map((name) => [name, true])));
    assert.equal(final.revision, 1 + names.length);
  });

  test("records the update in the audit log", async () => {
    const { runtimeId, binding } = await freshBinding("audited");
    await patchBinding(t, runtimeId, binding.id, { version: "2.0.0" });
    const event = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "runtime.capability.updated")
      .where("target_id", "=", binding.id)
      .executeTakeFirstOrThrow();
    const data = JSON.parse(event.data);
    assert.equal(data.from_version, "1.1.0");
    assert.equal(data.to_version, "2.0.0");
    assert.equal(data.runtime_id, runtimeId);
  });

  test("rejects an empty body and unknown fields with 422", async () => {
    const { runtimeId, binding } = await freshBinding("empty-body");
    expectError(await patch(runtimeId, binding.id, {}), 422, "validation_error");
    expectError(await patch(runtimeId, binding.id, { enable: false }), 422, "validation_error", [
      "body",
      "enable",
    ]);
    expectError(await patch(runtimeId, binding.id, { enabled: "no" }), 422, "validation_error", [
      "body",
      "enabled",
    ]);
  });

  test("accepts the binding id in upper case and rejects one that is not a UUID with 422", async () => {
    const { runtimeId, binding } = await freshBinding("ids");
    assert.equal((await patch(runtimeId, binding.id.toUpperCase(), { enabled: false })).statusCode, 200);
    expectError(await patch(runtimeId, "alpha", { enabled: true }), 422, "validation_error", [
      "path",
      "binding_id",
    ]);
  });

  test("answers 404 for an unknown binding and for another runtime's binding", async () => {
    const { runtimeId, binding } = await freshBinding("not-found");
    const other = await newRuntime(t, "not-found-other");
    expectError(
      await patch(runtimeId, "01a223ce-8c51-75ad-9f76-935ea7915143", { enabled: false }),
      404,
      "not_found_error",
    );
    expectError(await patch(other, binding.id, { enabled: false }), 404, "not_found_error");
  });

  test("forbids readers, read-only keys and runtime tokens with 403", async () => {
    const { runtimeId, binding } = await freshBinding("forbidden");
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    const token = await mintRuntimeToken(t, runtimeId);
    for (const key of [reader.key, readOnly.key, token]) {
      expectError(
        await callApi(t, "PATCH", bindingUrl(runtimeId, binding.id), key, { enabled: false }),
        403,
        "forbidden_error",
      );
    }
  });

  test("rejects a missing or unknown key with 401 and a stranger with 404", async () => {
    const { runtimeId, binding } = await freshBinding("strangers");
    await expectUnauthenticated(t, "PATCH", bindingUrl(runtimeId, binding.id), { enabled: false });
    const stranger = await newStranger(t);
    expectError(
      await callApi(t, "PATCH", bindingUrl(runtimeId, binding.id), stranger.key, { enabled: false }),
      404,
      "not_found_error",
    );
  });
});
