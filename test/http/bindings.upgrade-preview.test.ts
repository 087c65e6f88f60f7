import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { seedCapability } from "../../scripts/seed.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { bind, bindingUrl, mintRuntimeToken, newRuntime, patchBinding } from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

describe("GET RT/capabilities/{binding_id}/upgrade-preview", () => {
  let t: TestApp;
  let runtimeId: string;
  let bindingId: string;
  const previewUrl = (query = "") => `${bindingUrl(runtimeId, bindingId)}/upgrade-preview${query}`;

  before(async () => {
    t = await buildTestApp();
    await seedCapability(t.deps, {
      name: "alpha",
      versions: [
        {
          version: "1.0.0",
          flags: { readonly: {}, verbose: {} },
          components: [
            { type: "agent", name: "reviewer" },
            { type: "tool", name: "search" },
          ],
          mcpServers: {
            proxy: { command: "node", args: ["proxy.js"] },
            tracker: { url: "https://a.example/mcp" },
          },
          workers: { journal: { path: "workers/journal.py" }, relay: { command: "relay" } },
          dependencies: { python: ["httpx"] },
        },
        {
          version: "1.0.1",
          flags: { readonly: {}, verbose: {} },
          components: [
            { type: "agent", name: "reviewer" },
            { type: "tool", name: "search" },
          ],
          mcpServers: {
            proxy: { command: "node", args: ["proxy.js"] },
            tracker: { url: "https://a.example/mcp" },
          },
          workers: { journal: { path: "workers/journal.py" }, relay: { command: "relay" } },
          dependencies: { python: ["httpx"] },
        },
        {
          version: "2.0.0",
          flags: { readonly: {}, proxy: {} },
          components: [
            { type: "agent", name: "planner" },
            { type: "tool", name: "search" },
            { type: "skill", name: "triage" },
          ],
          mcpServers: {
            proxy: { command: "node", args: ["proxy.js", "--v2"] },
            tracker: { url: "https://a.example/mcp" },
          },
          workers: { journal: { path: "workers/journal.py" }, audit: { command: "audit" } },
          dependencies: { python: ["httpx", "rich"] },
        },
        { version: "2.1.0", status: "yanked" },
      ],
    });
    runtimeId = await newRuntime(t, "preview");
    bindingId = (await bind(t, runtimeId, { name: "alpha", version: "1.0.0" })).id;
    await patchBinding(t, runtimeId, bindingId, { flags: { readonly: true, verbose: false } });
  });
  after(() => t.close());

  test("diffs the bound version against latest by default", async () => {
    const res = await callApi(t, "GET", previewUrl(), t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), {
      from: "1.0.0",
      to: "2.0.0",
      upgrade_kind: "major",
      components: {
        added: [
          { type: "agent", name: "planner" },
          { type: "skill", name: "triage" },
          { type: "worker", name: "audit" },
        ],
        removed: [
          { type: "agent", name: "reviewer" },
          { type: "worker", name: "relay" },
        ],
      },
      flags: { added: ["proxy"], removed: ["verbose"] },
      dropped_overrides: ["verbose"],
      mcp_servers_changed: ["proxy"],
      workers_changed: ["audit", "relay"],
      dependencies_changed: true,
      requires: { added: [], removed: [], changed: [] },
    });
  });

  test("shows an identical patch release as a patch with nothing changed", async () => {
    const res = await callApi(t, "GET", previewUrl("?version=1.0.1"), t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    const preview = res.json();
    assert.equal(preview.upgrade_kind, "patch");
    assert.deepEqual(preview.components, { added: [], removed: [] });
    assert.deepEqual(preview.flags, { added: [], removed: [] });
    assert.deepEqual(preview.dropped_overrides, []);
    assert.deepEqual(preview.mcp_servers_changed, []);
    assert.deepEqual(preview.workers_changed, []);
    assert.equal(preview.dependencies_changed, false);
  });

  test("reports the bound version against itself as none and a lower one as a downgrade", async () => {
    assert.equal(
      (await callApi(t, "GET", previewUrl("?version=1.0.0"), t.adminKey)).json().upgrade_kind,
      "none",
    );
    const runtime = await newRuntime(t, "downgrade");
    const binding = await bind(t, runtime, { name: "alpha", version: "1.0.1" });
    const res = await callApi(
      t,
      "GET",
      `${bindingUrl(runtime, binding.id)}/upgrade-preview?version=1.0.0`,
      t.adminKey,
    );
    assert.equal(res.json().upgrade_kind, "downgrade");
  });

  test("changes nothing: the binding stays where it was", async () => {
    await callApi(t, "GET", previewUrl(), t.adminKey);
    const res = await callApi(t, "GET", bindingUrl(runtimeId, bindingId), t.adminKey);
    assert.equal(res.json().version, "1.0.0");
  });

  test("answers 409 for a yanked target, 404 for an unknown one and 422 for a malformed one", async () => {
    expectError(await callApi(t, "GET", previewUrl("?version=2.1.0"), t.adminKey), 409, "conflict_error");
    expectError(await callApi(t, "GET", previewUrl("?version=9.0.0"), t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "GET", previewUrl("?version=2"), t.adminKey), 422, "validation_error", [
      "query",
      "version",
    ]);
  });

  test("lets a reader preview and forbids runtime tokens", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    assert.equal((await callApi(t, "GET", previewUrl(), reader.key)).statusCode, 200);
    const token = await mintRuntimeToken(t, runtimeId);
    expectError(await callApi(t, "GET", previewUrl(), token), 403, "forbidden_error");
  });

  test("rejects a missing or unknown key with 401, a stranger and an unknown binding with 404", async () => {
    await expectUnauthenticated(t, "GET", previewUrl());
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", previewUrl(), stranger.key), 404, "not_found_error");
    const unknown = `${bindingUrl(runtimeId, "01a223ce-8c51-75ad-9f76-935ea7915143")}/upgrade-preview`;
    expectError(await callApi(t, "GET", unknown, t.adminKey), 404, "not_found_error");
  });
});

