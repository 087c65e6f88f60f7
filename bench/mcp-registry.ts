// The MCP registry API (/v0) on a registry where few versions carry an MCP server: 20,000
// versions (BENCH_VERSIONS), one in 20 with two servers. Publishes one capability with servers and
// one without on a fresh app (SQLite; PostgreSQL with CAPSTAN_TEST_DIALECT=postgres and
// CAPSTAN_TEST_DATABASE_URL, as the tests choose it, see scripts/app-database.ts), clones
// their version rows to reach the total, then times requests through app.inject (median of
// BENCH_ROUNDS) with the partial indexes of migration 0009, and again without them:
//
//   first     GET /v0/servers?limit=30
//   deep      the 20th page of 30, by cursor
//   latest    GET /v0/servers?version=latest
//   since     GET /v0/servers?updated_since=<after every publish> (a sync with nothing new)
//
//   npx tsx bench/mcp-registry.ts
import { sql } from "kysely";
import { buildTestApp, type TestApp } from "../scripts/app-harness.js";
import { publishOk } from "../scripts/capability-bundles.js";
import { newId } from "../src/lib/ids.js";

const VERSIONS = Number(process.env.BENCH_VERSIONS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const MCP_EVERY = 20;

async function seed(t: TestApp): Promise<void> {
  const mcp =
    'mcp:\n  servers:\n    a:\n      command: npx\n      args: ["-y", "a-server"]\n    b:\n      url: https://b.example.com/mcp';
  await publishOk(t, { name: "with-mcp", manifestExtra: mcp }, { query: "public=true" });
  await publishOk(t, { name: "without-mcp" }, { query: "public=true" });
  const rows = await t.deps.db.selectFrom("capability_versions").selectAll().orderBy("id").execute();
  const [withMcp, without] = rows;
  const batch = [];
  for (let i = 1; i < VERSIONS - 1; i += 1) {
    const source = i % MCP_EVERY === 0 ? withMcp : without;
    batch.push({ ...source, id: newId(), version: `1.1.${i}` });
    if (batch.length === 200)
      await t.deps.db.insertInto("capability_versions").values(batch.splice(0)).execute();
  }
  if (batch.length > 0) await t.deps.db.insertInto("capability_versions").values(batch).execute();
}

async function median(t: TestApp, url: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const start = process.hrtime.bigint();
    const res = await t.app.inject({ method: "GET", url });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

async function deepCursor(t: TestApp, pages: number): Promise<string> {
  let cursor = "";
  for (let i = 0; i < pages; i += 1) {
    const body = (await t.app.inject({ method: "GET", url: `/v0/servers?limit=30${cursor}` })).json();
    cursor = `&cursor=${encodeURIComponent(body.metadata.nextCursor)}`;
  }
  return cursor;
}

async function measure(t: TestApp, since: string): Promise<Record<string, number>> {
  return {
    first: await median(t, "/v0/servers?limit=30"),
    deep: await median(t, `/v0/servers?limit=30${await deepCursor(t, 19)}`),
    latest: await median(t, "/v0/servers?version=latest"),
    since: await median(t, `/v0/servers?updated_since=${encodeURIComponent(since)}`),
  };
}

const t = await buildTestApp();
try {
  await seed(t);
  const since = new Date(Date.now() + 1000).toISOString();
  await measure(t, since); // warm-up: JIT and caches, so the order of the two runs does not count
  const indexed = await measure(t, since);
  await sql`drop index capability_versions_mcp_id_idx`.execute(t.deps.db);
  await sql`drop index capability_versions_mcp_updated_idx`.execute(t.deps.db);
  const unindexed = await measure(t, since);
  const dialect = t.deps.dialect;
  console.log(
    `MCP registry: Node ${process.version}, ${dialect}, ${VERSIONS} versions, 1 in ${MCP_EVERY} with 2 MCP servers; median ms of ${ROUNDS}`,
  );
  for (const name of Object.keys(indexed)) {
    const ratio = unindexed[name] / indexed[name];
    console.log(
      `${name.padEnd(8)} indexed ${indexed[name].toFixed(2).padStart(8)}  without 0009 ${unindexed[name].toFixed(2).padStart(8)}  ×${ratio.toFixed(1)}`,
    );
  }
} finally {
  await t.close();
}
