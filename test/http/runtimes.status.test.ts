// SPEC §12 status: PUT RT/status (runtime token or contributor), the runtime's `sync` member, and
// the `in_sync` / `stale` filters of GET WS/runtimes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { seedCapability } from "../../scripts/seed.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import {
  bind,
  mintRuntimeToken,
  newRuntime,
  patchBinding,
  readResolved,
  runtimeUrl,
} from "../helpers/bindings.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const RUNTIMES = "/api/v1/org/default/ws/main/runtimes";
const AGENT = { name: "capstan-cli", version: "0.1.0" };

interface Sync {
  last_seen_at: string | null;
  applied_digest: string | null;
  in_sync: boolean;
  checks_failed: number;
}

describe("PUT RT/status and the runtime's sync", () => {
  let t: TestApp;
  let a: string;
  let b: string;
  let tokenA: string;
  let bindingA: string;

  const statusUrl = (id: string) => `${runtimeUrl(id)}/status`;
  const report = (key: string, id: string, body: Record<string, unknown>) =>
    callApi(t, "PUT", statusUrl(id), key, body);
  const syncOf = async (id: string): Promise<Sync> => {
    const res = await callApi(t, "GET", runtimeUrl(id), t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    return res.json().sync;
  };
  const listed = async (query: string): Promise<{ keys: string[]; next: string | null }> => {
    const res = await callApi(t, "GET", `${RUNTIMES}?${query}`, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    return { keys: body.items.map((r: { key: string }) => r.key), next: body.next_cursor };
  };

  before(async () => {
    t = await buildTestApp();
    await seedCapability(t.deps, { name: "alpha", versions: [{ version: "1.0.0", flags: { verbose: {} } }] });
    a = await newRuntime(t, "status-a");
    b = await newRuntime(t, "status-b");
    bindingA = (await bind(t, a, { name: "alpha" })).id;
    await bind(t, b, { name: "alpha" });
    tokenA = await mintRuntimeToken(t, a);
  });
  after(() => t.close());

  test("a runtime that never reported is not in sync and has no last_seen_at", async () => {
    assert.deepEqual(await syncOf(a), {
      last_seen_at: null,
      applied_digest: null,
      in_sync: false,
      checks_failed: 0,
    });
  });

  test("its runtime token reports; the runtime then shows the report, in sync with its resolved set", async () => {
    const digest = (await readResolved(t, a)).runtime_digest;
    const res = await report(tokenA, a, {
      applied_digest: digest,
      agent: AGENT,
      host: "worker-1",
      checks: [
        { capability: "alpha", name: "ping", ok: true, duration_ms: 12 },
        { capability: "alpha", name: "lint", ok: false, duration_ms: 40, output: "2 problems" },
      ],
      errors: [],
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.sync.in_sync, true);
    assert.equal(body.sync.checks_failed, 1);
    assert.equal(body.host, "worker-1");
    assert.equal(body.checks[1].output, "2 problems");
    const sync = await syncOf(a);
    assert.equal(sync.applied_digest, digest);
    assert.equal(sync.in_sync, true);
    assert.equal(sync.checks_failed, 1);
    assert.match(sync.last_seen_at ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test("a binding change puts the runtime out of sync until it reports the new digest", async () => {
    await patchBinding(t, a, bindingA, { flags: { verbose: true } });
    assert.equal((await syncOf(a)).in_sync, false);
    const digest = (await readResolved(t, a)).runtime_digest;
    const res = await report(tokenA, a, { applied_digest: digest, agent: AGENT });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(
      { ...(await syncOf(a)), last_seen_at: null },
      { last_seen_at: null, applied_digest: digest, in_sync: true, checks_failed: 0 },
    );
  });

  test("a failed first apply reports a null digest with its errors", async () => {
    const c = await newRuntime(t, "status-c");
    const res = await report(t.adminKey, c, {
      applied_digest: null,
      agent: AGENT,
      errors: ["download failed"],
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().errors, ["download failed"]);
    const sync = await syncOf(c);
    assert.equal(sync.in_sync, false);
    assert.notEqual(sync.last_seen_at, null);
  });

  test("the runtime token of A cannot report for B (403), and nothing of B changes", async () => {
    const res = await report(tokenA, b, { applied_digest: null, agent: AGENT });
    expectError(res, 403, "forbidden_error");
    assert.equal((await syncOf(b)).last_seen_at, null);
  });

  test("a runtime token still cannot make any other change", async () => {
    const res = await callApi(t, "PATCH", runtimeUrl(a), tokenA, { name: "Hijacked" });
    expectError(res, 403, "forbidden_error");
  });

  test("contributors report; readers and read-only keys get 403; non-members 404; no key 401", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    const stranger = await newStranger(t);
    const body = { applied_digest: null, agent: AGENT };
    assert.equal((await report(contributor.key, b, body)).statusCode, 200);
    expectError(await report(reader.key, b, body), 403, "forbidden_error");
    expectError(await report(readOnly.key, b, body), 403, "forbidden_error");
    expectError(await report(stranger.key, b, body), 404, "not_found_error");
    await expectUnauthenticated(t, "PUT", statusUrl(b), body);
    // A runtime of another workspace path: not found.
    const elsewhere = await callApi(
      t,
      "PUT",
      `/api/v1/org/default/ws/nowhere/runtimes/${b}/status`,
      t.adminKey,
      body,
    );
    expectError(elsewhere, 404, "not_found_error");
  });

  test("rejects malformed reports with 422 and stores nothing", async () => {
    const c = await newRuntime(t, "status-invalid");
    const cases: [Record<string, unknown>, (string | number)[]][] = [
      [{ applied_digest: "sha256:xyz", agent: AGENT }, ["body", "applied_digest"]],
      [{ applied_digest: null }, ["body", "agent"]],
      [{ applied_digest: null, agent: { name: "x", version: "1", extra: 1 } }, ["body", "agent", "extra"]],
      [{ applied_digest: null, agent: AGENT, unknown: true }, ["body", "unknown"]],
      [
        {
          applied_digest: null,
          agent: AGENT,
          checks: [{ capability: "alpha", name: "x", ok: "yes", duration_ms: 1 }],
        },
        ["body", "checks", 0, "ok"],
      ],
      [
        {
          applied_digest: null,
          agent: AGENT,
          checks: [{ capability: "alpha", name: "x", ok: true, duration_ms: 1, output: "x".repeat(4097) }],
        },
        ["body", "checks", 0, "output"],
      ],
      // 1,500 characters, 4,500 bytes: the limit is in bytes.
      [
        {
          applied_digest: null,
          agent: AGENT,
          checks: [{ capability: "alpha", name: "x", ok: true, duration_ms: 1, output: "€".repeat(1500) }],
        },
        ["body", "checks", 0, "output"],
      ],
      [
        {
          applied_digest: null,
          agent: AGENT,
          checks: Array.from({ length: 201 }, (_, i) => ({
            capability: "alpha",
            name: `c${i}`,
            ok: true,
            duration_ms: 1,
          })),
        },
        ["body", "checks"],
      ],
      [
        { applied_digest: null, agent: AGENT, errors: Array.from({ length: 51 }, () => "e") },
        ["body", "errors"],
      ],
    ];
    for (const [body, loc] of cases) {
      const res = await report(t.adminKey, c, body);
      expectError(res, 422, "validation_error", loc);
    }
    assert.equal((await syncOf(c)).last_seen_at, null);
  });

  test("GET WS/runtimes filters in_sync and stale", async () => {
    // a: in sync, seen now; b: reported (by the contributor) but never applied; others never reported.
    const outOfSync = await listed("in_sync=false&limit=100");
    assert.ok(!outOfSync.keys.includes("status-a"));
    assert.ok(outOfSync.keys.includes("status-b"));
    assert.ok(outOfSync.keys.includes("default"));
    assert.deepEqual((await listed("in_sync=true")).keys, ["status-a"]);

    const fresh = await listed("stale=false&limit=100");
    assert.ok(fresh.keys.includes("status-a") && fresh.keys.includes("status-b"));
    assert.ok(!fresh.keys.includes("default"));
    assert.ok((await listed("stale=true&limit=100")).keys.includes("default"));

    t.advanceClock(6 * 60_000);
    assert.deepEqual((await listed("stale=false")).keys, []);
    const stale = await listed("stale=true&limit=100");
    assert.ok(stale.keys.includes("status-a") && stale.keys.includes("default"));
    // Both filters at once.
    assert.deepEqual((await listed("stale=true&in_sync=true")).keys, ["status-a"]);
    expectError(await callApi(t, "GET", `${RUNTIMES}?in_sync=maybe`, t.adminKey), 422, "validation_error");
  });

  test("pages through in_sync=false with the cursor, every runtime once", async () => {
    const all = await listed("in_sync=false&limit=100");
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { keys: string[]; next: string | null } = await listed(
        `in_sync=false&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      assert.ok(page.keys.length <= 2);
      seen.push(...page.keys);
      cursor = page.next;
    } while (cursor !== null);
    assert.deepEqual(seen, all.keys);
  });
});