describe("upgrade preview of MCP servers defined in files", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  const mcpFile = (servers: Record<string, unknown>) => JSON.stringify({ mcpServers: servers }, null, 2);
  const preview = async (name: string, from: string, to: string) => {
    const runtime = await newRuntime(t, `mcp-${name}`);
    const binding = await bind(t, runtime, { name, version: from });
    const res = await callApi(
      t,
      "GET",
      `${bindingUrl(runtime, binding.id)}/upgrade-preview?version=${to}`,
      t.adminKey,
    );
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };

  test("lists only the server whose own entry changed, and a removed one once, as removed", async () => {
    await publishOk(t, {
      name: "mcp-files",
      version: "1.0.0",
      files: {
        ".mcp.json": mcpFile({
          search: { command: "npx", args: ["search-server"] },
          notes: { command: "uv", args: ["run", "notes.py"] },
          legacy: { url: "https://legacy.example.invalid/mcp" },
        }),
      },
    });
    await publishOk(t, {
      name: "mcp-files",
      version: "1.1.0",
      files: {
        ".mcp.json": mcpFile({
          search: { command: "npx", args: ["search-server", "--fast"] },
          notes: { command: "uv", args: ["run", "notes.py"] },
          fresh: { url: "https://fresh.example.invalid/mcp" },
        }),
      },
    });
    const result = await preview("mcp-files", "1.0.0", "1.1.0");
    assert.deepEqual(result.mcp_servers_changed, ["search"]);
    assert.deepEqual(result.components, {
      added: [{ type: "mcp_server", name: "fresh" }],
      removed: [{ type: "mcp_server", name: "legacy" }],
    });
  });

  test("does not report a server that only moved to another file", async () => {
    const notes = { command: "uv", args: ["run", "notes.py"] };
    await publishOk(t, {
      name: "mcp-moved",
      version: "1.0.0",
      files: { ".mcp.json": mcpFile({ notes, other: { command: "a" } }) },
    });
    await publishOk(t, {
      name: "mcp-moved",
      version: "1.0.1",
      manifestExtra: "mcp:\n  files: [servers/mcp.json]",
      files: { "servers/mcp.json": mcpFile({ notes, other: { command: "b" } }) },
    });
    const result = await preview("mcp-moved", "1.0.0", "1.0.1");
    assert.deepEqual(result.mcp_servers_changed, ["other"]);
  });

  test("answers, not a 500, when a stored version lacks the file that defined a server", async () => {
    await publishOk(t, {
      name: "mcp-lost",
      version: "1.0.0",
      files: { ".mcp.json": mcpFile({ notes: { command: "a" } }) },
    });
    await publishOk(t, {
      name: "mcp-lost",
      version: "1.0.1",
      files: { ".mcp.json": mcpFile({ notes: { command: "b" } }) },
    });
    // Data that should not exist: the newer version's file manifest no longer names .mcp.json.
    await t.deps.db
      .updateTable("capability_versions")
      .set({ file_manifest: "[]" })
      .where("version", "=", "1.0.1")
      .where("capability_id", "in", (q) =>
        q.selectFrom("capabilities").select("id").where("name", "=", "mcp-lost"),
      )
      .execute();
    const result = await preview("mcp-lost", "1.0.0", "1.0.1");
    assert.deepEqual(result.mcp_servers_changed, ["notes"]);
  });
});
