// Publish latency with auto-update bindings tracking the capability (SPEC §13): a publish re-points
// every auto-update binding on "latest" in its own transaction, so its cost grows with the number of
// bindings that track the capability (and only with those: an index finds them). Seeds N runtimes
// each binding the capability with auto_update, then publishes new versions through the app (in
// process, app.inject) and prints the median publish time per N. Target: linear in N, ≤ 1 s at
// 10,000 on SQLite.
//
//   npm run bench:publish                      (runs bench/publish.ts, then this)
//   tsx bench/publish-tracking.ts
//   CAPSTAN_DATABASE_URL=postgres://…/<empty database> tsx bench/publish-tracking.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { buildApp } from "../src/app.js";
import { packBundle } from "../src/cli/bundle-pack.js";
import { createDeps } from "../src/composition.js";
import { loadConfig } from "../src/config.js";
import { migrateToLatest } from "../src/db/migrate.js";
import type { NewRow } from "../src/db/schema.js";
import { generateApiKey } from "../src/lib/api-key-format.js";
import { newId } from "../src/lib/ids.js";
import { bootstrapIfEmpty } from "../src/services/bootstrap.js";

const SIZES = [0, 100, 1_000, 10_000];
const PUBLISHES_PER_SIZE = 3;
const INSERT_CHUNK = 500;

async function bundle(name: string, version: string): Promise<Buffer> {
  const files = new Map<string, Buffer>([
    ["capability.yaml", Buffer.from(`schema: 1\nname: ${name}\nversion: "${version}"\ndescription: Bench\n`)],
    ["agents/bench.md", Buffer.from(`# Bench agent ${version}\n`)],
  ]);
  return (await packBundle(files)).archive;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  console.log(`publish with auto-update bindings — node ${process.version}`);
  const dataDir = mkdtempSync(path.join(tmpdir(), "capstan-bench-tracking-"));
  const adminKey = generateApiKey().key;
  const config = loadConfig(
    {},
    {
      CAPSTAN_DATA_DIR: dataDir,
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
      CAPSTAN_RATE_LIMIT_RPM: "0",
      ...(process.env.CAPSTAN_DATABASE_URL ? { CAPSTAN_DATABASE_URL: process.env.CAPSTAN_DATABASE_URL } : {}),
    },
  );
  const { deps, close } = await createDeps(config, {
    logger: pino({ level: "silent" }),
    sharedChanges: false,
  });
  await migrateToLatest(deps.db);
  const boot = await bootstrapIfEmpty(deps);
  if (!boot) throw new Error("the bench needs an empty database");
  const app = await buildApp(deps, { consoleDir: null });
  await app.ready();
  const runtime = await deps.db
    .selectFrom("runtimes")
    .select(["org_id", "workspace_id", "project_id"])
    .where("id", "=", boot.runtimeId)
    .executeTakeFirstOrThrow();

  const publish = async (name: string, version: string): Promise<number> => {
    const payload = await bundle(name, version);
    const started = performance.now();
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/org/default/capabilities",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/gzip" },
      payload,
    });
    const elapsed = performance.now() - started;
    if (res.statusCode !== 201) throw new Error(`publish answered ${res.statusCode}: ${res.body}`);
    return elapsed;
  };

  const rows: { size: number; median: number; moved: number }[] = [];
  try {
    for (const size of SIZES) {
      const name = `tracked-${size}`;
      await publish(name, "1.0.0");
      const capability = await deps.db
        .selectFrom("capabilities")
        .select(["id", "latest_version_id"])
        .where("name", "=", name)
        .executeTakeFirstOrThrow();
      const at = new Date().toISOString();
      // Runtimes and bindings are seeded directly: creating 10,000 through HTTP would only time the seeding.
      for (let start = 0; start < size; start += INSERT_CHUNK) {
        const count = Math.min(INSERT_CHUNK, size - start);
        const runtimes = Array.from({ length: count }, (_, i) => ({
          id: newId(),
          ...runtime,
          key: `${name}-${start + i}`,
          name: `Bench ${start + i}`,
          description: null,
          status: "idle",
          config: '{"version":"v2"}',
          created_at: at,
          updated_at: at,
        }));
        await deps.db.insertInto("runtimes").values(runtimes).execute();
        const bindings = runtimes.map(
          (r): NewRow<"bindings"> => ({
            id: newId(),
            org_id: r.org_id,
            runtime_id: r.id,
            capability_id: capability.id,
            version_id: capability.latest_version_id as string,
            enabled: 1,
            flags: "{}",
            revision: 1,
            track: "latest",
            auto_update: 1,
            created_at: at,
            updated_at: at,
          }),
        );
        await deps.db.insertInto("bindings").values(bindings).execute();
      }
      const times: number[] = [];
      for (let i = 1; i <= PUBLISHES_PER_SIZE; i++) times.push(await publish(name, `1.${i}.0`));
      const moved = await deps.db
        .selectFrom("bindings")
        .innerJoin("capability_versions", "capability_versions.id", "bindings.version_id")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("bindings.capability_id", "=", capability.id)
        .where("capability_versions.version", "=", `1.${PUBLISHES_PER_SIZE}.0`)
        .executeTakeFirstOrThrow();
      rows.push({ size, median: median(times), moved: Number(moved.n) });
      console.log(
        `${String(size).padStart(6)} auto-update bindings: median publish ${median(times).toFixed(1)} ms ` +
          `(runs: ${times.map((t) => t.toFixed(0)).join(", ")} ms; ${Number(moved.n)} bindings on the new version)`,
      );
    }
    const base = rows[0].median;
    const per = rows
      .filter((r) => r.size > 0)
      .map((r) => `${r.size}: ${((r.median - base) / r.size).toFixed(3)}`);
    console.log(`added ms per binding over the ${base.toFixed(1)} ms baseline — ${per.join(", ")}`);
  } finally {
    await app.close();
    await close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
