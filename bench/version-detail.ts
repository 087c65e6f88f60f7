// The largest version detail a publish can produce: 10,000 files (the entry cap), 2,000 of them
// agents (the component cap), a ~1.5 MB answer. Publishes it and a small capability on a fresh app
// (SQLite; PostgreSQL when BENCH_DATABASE_URL is set), listens on a real socket, and drives
// concurrent GETs with autocannon from a child process (so the server's event-loop delay is the
// server's alone). For each case it prints throughput, latency and the server's
// event-loop delay (max and p99, sampled every 1 ms):
//
//   before  the detail built from the full row and serialized through the route schema on every
//           read (the code before the detail cache, mounted on a bench-only route)
//   after   GET CAP/{name}/{version}: the cached immutable part spliced with the fresh fields
//   cold    the first read of a version after start (fills the cache), alone
//   small   a small detail (a dozen files) through the same route, as a control
//
// Server CPU per request (this process's CPU time over the requests answered) is the figure that
// depends least on what else the machine runs; throughput and delays on a shared host vary a lot.
//
//   npx tsx bench/version-detail.ts            (BENCH_SECONDS=5 BENCH_CONNECTIONS=8 by default)
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { promisify } from "node:util";
import pg from "pg";
import pino from "pino";
import { buildTarGz, type TarEntry } from "../scripts/tar-builder.js";
import { type App, buildApp } from "../src/app.js";
import { createDeps } from "../src/composition.js";
import { loadConfig } from "../src/config.js";
import { ArtifactDetail, VersionParams } from "../src/contract/capabilities.js";
import { errorResponses } from "../src/contract/common.js";
import { migrateToLatest } from "../src/db/migrate.js";
import { generateApiKey } from "../src/lib/api-key-format.js";
import { scopeOf } from "../src/routes/route-app.js";
import { bootstrapIfEmpty } from "../src/services/bootstrap.js";
import type { ServiceDeps } from "../src/services/deps.js";
import { getVersionDetail } from "../src/services/registry-service.js";

const execFileAsync = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
/** BENCH_ONLY=after,small runs those cases only (for profiling one of them). */
const ONLY = (process.env.BENCH_ONLY ?? "").split(",").filter(Boolean);

function largestBundle(): Buffer {
  const entries: TarEntry[] = [
    {
      name: "capability.yaml",
      content: 'schema: 1\nname: largest\nversion: "1.0.0"\ndescription: Largest.\n',
    },
  ];
  for (let i = 0; i < 2_000; i++) {
    entries.push({
      name: `agents/agent-${i}.md`,
      content: `---\nname: agent-${i}\ndescription: Agent number ${i} of the largest capability.\nmodel: some-model\n---\nBody ${i}\n`,
    });
  }
  for (let i = 0; entries.length < 9_999; i++) {
    entries.push({ name: `docs/section-${Math.floor(i / 100)}/page-${i}.md`, content: `page ${i}\n` });
  }
  return buildTarGz(entries);
}

function smallBundle(): Buffer {
  const entries: TarEntry[] = [
    { name: "capability.yaml", content: 'schema: 1\nname: small\nversion: "1.0.0"\ndescription: Small.\n' },
  ];
  for (let i = 0; i < 12; i++) {
    entries.push({ name: `agents/agent-${i}.md`, content: `---\nname: agent-${i}\n---\nBody ${i}\n` });
  }
  return buildTarGz(entries);
}

/** autocannon in a child process, so the load does not run on the server's event loop or thread. */
const LOAD_SCRIPT = `
const autocannon = require(require.resolve("autocannon", { paths: [process.cwd()] }));
autocannon(JSON.parse(process.argv[1])).then((r) => {
  const failed = r.non2xx + r.errors + r.timeouts;
  process.stdout.write(JSON.stringify({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, failed }));
});
`;

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
}

async function load(url: string, headers: Record<string, string>, connections: number, seconds: number) {
  const options = JSON.stringify({ url, headers, connections, duration: seconds });
  const { stdout } = await execFileAsync(process.execPath, ["-e", LOAD_SCRIPT, options], {
    cwd: process.cwd(),
  });
  return JSON.parse(stdout) as LoadResult;
}

interface Figures {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  loopMax: number;
  loopP99: number;
  /** Server CPU (this process: the load runs in a child) per answered request. */
  cpuMsPerRequest: number;
  non2xx: number;
}

async function measure(label: string, url: string, headers: Record<string, string>): Promise<Figures> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpu = process.cpuUsage();
  const result = await load(url, headers, CONNECTIONS, SECONDS);
  const used = process.cpuUsage(cpu);
  loop.disable();
  return {
    label,
    rps: result.rps,
    p50: result.p50,
    p99: result.p99,
    loopMax: loop.max / 1e6,
    loopP99: loop.percentile(99) / 1e6,
    cpuMsPerRequest: (used.user + used.system) / 1000 / Math.max(1, result.rps * SECONDS),
    non2xx: result.failed,
  };
}

