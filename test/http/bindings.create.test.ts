import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type SeededCapability, seedCapability } from "../../scripts/seed.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { bind, bindingsUrl, listBindings, mintRuntimeToken, newRuntime } from "../helpers/bindings.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

describe("POST RT/capabilities", () => {
  let t: TestApp;
  let alpha: SeededCapability;

  before(async () => {
    t = await buildTestApp();
    await newOrg(t, "acme");
    alpha = await seedCapability(t.deps, {
      name: "alpha",
      versions: [
        { version: "1.0.0", flags: { readonly: { default: true } } },
        { version: "1.1.0", flags: { readonly: { default: true }, verbose: {} } },
        { version: "1.2.0", status: "yanked" },
        { version: "1.3.0", status: "deleted" },
      ],
    });
    await seedCapability(t.deps, { org: "acme", name: "scanner", public: true, versions: ["1.0.0"] });
    await seedCapability(t.deps, { org: "acme", name: "secret", versions: ["1.0.0"] });
    await seedCapability(t.deps, { name: "unpublished", versions: [{ version: "1.0.0", status: "yanked" }] });
  });
  after(() => t.close());

  test("binds the latest version by default, answering 201 with the binding and its revision as ETag", async () => {
    const runtime = await newRuntime(t, "latest-default");
    const res = await callApi(t, "POST", bindingsUrl(runtime), t.adminKey, { name: "alpha" });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers.etag, '"1"');
    const binding = res.json();
    assert.equal(binding.version, "1.1.0");
    assert.equal(binding.artifact_id, alpha.versionIds.get("1.1.0"));
    assert.equal(binding.enabled, true);
    assert.deepEqual(binding.flags, {});
    assert.equal(binding.revision, 1);
    assert.equal(binding.capability_name, "alpha");
    assert.deepEqual(await listBindings(t, runtime), [binding]);
  });

  test("binds an exact version, disabled, with flag overrides", async () => {
    const runtime = await newRuntime(t, "exact");
    const binding = await bind(t, runtime, {
      name: "alpha",
      version: "1.0.0",
      enabled: false,
      flags: { readonly: false },
    });
    assert.equal(binding.version, "1.0.0");
    assert.equal(binding.enabled, false);
    assert.deepEqual(binding.flags, { readonly: false });
    assert.equal(binding.upgrade_available, true);
  });

  test('accepts version "latest" explicitly', async () => {
    const runtime = await newRuntime(t, "explicit-latest");
    assert.equal((await bind(t, runtime, { name: "alpha", version: "latest" })).version, "1.1.0");
  });

  test("binds another org's public capability as owner/name", async () => {
    const runtime = await newRuntime(t, "public");
    const binding = await bind(t, runtime, { name: "acme/scanner" });
    assert.equal(binding.capability_name, "acme/scanner");
    assert.equal(binding.source, "public");
  });

  test("accepts the runtime's own org as owner and shows the bare name", async () => {
    const runtime = await newRuntime(t, "own-owner");
    assert.equal((await bind(t, runtime, { name: "default/alpha" })).capability_name, "alpha");
  });

  test("records the installation in the audit log", async () => {
    const runtime = await newRuntime(t, "audited");
    const binding = await bind(t, runtime, { name: "alpha" });
    const event = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "runtime.capability.installed")
      .where("target_id", "=", binding.id)
      .executeTakeFirstOrThrow();
    assert.equal(event.target_type, "binding");
    assert.deepEqual(JSON.parse(event.data), {
      runtime_id: runtime,
      name: "alpha",
      version: "1.1.0",
      enabled: true,
      flags: {},
      track: "latest",
      auto_update: false,
    });
  });

  test("answers 404 for another org's private capability", async () => {
    const runtime = await newRuntime(t, "private");
    expectError(
      await callApi(t, "POST", bindingsUrl(runtime), t.adminKey, { name: "acme/secret" }),
      404,
      "not_found_error",
    );
  });

  test("answers 404 for an unknown capability or version, and for a deleted version", async () => {
    const runtime = await newRuntime(t, "unknown");
    const post = (payload: object) => callApi(t, "POST", bindingsUrl(runtime), t.adminKey, payload);
    expectError(await post({ name: "nope" }), 404, "not_found_error");
    expectError(await post({ name: "alpha", version: "9.9.9" }), 404, "not_found_error");
    expectError(await post({ name: "alpha", version: "1.3.0" }), 404, "not_found_error");
    expectError(await post({ name: "unpublished" }), 404, "not_found_error");
  });

  test("rejects a yanked version with 409 conflict_error", async () => {
    const runtime = await newRuntime(t, "yanked");
    const res = await callApi(t, "POST", bindingsUrl(runtime), t.adminKey, {
      name: "alpha",
      version: "1.2.0",
    });
    expectError(res, 409, "conflict_error");
  });

  test("rejects a second binding of the same capability with 409 already_exists_error", async () => {
    const runtime = await newRuntime(t, "twice");
    await bind(t, runtime, { name: "alpha" });
    const res = await callApi(t, "POST", bindingsUrl(runtime), t.adminKey, {
      name: "alpha",
      version: "1.0.0",
    });
    expectError(res, 409, "already_exists_error");
  });

  test("creates exactly one binding out of parallel installs of the same name", async () => {
    const runtime = await newRuntime(t, "parallel");
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        callApi(t, "POST", bindingsUrl(runtime), t.adminKey, { name: "alpha" }),
      ),
    );
    const statuses = responses.map((res) => res.statusCode).sort();
    assert.equal(statuses.filter((status) => status === 201).length, 1);
    for (const res of responses.filter((r) => r.statusCode !== 201))
      expectError(res, 409, "already_exists_error");
    assert.equal((await listBindings(t, runtime)).length, 1);
  });

  test("rejects an undeclared flag with 422 invalid_flag_error at body.flags.<name>", async () => {
    const runtime = await newRuntime(t, "bad-flag");
    const res = await callApi(t, "POST", bindingsUrl(runtime), t.adminKey, {
      name: "alpha",
      version: "1.0.0",
      flags: { verbose: true },
    });
    expectError(res, 422, "invalid_flag_error", ["body", "flags", "verbose"]);
  });

  test("rejects a non-boolean flag value with 422 invalid_flag_error", async () => {
    const runtime = await newRuntime(t, "flag-value");
    for (const value of ["yes", 1, null, { on: true }]) {
      const res = await callApi(t, "POST", bindingsUrl(runtime), t.adminKey, {
        name: "alpha",
        flags: { readonly: value },
      });
      expectError(res, 422, "invalid_flag_error", ["body", "flags", "readonly"]);
    }
    assert.deepEqual(await listBindings(t, runtime), []);
  });

  test("rejects an unknown body field with 422 at its location", async () => {
    const runtime = await newRuntime(t, "typo");
    const res = await callApi(t, "POST", bindingsUrl(runtime), t.adminKey, { name: "alpha", enable: false });
    expectError(res, 422, "validation_error", ["body", "enable"]);
  });

  test("rejects a missing name and a malformed version with 422", async () => {
    const runtime = await newRuntime(t, "malformed");
    expectError(await callApi(t, "POST", bindingsUrl(runtime), t.adminKey, {}), 422, "validation_error", [
      "body",
      "name",
    ]);
    const res = await callApi(t, "POST", bindingsUrl(runtime), t.adminKey, {
      name: "alpha",
      version: "^1.0.0",
    });
    expectError(res, 422, "validation_error", ["body", "version"]);
  });

  test("forbids readers, read-only keys and runtime tokens with 403", async () => {
    const runtime = await newRuntime(t, "forbidden");
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    const token = await mintRuntimeToken(t, runtime);
    for (const key of [reader.key, readOnly.key, token]) {
      expectError(
        await callApi(t, "POST", bindingsUrl(runtime), key, { name: "alpha" }),
        403,
        "forbidden_error",
      );
    }
  });

  test("lets a contributor bind", async () => {
    const runtime = await newRuntime(t, "contributor");
    const contributor = await newUserKey(t, { role: "contributor" });
    await bind(t, runtime, { name: "alpha" }, contributor.key);
  });

  test("rejects a missing or unknown key with 401", async () => {
    await expectUnauthenticated(t, "POST", bindingsUrl(t.runtimeId), { name: "alpha" });
  });

  test("answers 404 to a caller outside the org and for an unknown runtime", async () => {
    const stranger = await newStranger(t);
    expectError(
      await callApi(t, "POST", bindingsUrl(t.runtimeId), stranger.key, { name: "alpha" }),
      404,
      "not_found_error",
    );
    const missing = "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0";
    expectError(
      await callApi(t, "POST", bindingsUrl(missing), t.adminKey, { name: "alpha" }),
      404,
      "not_found_error",
    );
  });

  test("rejects a runtime id that is not a UUID with 422", async () => {
    const res = await callApi(t, "POST", bindingsUrl("not-a-uuid"), t.adminKey, { name: "alpha" });
    expectError(res, 422, "validation_error", ["path", "runtime_id"]);
  });
});
