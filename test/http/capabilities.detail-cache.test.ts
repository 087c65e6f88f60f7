// The version detail served from the detail cache (src/services/artifact-detail-cache.ts): the same
// bytes as the detail built from the full row and serialized through the route schema, the fields
// that can change always fresh (also on a second instance with its own cache on the same
// database), concurrent first reads sharing one fill, and the memory it keeps bounded.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type App, buildApp } from "../../src/app.js";
import { ArtifactDetail, VersionParams } from "../../src/contract/capabilities.js";
import { errorResponses } from "../../src/contract/common.js";
import { scopeOf } from "../../src/routes/route-app.js";
import { ArtifactDetailCache } from "../../src/services/artifact-detail-cache.js";
import { LocalChangeFeed } from "../../src/services/change-feed.js";
import { FileManifestCache } from "../../src/services/file-manifest-cache.js";
import { getVersionDetail } from "../../src/services/registry-service.js";
import { callApi, expectError } from "../helpers/api.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";
/** The reference: the detail built from the full row on every read, serialized by the route schema. */
const UNCACHED = "/test/uncached-detail";

/** 510 agents: more than one slice (500) of each long array, files and components. */
function largeFiles(salt: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 510; i++) {
    files[`agents/agent-${String(i).padStart(3, "0")}.md`] =
      `---\nname: agent-${i}\ndescription: "Agent ${i}: quotes \\" and ünïcødé ✓ \\\\ ${salt}"\nmodel: m-${i % 3}\n---\nBody\n`;
  }
  return files;
}

function smallFiles(salt: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 20; i++) files[`docs/page-${i}.md`] = `page ${i} ${salt}\n`;
  return files;
}

const MANIFEST_EXTRA = [
  "flags:",
  "  verbose:",
  "    description: Log more",
  "    default: true",
  "mcp:",
  "  servers:",
  "    search:",
  "      command: npx",
  '      args: ["-y", "search-server"]',
  "      when: [verbose]",
  "colour: blue",
].join("\n");

