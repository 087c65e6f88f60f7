import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { seedCapability, setVersionStatus } from "../../scripts/seed.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { newProject, newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const URL = "/api/v1/org/default/ws/main/runtimes";

describe("POST /api/v1/org/{org}/ws/{workspace}/runtimes", () => {
  let t: TestApp;
  let defaultProjectId: string;

  before(async () => {
    t = await buildTestApp();
    const bootstrap = (await callApi(t, "GET", `${URL}/${t.runtimeId}`, t.adminKey)).json();
    defaultProjectId = bootstrap.project_id;
    await seedCapability(t.deps, { name: "search", versions: ["1.0.0", "1.1.0"] });
    await seedCapability(t.deps, { name: "browser", versions: ["2.0.0"] });
  });
  after(() => t.close());

  const runtimeCount = async (key: string) =>
    (await t.deps.db.selectFrom("runtimes").select("id").where("key", "=", key).execute()).length;

  test("creates a runtime in the default project with 201", async () => {
    const res = await callApi(t, "POST", URL, t.adminKey, {
      key: "agent-a",
      name: "Agent A",
      description: "First",
    });
    assert.equal(res.statusCode, 201, res.body);
    const runtime = res.json();
    assert.equal(runtime.key, "agent-a");
    assert.equal(runtime.name, "Agent A");
    assert.equal(runtime.description, "First");
    assert.equal(runtime.project_id, defaultProjectId);
    assert.equal(runtime.status, "idle");
    assert.equal(runtime.config_version, "v2");
    assert.equal(runtime.capability_count, 0);
    assert.match(runtime.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(runtime.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(runtime.updated_at, runtime.created_at);
    const read = await callApi(t, "GET", `${URL}/${runtime.id}`, t.adminKey);
    assert.deepEqual(read.json(), runtime);
  });

  test("answers a repeated key with 200 and the existing runtime, unchanged", async () => {
    const first = (await callApi(t, "POST", URL, t.adminKey, { key: "twice", name: "Original" })).json();
    const again = await callApi(t, "POST", URL, t.adminKey, {
      key: "twice",
      name: "Different",
      config: { version: "v2", capabilities: [{ name: "search" }] },
    });
    assert.equal(again.statusCode, 200, again.body);
    assert.deepEqual(again.json(), first);
    assert.equal(await runtimeCount("twice"), 1);
  });

  test("uses the same key independently in another workspace", async () => {
    await newWorkspace(t, "default", "staging");
    const res = await callApi(t, "POST", "/api/v1/org/default/ws/staging/runtimes", t.adminKey, {
      key: "agent-a",
      name: "Staging A",
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.notEqual(res.json().project_id, defaultProjectId);
  });

  test("places the runtime in a project named by key or by id in any letter case", async () => {
    const project = await newProject(t, "default", "main", "research");
    const byKey = await callApi(t, "POST", URL, t.adminKey, {
      key: "by-key",
      name: "By key",
      project: "research",
    });
    assert.equal(byKey.statusCode, 201, byKey.body);
    assert.equal(byKey.json().project_id, project.id);
    const byId = await callApi(t, "POST", URL, t.adminKey, {
      key: "by-id",
      name: "By id",
      project: project.id.toUpperCase(),
    });
    assert.equal(byId.statusCode, 201, byId.body);
    assert.equal(byId.json().project_id, project.id);
  });

  test("answers 404 for a project the workspace does not have", async () => {
    const res = await callApi(t, "POST", URL, t.adminKey, { key: "lost", name: "Lost", project: "nowhere" });
    expectError(res, 404, "not_found_error");
    assert.equal(await runtimeCount("lost"), 0);
  });

  test("stores the config and binds config.capabilities in the same create", async () => {
    const res = await callApi(t, "POST", URL, t.adminKey, {
      key: "with-caps",
      name: "With capabilities",
      config: {
        version: "v2",
        capabilities: [
          { name: "search", version: "1.0.0" },
          { name: "browser", enabled: false },
        ],
        resources: { cpu_cores: 4, memory_mb: 2048 },
        metadata: { labels: { team: "research" } },
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().capability_count, 2);
    const config = (await callApi(t, "GET", `${URL}/${res.json().id}/config`, t.adminKey)).json().config;
    assert.deepEqual(config, {
      version: "v2",
      capabilities: [
        { name: "browser", version: "2.0.0", enabled: false },
        { name: "search", version: "1.0.0", enabled: true },
      ],
      resources: { cpu_cores: 4, memory_mb: 2048 },
      metadata: { labels: { team: "research" } },
    });
  });

  test("creates nothing when a listed capability is unknown (404)", async () => {
    const res = await callApi(t, "POST", URL, t.adminKey, {
      key: "doomed",
      name: "Doomed",
      config: { version: "v2", capabilities: [{ name: "search" }, { name: "no-such-capability" }] },
    });
    expectError(res, 404, "not_found_error");
    assert.equal(await runtimeCount("doomed"), 0);
    const bindings = await t.deps.db.selectFrom("bindings").select("id").execute();
    assert.equal(bindings.length, 2, "only the bindings of 'with-caps' exist");
  });

  test("creates nothing when a listed version is yanked (409)", async () => {
    await setVersionStatus(
      t.deps,
      await seedCapability(t.deps, { name: "gone", versions: ["1.0.0"] }),
      "1.0.0",
      "yanked",
    );
    const res = await callApi(t, "POST", URL, t.adminKey, {
      key: "yanked",
      name: "Yanked",
      config: { version: "v2", capabilities: [{ name: "gone", version: "1.0.0" }] },
    });
    expectError(res, 409, "conflict_error");
    assert.equal(await runtimeCount("yanked"), 0);
  });

  test("records runtime.created in the audit log", async () => {
    const runtime = (await callApi(t, "POST", URL, t.adminKey, { key: "audited", name: "Audited" })).json();
    const event = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "runtime.created")
      .where("target_id", "=", runtime.id)
      .executeTakeFirstOrThrow();
    assert.equal(event.target_type, "runtime");
    assert.equal(
      event.org_id,
      (await t.deps.db.selectFrom("orgs").select("id").where("key", "=", "default").executeTakeFirstOrThrow())
        .id,
    );
    assert.deepEqual(JSON.parse(event.data), {
      key: "audited",
      name: "Audited",
      project_id: defaultProjectId,
    });
  });

  test("lets a contributor create", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    const res = await callApi(t, "POST", URL, contributor.key, { key: "by-contributor", name: "C" });
    assert.equal(res.statusCode, 201, res.body);
  });

  test("forbids a reader and a read-only key with 403", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    const body = { key: "forbidden", name: "F" };
    expectError(await callApi(t, "POST", URL, reader.key, body), 403, "forbidden_error");
    expectError(await callApi(t, "POST", URL, readOnly.key, body), 403, "forbidden_error");
    assert.equal(await runtimeCount("forbidden"), 0);
  });

  test("answers 401 without a valid key", async () => {
    await expectUnauthenticated(t, "POST", URL, { key: "anon", name: "Anon" });
  });

  test("answers 404 to a non-member and for an unknown workspace", async () => {
    const stranger = await newStranger(t);
    const body = { key: "stranger", name: "S" };
    expectError(await callApi(t, "POST", URL, stranger.key, body), 404, "not_found_error");
    expectError(
      await callApi(t, "POST", "/api/v1/org/default/ws/nowhere/runtimes", t.adminKey, body),
      404,
      "not_found_error",
    );
  });

  test("rejects a blank name with 422 at body.name", async () => {
    const res = await callApi(t, "POST", URL, t.adminKey, { key: "blank-name", name: " " });
    expectError(res, 422, "validation_error", ["body", "name"]);
  });

  test("rejects a missing or malformed key with 422 at body.key", async () => {
    expectError(await callApi(t, "POST", URL, t.adminKey, { name: "No key" }), 422, "validation_error", [
      "body",
      "key",
    ]);
    expectError(
      await callApi(t, "POST", URL, t.adminKey, { key: "Bad_Key", name: "B" }),
      422,
      "validation_error",
      ["body", "key"],
    );
  });

  test("rejects unknown fields, also inside the config, with 422 at their place", async () => {
    expectError(
      await callApi(t, "POST", URL, t.adminKey, { key: "typo", name: "T", descripton: "x" }),
      422,
      "validation_error",
      ["body", "descripton"],
    );
    const res = await callApi(t, "POST", URL, t.adminKey, {
      key: "typo",
      name: "T",
      config: { version: "v2", capabilities: [{ name: "search", enable: false }], sandbox: { ports: [80] } },
    });
    expectError(res, 422, "validation_error", ["body", "config", "capabilities", 0, "enable"]);
    expectError(res, 422, "validation_error", ["body", "config", "sandbox", "ports"]);
  });

  test("rejects config values out of range with 422 at their place", async () => {
    const res = await callApi(t, "POST", URL, t.adminKey, {
      key: "ranges",
      name: "R",
      config: {
        version: "v1",
        resources: { cpu_cores: 33, memory_mb: 0 },
        sandbox: { exposed_ports: [70000], timeout_seconds: 0 },
        build: { provider: "podman", source: { kind: "git" } },
      },
    });
    for (const loc of [
      ["body", "config", "version"],
      ["body", "config", "resources", "cpu_cores"],
      ["body", "config", "resources", "memory_mb"],
      ["body", "config", "sandbox", "exposed_ports", 0],
      ["body", "config", "sandbox", "timeout_seconds"],
      ["body", "config", "build", "provider"],
      ["body", "config", "build", "source", "ref"],
    ]) {
      expectError(res, 422, "validation_error", loc);
    }
    assert.equal(await runtimeCount("ranges"), 0);
  });

  test("rejects a capability listed twice with 422 and creates nothing", async () => {
    const res = await callApi(t, "POST", URL, t.adminKey, {
      key: "dupes",
      name: "D",
      config: { version: "v2", capabilities: [{ name: "search" }, { name: "search", version: "1.0.0" }] },
    });
    expectError(res, 422, "validation_error", ["body", "config", "capabilities", 1, "name"]);
    assert.equal(await runtimeCount("dupes"), 0);
  });
});
