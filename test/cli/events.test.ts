// `capstan events` and `capstan audit verify` (SPEC §15, §16) against the real app on a port. The
// server ends every stream after a short while here, so `--follow` must resume with
// Last-Event-ID again and again, printing each event exactly once.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi } from "../helpers/api.js";
import { newRuntime, runtimeUrl } from "../helpers/bindings.js";
import type { TestApp } from "../helpers/test-app.js";
import { type CliRun, type FakeIoOptions, runCli } from "./helpers/cli-harness.js";
import { type LiveApp, startLiveApp } from "./helpers/live-app.js";

describe("capstan events and capstan audit verify", () => {
  let live: LiveApp;
  let t: TestApp;
  let runtimeId: string;

  const cli = (argv: string[], options: FakeIoOptions = {}): Promise<CliRun> =>
    runCli(argv, { cwd: live.scratch, ...options, env: { ...live.env, ...options.env } });
  const rename = async (n: number) => {
    const res = await callApi(t, "PATCH", runtimeUrl(runtimeId), t.adminKey, { name: `Followed ${n}` });
    assert.equal(res.statusCode, 200, res.body);
  };

  before(async () => {
    live = await startLiveApp(
      {},
      { serviceOptions: { eventStreams: { maxDurationMs: 150, heartbeatMs: 50 } } },
    );
    t = live.t;
    runtimeId = await newRuntime(t, "followed");
  });
  after(() => live.close());

  test("lists events by seq, filtered by type", async () => {
    const all = await cli(["events", "--json"]);
    assert.equal(all.code, 0, all.stderr);
    const { items } = JSON.parse(all.stdout) as { items: { seq: number; type: string }[] };
    assert.deepEqual(
      items.map((event) => event.seq),
      items.map((_, index) => index + 1),
    );
    const runtimes = JSON.parse((await cli(["events", "--types", "runtime.*", "--json"])).stdout).items;
    assert.ok(runtimes.length > 0);
    assert.ok(runtimes.every((event: { type: string }) => event.type.startsWith("runtime.")));
    const table = await cli(["events", "--types", "runtime.created"]);
    assert.match(table.stdout, /SEQ\s+TIME\s+TYPE/);
    assert.match(table.stdout, /runtime\.created\s+runtime Runtime followed\s+main/);
    const bad = await cli(["events", "--types", "NOT A TYPE"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /types/);
  });

  test("--follow prints each new event once across the server's reconnects", async () => {
    const head = JSON.parse((await cli(["events", "--json", "--limit", "1000"])).stdout).next_after as number;
    const count = 12;
    let made = 0;
    const writer = (async () => {
      while (made < count) {
        await rename(made);
        made += 1;
        // Spread the changes over several of the server's short-lived streams.
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();
    const run = await cli([
      "events",
      "--follow",
      "--json",
      "--after",
      String(head),
      "--limit",
      String(count),
    ]);
    await writer;
    assert.equal(run.code, 0, run.stderr);
    const seqs = run.stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { seq: number }).seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: count }, (_, i) => head + i + 1),
    );
  });

  test("audit verify: intact, then broken at exactly the edited record (exit 1)", async () => {
    const ok = await cli(["audit", "verify"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /The audit chain of default is intact: \d+ records/);
    const org = (await callApi(t, "GET", "/api/v1/org/default", t.adminKey)).json();
    const target = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("org_id", "=", org.id)
      .where("chain_seq", "=", 3)
      .executeTakeFirstOrThrow();
    await t.deps.db
      .updateTable("audit_events")
      .set({ action: "nothing.happened" })
      .where("id", "=", target.id)
      .execute();
    const broken = await cli(["audit", "verify"]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, new RegExp(`broken at position 3 \\(record ${target.id}\\)`));
    const json = await cli(["audit", "verify", "--json"]);
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout).broken, {
      id: target.id,
      chain_seq: 3,
      reason: "hash_mismatch",
    });
    await t.deps.db
      .updateTable("audit_events")
      .set({ action: target.action })
      .where("id", "=", target.id)
      .execute();
    assert.equal((await cli(["audit", "verify"])).code, 0);
  });
});