describe("the version detail cache", () => {
  let t: TestApp;
  /** A second instance: its own app, detail cache and change feed, on the same database. */
  let other: App;

  before(async () => {
    t = await buildTestApp({
      extraRoutes: (app) => {
        app.get(
          `${UNCACHED}/:org/:name/:version`,
          { schema: { params: VersionParams, response: { 200: ArtifactDetail, ...errorResponses } } },
          async (request) => {
            const { org, name, version } = request.params;
            return getVersionDetail(app.deps, scopeOf(request), org, name, version);
          },
        );
      },
    });
    other = await buildApp({ ...t.deps, changes: new LocalChangeFeed() });
    await other.ready();
    await publishOk(t, {
      name: "large",
      description: 'Quotes " and \\ and ünïcødé ✓ and a\ttab',
      files: largeFiles("1.0.0"),
      manifestExtra: MANIFEST_EXTRA,
    });
    await newOrg(t, "acme");
    await publishOk(
      t,
      { name: "shared", files: smallFiles("shared") },
      { org: "acme", query: "public=true" },
    );
  });
  after(async () => {
    await other.close();
    await t.close();
  });

  const get = (url: string, app: App = t.app) =>
    app.inject({ method: "GET", url, headers: bearer(t.adminKey) });

  /** The cached answer (twice: the read that fills the cache, then a hit) against the reference. */
  async function assertSameBytes(org: string, name: string, version: string, app: App = t.app) {
    const reference = await get(`${UNCACHED}/${org}/${encodeURIComponent(name)}/${version}`);
    assert.equal(reference.statusCode, 200, reference.body);
    for (let read = 0; read < 2; read++) {
      const res = await get(`/api/v1/org/${org}/capabilities/${encodeURIComponent(name)}/${version}`, app);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
      assert.equal(Number(res.headers["content-length"]), res.rawPayload.length);
      assert.ok(res.rawPayload.equals(reference.rawPayload), `${name}@${version} read ${read} differs`);
    }
    return JSON.parse(reference.body);
  }

  test("a large detail is byte for byte the detail serialized from the full row", async () => {
    const detail = await assertSameBytes("default", "large", "1.0.0");
    // capability.yaml, README.md, agents/helper.md and 510 agents.
    assert.equal(detail.file_manifest.length, 513);
    assert.equal(detail.component_details.length, 512);
    assert.deepEqual(detail.flags, { verbose: { description: "Log more", default: true } });
    assert.equal(detail.warnings[0].type, "manifest.unknown_key");
    const server = detail.component_details.find((c: { type: string }) => c.type === "mcp_server");
    assert.deepEqual(server.metadata.gated_by, ["verbose"]);
    await assertSameBytes("default", "large", "latest");
    const latest = await get(`${CAP}/large`);
    assert.ok(latest.rawPayload.equals((await get(`${CAP}/large/1.0.0`)).rawPayload));
  });

  test("another org's public capability is named owner/name, from the same cached bytes", async () => {
    const own = await assertSameBytes("acme", "shared", "1.0.0");
    assert.equal(own.name, "shared");
    const seen = await assertSameBytes("default", "acme/shared", "1.0.0");
    assert.equal(seen.name, "acme/shared");
    const twoSegments = await get(`${CAP}/acme/shared/1.0.0`);
    assert.equal(twoSegments.json().name, "acme/shared");
  });

  test("status, message, visibility and versions change at once, on both instances", async () => {
    await publishOk(t, { name: "moving", files: smallFiles("moving") });
    // Both instances hold the version's template before anything changes.
    await assertSameBytes("default", "moving", "1.0.0");
    await assertSameBytes("default", "moving", "1.0.0", other);

    const deprecate = { status: "deprecated", message: "Use 2.x" };
    const patched = await callApi(t, "PATCH", `${CAP}/moving/1.0.0`, t.adminKey, deprecate);
    assert.equal(patched.statusCode, 200, patched.body);
    for (const app of [t.app, other]) {
      const detail = (await get(`${CAP}/moving/1.0.0`, app)).json();
      assert.equal(detail.status, "deprecated");
      assert.equal(detail.deprecation_message, "Use 2.x");
      assert.equal(detail.updated_at, patched.json().updated_at);
    }

    const visibility = { is_public: true };
    const shown = await callApi(t, "PATCH", `${CAP}/moving/visibility`, t.adminKey, visibility);
    assert.equal(shown.statusCode, 200, shown.body);
    assert.equal((await get(`${CAP}/moving/1.0.0`, other)).json().is_public, true);

    await publishOk(t, { name: "moving", version: "2.0.0", files: smallFiles("2.0.0") });
    for (const app of [t.app, other]) {
      const detail = (await get(`${CAP}/moving/1.0.0`, app)).json();
      assert.deepEqual(detail.versions, ["2.0.0", "1.0.0"]);
      assert.equal(detail.version_count, 2);
      assert.equal((await get(`${CAP}/moving`, app)).json().version, "2.0.0");
    }
    await assertSameBytes("default", "moving", "1.0.0", other);
    await assertSameBytes("default", "moving", "latest", other);

    const yank = await callApi(t, "PATCH", `${CAP}/moving/2.0.0`, t.adminKey, { status: "yanked" });
    assert.equal(yank.statusCode, 200, yank.body);
    assert.equal((await get(`${CAP}/moving/2.0.0`, other)).json().status, "yanked");
    assert.equal((await get(`${CAP}/moving`, other)).json().version, "1.0.0");
    await assertSameBytes("default", "moving", "2.0.0", other);

    const deleted = await callApi(t, "DELETE", `${CAP}/moving/2.0.0`, t.adminKey);
    assert.equal(deleted.statusCode, 204, deleted.body);
    expectError(await get(`${CAP}/moving/2.0.0`, other), 404, "not_found_error");
    assert.deepEqual((await get(`${CAP}/moving/1.0.0`, other)).json().versions, ["1.0.0"]);
  });

  test("a cached detail is still 404 to non-members and readable by readers", async () => {
    await get(`${CAP}/large/1.0.0`);
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", `${CAP}/large/1.0.0`, stranger.key), 404, "not_found_error");
    const reader = await newUserKey(t, { role: "reader" });
    const read = await callApi(t, "GET", `${CAP}/large/1.0.0`, reader.key);
    assert.equal(read.statusCode, 200, read.body);
    expectError(await callApi(t, "GET", `${CAP}/large/9.9.9`, t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${CAP}/absent/1.0.0`, t.adminKey), 404, "not_found_error");
  });

  test("concurrent first reads of a version share one fill", async () => {
    const cache = new ArtifactDetailCache(64 * 1024 * 1024);
    const id = (await get(`${CAP}/large/1.0.0`)).json().id;
    const templates = await Promise.all(Array.from({ length: 8 }, () => cache.template(t.deps.db, id)));
    assert.ok(templates[0]);
    for (const template of templates) assert.equal(template, templates[0]);
    assert.deepEqual(cache.stats(), { entries: 1, bytes: templates[0].bytes, maxBytes: 64 * 1024 * 1024 });
  });

  test("the cache keeps at most its byte budget, least recently used out first", async () => {
    const ids: string[] = [];
    for (const version of ["1.0.0", "1.1.0", "1.2.0"]) {
      ids.push((await publishOk(t, { name: "budget", version, files: smallFiles(version) })).id);
    }
    const one = await new ArtifactDetailCache(64 * 1024 * 1024).template(t.deps.db, ids[0]);
    assert.ok(one);
    // Room for two templates of this size, not three.
    const budget = Math.floor(one.bytes * 2.5);
    const cache = new ArtifactDetailCache(budget);
    const first = await cache.template(t.deps.db, ids[0]);
    await cache.template(t.deps.db, ids[1]);
    assert.equal(await cache.template(t.deps.db, ids[0]), first, "a hit returns the kept template");
    await cache.template(t.deps.db, ids[2]);
    const stats = cache.stats();
    assert.equal(stats.entries, 2);
    assert.ok(stats.bytes <= budget, `${stats.bytes} > ${budget}`);
    // ids[1] was the least recently used: it went, ids[0] stayed.
    assert.equal(await cache.template(t.deps.db, ids[0]), first);

    const none = new ArtifactDetailCache(0);
    const built = await none.template(t.deps.db, ids[0]);
    assert.ok(built && built.bytes > 0, "a template over the budget is still built for its read");
    assert.deepEqual(none.stats(), { entries: 0, bytes: 0, maxBytes: 0 });
  });

  test("parsed file manifests are kept within their own byte budget", async () => {
    const ids: string[] = [];
    for (const version of ["1.0.0", "1.1.0", "1.2.0"]) {
      const res = await get(`${CAP}/budget/${version}`);
      ids.push(res.json().id);
    }
    const probe = await new FileManifestCache(64 * 1024 * 1024).files(t.deps.db, ids[0]);
    assert.ok(probe);
    assert.equal(probe.entries.length, 23);
    assert.equal(probe.entries[probe.indexByPath.get("docs/page-3.md") ?? -1].path, "docs/page-3.md");
    const cache = new FileManifestCache(Math.floor(probe.bytes * 2.5));
    for (const id of ids) await cache.files(t.deps.db, id);
    assert.equal(cache.stats().entries, 2);
    assert.ok(cache.stats().bytes <= cache.stats().maxBytes);
    const none = new FileManifestCache(probe.bytes - 1);
    assert.ok(await none.files(t.deps.db, ids[0]));
    assert.equal(none.stats().entries, 0);
  });

  test("with a budget of 0 the detail is still right (nothing kept)", async () => {
    const uncachedApp = await buildApp({
      ...t.deps,
      config: { ...t.deps.config, detailCacheBytes: 0 },
      changes: new LocalChangeFeed(),
    });
    try {
      await uncachedApp.ready();
      await assertSameBytes("default", "large", "1.0.0", uncachedApp);
    } finally {
      await uncachedApp.close();
    }
  });
});