function print(figures: Figures): void {
  const cells = [
    figures.label.padEnd(8),
    `${figures.rps.toFixed(1).padStart(8)} req/s`,
    `cpu ${figures.cpuMsPerRequest.toFixed(2).padStart(6)} ms/req`,
    `latency p50 ${String(figures.p50).padStart(5)} ms  p99 ${String(figures.p99).padStart(5)} ms`,
    `loop delay max ${figures.loopMax.toFixed(1).padStart(6)} ms  p99 ${figures.loopP99.toFixed(1).padStart(6)} ms`,
  ];
  if (figures.non2xx > 0) cells.push(`(${figures.non2xx} not 2xx)`);
  console.log(`  ${cells.join("   ")}`);
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

interface BenchApp {
  app: App;
  deps: ServiceDeps;
  adminKey: string;
  close(): Promise<void>;
}

/**
 * The real app, migrated and bootstrapped with a known admin key, on a SQLite file in a temporary
 * data dir, or on a fresh database capstan_bench_<random> of BENCH_DATABASE_URL (dropped on close).
 */
async function startApp(options: { extraRoutes: (app: App) => void }): Promise<BenchApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "capstan-bench-"));
  const adminKey = generateApiKey().key;
  const serverUrl = process.env.BENCH_DATABASE_URL;
  const name = `capstan_bench_${randomBytes(6).toString("hex")}`;
  const withServer = async (statement: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  let databaseUrl = `sqlite:${path.join(dataDir, "capstan.db")}`;
  if (serverUrl) {
    await withServer(`create database ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
  }
  const config = loadConfig(
    {},
    {
      CAPSTAN_DATA_DIR: dataDir,
      CAPSTAN_DATABASE_URL: databaseUrl,
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
      CAPSTAN_RATE_LIMIT_RPM: "0",
    },
  );
  const { deps, close: closeDeps } = await createDeps(config, {
    logger: pino({ level: "silent" }),
    sharedChanges: false,
  });
  await migrateToLatest(deps.db);
  if (!(await bootstrapIfEmpty(deps))) throw new Error("the fresh database was not bootstrapped");
  const app = await buildApp(deps);
  options.extraRoutes(app);
  await app.ready();
  return {
    app,
    deps,
    adminKey,
    async close() {
      await app.close();
      await closeDeps();
      if (serverUrl) await withServer(`drop database if exists ${name} with (force)`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const t = await startApp({
    extraRoutes: (app) => {
      // The read as it was before the cache: the full row, parsed, shaped, serialized by the schema.
      app.get(
        "/bench/uncached/:org/:name/:version",
        { schema: { params: VersionParams, response: { 200: ArtifactDetail, ...errorResponses } } },
        async (request) => {
          const { org, name, version } = request.params;
          return getVersionDetail(app.deps, scopeOf(request), org, name, version);
        },
      );
    },
  });
  try {
    for (const bundle of [largestBundle(), smallBundle()]) {
      const published = await t.app.inject({
        method: "POST",
        url: "/api/v1/org/default/capabilities",
        headers: { ...bearer(t.adminKey), "content-type": "application/gzip" },
        payload: bundle,
      });
      if (published.statusCode !== 201) throw new Error(`publish answered ${published.statusCode}`);
    }
    const base = await t.app.listen({ host: "127.0.0.1", port: 0 });
    const headers = bearer(t.adminKey);
    const detailUrl = `${base}/api/v1/org/default/capabilities/largest/1.0.0`;

    const coldLoop = monitorEventLoopDelay({ resolution: 1 });
    coldLoop.enable();
    const coldStarted = performance.now();
    const cold = await fetch(detailUrl, { headers });
    const coldBytes = (await cold.arrayBuffer()).byteLength;
    const coldMs = performance.now() - coldStarted;
    coldLoop.disable();
    const before = await (await fetch(`${base}/bench/uncached/default/largest/1.0.0`, { headers })).text();
    if (
      JSON.stringify(JSON.parse(before)) !==
      JSON.stringify(JSON.parse(await (await fetch(detailUrl, { headers })).text()))
    )
      throw new Error("the cached detail differs from the uncached one");

    const database = t.deps.dialect === "postgres" ? "PostgreSQL" : "SQLite";
    console.log(
      `version detail: Node ${process.version}, ${database}, ${(coldBytes / 1024).toFixed(0)} KiB ` +
        `(10,000 files, 2,000 components), ${CONNECTIONS} connections × ${SECONDS} s per case`,
    );
    console.log(
      `  cold     first read ${coldMs.toFixed(1)} ms, loop delay max ${(coldLoop.max / 1e6).toFixed(1)} ms while it filled the cache`,
    );
    const cases: [string, string][] = [
      ["before", `${base}/bench/uncached/default/largest/1.0.0`],
      ["after", detailUrl],
      ["small", `${base}/api/v1/org/default/capabilities/small/1.0.0`],
      ["small<", `${base}/bench/uncached/default/small/1.0.0`],
    ];
    const rows: Figures[] = [];
    for (const [label, url] of cases) {
      if (ONLY.length > 0 && !ONLY.includes(label)) continue;
      rows.push(await measure(label, url, headers));
      print(rows[rows.length - 1]);
    }
    const [b, a] = rows;
    if (rows.length === cases.length)
      console.log(
        `  after/before: throughput ×${(a.rps / b.rps).toFixed(1)}, server cpu per request ×${(a.cpuMsPerRequest / b.cpuMsPerRequest).toFixed(2)}, ` +
          `loop delay max ×${(a.loopMax / b.loopMax).toFixed(2)}, p99 latency ×${(a.p99 / b.p99).toFixed(2)}`,
      );
    console.log("  (small< is the small detail through the uncached path)");
  } finally {
    await t.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
