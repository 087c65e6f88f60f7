import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { seedCapability } from "../../scripts/seed.js";
import { canonicalDigest } from "../../src/domain/digests.js";
import type { ChangeEvent } from "../../src/services/change-feed.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/ws/main/runtimes";
const MISSING_ID = "2489E9AD-2EE2-8E00-8EC9-32D5F69181C0";

describe("PUT /api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/config", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    await seedCapability(t.deps, { name: "search", versions: ["1.0.0", "1.1.0"] });
    await seedCapability(t.deps, { name: "browser", versions: ["2.0.0"] });
    await seedCapability(t.deps, { name: "notes", versions: ["0.3.0"] });
  });
  after(() => t.close());

  /** A runtime bound to search@1.0.0 and browser@2.0.0 (disabled), with some settings. */
  const newRuntime = async (key: string): Promise<string> => {
    const res = await callApi(t, "POST", URL, t.adminKey, {
      key,
      name: key,
      config: {
        version: "v2",
        capabilities: [
          { name: "search", version: "1.0.0" },
          { name: "browser", enabled: false },
        ],
        resources: { cpu_cores: 2 },
        runtime_server: { env: { LOG_LEVEL: "debug" } },
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id;
  };
  const getConfig = async (id: string) =>
    (await callApi(t, "GET", `${URL}/${id}/config`, t.adminKey)).json().config;
  const put = (id: string, config: unknown, query = "") =>
    callApi(t, "PUT", `${URL}/${id}/config${query}`, t.adminKey, { config });
  const countRows = async (table: "audit_events" | "bindings") =>
    Number(
      (
        await t.deps.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );

  test("reconciles the bindings to the listed capabilities and answers {config, runtime, plan}", async () => {
    const id = await newRuntime("reconciled");
    const res = await put(id, {
      version: "v2",
      capabilities: [{ name: "search", version: "1.1.0" }, { name: "notes" }],
      sandbox: { exposed_ports: [8080], timeout_seconds: 600, workspace_mount: "/workspace" },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ["config", "plan", "runtime"]);
    assert.deepEqual(body.plan, {
      install: [{ name: "notes", version: "0.3.0", enabled: true, track: "latest", auto_update: false }],
      update: [
        { name: "search", from: "1.0.0", to: "1.1.0", enabled: true, track: null, auto_update: false },
      ],
      remove: [{ name: "browser", version: "2.0.0" }],
    });
    const expected = {
      version: "v2",
      capabilities: [
        { name: "notes", version: "0.3.0", enabled: true },
        { name: "search", version: "1.1.0", enabled: true },
      ],
      sandbox: { exposed_ports: [8080], timeout_seconds: 600, workspace_mount: "/workspace" },
    };
    assert.deepEqual(body.config, expected);
    assert.deepEqual(await getConfig(id), expected);
    assert.equal(body.runtime.id, id);
    assert.equal(body.runtime.capability_count, 2);
    assert.equal(body.runtime.config_digest, canonicalDigest(expected));
  });

  test("replaces the whole config: settings left out are gone", async () => {
    const id = await newRuntime("replaced");
    const res = await put(id, {
      version: "v2",
      build: { provider: "docker", source: { kind: "git", ref: "main" } },
    });
    assert.equal(res.statusCode, 200, res.body);
    const config = await getConfig(id);
    assert.equal(config.resources, undefined);
    assert.equal(config.runtime_server, undefined);
    assert.deepEqual(config.build, { provider: "docker", source: { kind: "git", ref: "main" } });
  });

  test("leaves the bindings alone when capabilities is absent", async () => {
    const id = await newRuntime("untouched");
    const res = await put(id, { version: "v2" });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().plan, { install: [], update: [], remove: [] });
    assert.deepEqual((await getConfig(id)).capabilities, [
      { name: "browser", version: "2.0.0", enabled: false },
      { name: "search", version: "1.0.0", enabled: true },
    ]);
  });

  test("removes every binding for an empty capabilities list", async () => {
    const id = await newRuntime("emptied");
    const res = await put(id, { version: "v2", capabilities: [] });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().plan.remove.length, 2);
    assert.deepEqual((await getConfig(id)).capabilities, []);
  });

  test("changes only enabled when the version is kept", async () => {
    const id = await newRuntime("toggled");
    const res = await put(id, {
      version: "v2",
      capabilities: [{ name: "search" }, { name: "browser", enabled: true }],
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().plan, {
      install: [],
      update: [
        { name: "browser", from: "2.0.0", to: "2.0.0", enabled: true, track: "latest", auto_update: false },
      ],
      remove: [],
    });
  });

  test("with dry_run=true returns the plan and changes nothing", async () => {
    const id = await newRuntime("dry");
    const configBefore = await getConfig(id);
    const runtimeBefore = (await callApi(t, "GET", `${URL}/${id}`, t.adminKey)).json();
    const auditBefore = await countRows("audit_events");
    const res = await put(
      id,
      { version: "v2", capabilities: [{ name: "notes", enabled: false }] },
      "?dry_run=true",
    );
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), {
      install: [{ name: "notes", version: "0.3.0", enabled: false, track: "latest", auto_update: false }],
      update: [],
      remove: [
        { name: "browser", version: "2.0.0" },
        { name: "search", version: "1.0.0" },
      ],
    });
    assert.deepEqual(await getConfig(id), configBefore);
    assert.deepEqual((await callApi(t, "GET", `${URL}/${id}`, t.adminKey)).json(), runtimeBefore);
    assert.equal(await countRows("audit_events"), auditBefore);
  });

  test("with dry_run=true and no capabilities returns an empty plan", async () => {
    const id = await newRuntime("dry-empty");
    const res = await put(id, { version: "v2" }, "?dry_run=true");
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { install: [], update: [], remove: [] });
  });

  test("with dry_run=true reports an unknown capability with 404", async () => {
    const id = await newRuntime("dry-unknown");
    const res = await put(id, { version: "v2", capabilities: [{ name: "missing" }] }, "?dry_run=true");
    expectError(res, 404, "not_found_error");
  });

  test("changes nothing, settings included, when a listed capability is unknown", async () => {
    const id = await newRuntime("atomic");
    const configBefore = await getConfig(id);
    const bindingsBefore = await countRows("bindings");
    const res = await put(id, { version: "v2", capabilities: [{ name: "notes" }, { name: "missing" }] });
    expectError(res, 404, "not_found_error");
    assert.deepEqual(await getConfig(id), configBefore);
    assert.equal(await countRows("bindings"), bindingsBefore);
  });

  test("records runtime.config.updated and tells caches the runtime changed", async () => {
    const id = await newRuntime("audited");
    const events: ChangeEvent[] = [];
    const unsubscribe = t.deps.changes.subscribe((event) => events.push(event));
    try {
      assert.equal((await put(id, { version: "v2", capabilities: [{ name: "search" }] })).statusCode, 200);
    } finally {
      unsubscribe();
    }
    assert.ok(events.some((e) => e.kind === "runtime" && e.runtimeId === id));
    const event = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "runtime.config.updated")
      .where("target_id", "=", id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(event.data), {
      reconciled: true,
      plan: { install: [], update: [], remove: [{ name: "browser", version: "2.0.0" }] },
    });
  });

  test("lets a contributor replace the config", async () => {
    const id = await newRuntime("by-contributor");
    const contributor = await newUserKey(t, { role: "contributor" });
    const res = await callApi(t, "PUT", `${URL}/${id}/config`, contributor.key, {
      config: { version: "v2" },
    });
    assert.equal(res.statusCode, 200, res.body);
  });

  test("forbids a reader and a read-only key with 403, dry run included", async () => {
    const id = await newRuntime("forbidden");
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    const body = { config: { version: "v2", capabilities: [] } };
    for (const key of [reader.key, readOnly.key]) {
      expectError(await callApi(t, "PUT", `${URL}/${id}/config`, key, body), 403, "forbidden_error");
      expectError(
        await callApi(t, "PUT", `${URL}/${id}/config?dry_run=true`, key, body),
        403,
        "forbidden_error",
      );
    }
    assert.equal((await getConfig(id)).capabilities.length, 2);
  });

  test("answers 401 without a valid key", async () => {
    await expectUnauthenticated(t, "PUT", `${URL}/${t.runtimeId}/config`, { config: { version: "v2" } });
  });

  test("answers 404 to a non-member, in another workspace and for an unknown runtime", async () => {
    const body = { config: { version: "v2" } };
    const stranger = await newStranger(t);
    expectError(
      await callApi(t, "PUT", `${URL}/${t.runtimeId}/config`, stranger.key, body),
      404,
      "not_found_error",
    );
    await newWorkspace(t, "default", "other");
    const elsewhere = `/api/v1/org/default/ws/other/runtimes/${t.runtimeId}/config`;
    expectError(await callApi(t, "PUT", elsewhere, t.adminKey, body), 404, "not_found_error");
    expectError(
      await callApi(t, "PUT", `${URL}/${MISSING_ID}/config`, t.adminKey, body),
      404,
      "not_found_error",
    );
  });

  test("rejects a body without config, an unknown field and a wrong version with 422 at their place", async () => {
    const url = `${URL}/${t.runtimeId}/config`;
    expectError(await callApi(t, "PUT", url, t.adminKey, { version: "v2" }), 422, "validation_error", [
      "body",
      "config",
    ]);
    expectError(await put(t.runtimeId, { version: "v2", labels: {} }), 422, "validation_error", [
      "body",
      "config",
      "labels",
    ]);
    expectError(await put(t.runtimeId, { version: "v3" }), 422, "validation_error", [
      "body",
      "config",
      "version",
    ]);
    expectError(await put(t.runtimeId, { capabilities: [] }), 422, "validation_error", [
      "body",
      "config",
      "version",
    ]);
  });

  test("rejects 1e309 (Infinity once parsed) and other out-of-range numbers with 422, changing nothing", async () => {
    const before = (await callApi(t, "GET", `${URL}/${t.runtimeId}/config`, t.adminKey)).json();
    for (const [settings, field] of [
      ['"resources":{"memory_mb":1e309}', "resources"],
      ['"resources":{"memory_mb":1048577}', "resources"],
      ['"sandbox":{"timeout_seconds":1e309}', "sandbox"],
      ['"sandbox":{"timeout_seconds":2592001}', "sandbox"],
    ]) {
      const res = await t.app.inject({
        method: "PUT",
        url: `${URL}/${t.runtimeId}/config`,
        headers: { ...bearer(t.adminKey), "content-type": "application/json" },
        payload: `{"config":{"version":"v2",${settings}}}`,
      });
      expectError(res, 422, "validation_error");
      assert.deepEqual(res.json().errors[0].loc.slice(0, 3), ["body", "config", field], settings);
    }
    assert.deepEqual((await callApi(t, "GET", `${URL}/${t.runtimeId}/config`, t.adminKey)).json(), before);
  });

  test("rejects malformed capability entries with 422 at their place", async () => {
    const res = await put(t.runtimeId, {
      version: "v2",
      capabilities: [
        { name: "Not A Name" },
        { name: "search", version: "1.0" },
        { name: "notes", enabled: "yes" },
      ],
    });
    expectError(res, 422, "validation_error", ["body", "config", "capabilities", 0, "name"]);
    expectError(res, 422, "validation_error", ["body", "config", "capabilities", 1, "version"]);
    expectError(res, 422, "validation_error", ["body", "config", "capabilities", 2, "enabled"]);
  });

  test("rejects a dry_run that is not a boolean with 422 at query.dry_run", async () => {
    const res = await put(t.runtimeId, { version: "v2" }, "?dry_run=maybe");
    expectError(res, 422, "validation_error", ["query", "dry_run"]);
  });

  test("rejects a runtime id that is not a UUID with 422 at path.runtime_id", async () => {
    expectError(await put("default", { version: "v2" }), 422, "validation_error", ["path", "runtime_id"]);
  });
});
