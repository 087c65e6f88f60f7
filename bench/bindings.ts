// The hot path, measured: GET RT/capabilities (the binding list) and GET RT/capabilities/resolved
// with If-None-Match (the 304 a polling runtime gets), against a bare node:http server that
// answers the same bytes. Both servers run in child processes and are driven alternately
// (A B A B …), so neither shares its event loop with the load. The children (bench/servers.ts) are
// compiled with the app first and run by plain `node`, as `npm start` runs the server.
//
// The load comes from wrk (`wrk -t1 -c50 --latency`) when it is on PATH, in a process of its own;
// otherwise from autocannon inside this process. With wrk, taskset on PATH and at least 2 CPUs, both
// server children are pinned to CPU 0 and wrk to CPU 1, so the server measured and the load generator
// never share a core. The header line tells which load generator ran and whether pinning was on.
// wrk counts 2xx and 3xx alike as success, so every run is also checked against the status counts the
// server child reports over IPC: a list run must have answered only 2xx, a 304 run only 304.
//
//   npm run bench:bindings            (BENCH_SECONDS=3 for a quick run)
//   BENCH_LOAD=autocannon npm run bench:bindings     (autocannon even when wrk is installed; no pinning)
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:bindings
//
// By default each seeded shape is a SQLite file in a temporary data dir. With BENCH_DATABASE_URL
// set to a PostgreSQL server (a role allowed to create databases), each shape gets a fresh database
// capstan_bench_<random> there instead, migrated, bootstrapped and seeded through Kysely, and
// dropped at the end, also when the run fails; blobs stay in the temporary dir.
//
// Targets: list ≥ 0.5× bare throughput with p99 ≤ 10 ms; 304 path ≥ 0.7× bare.
import { type ChildProcess, execFile, execFileSync, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import autocannon from "autocannon";
import type SqliteDatabase from "better-sqlite3";
import { sql } from "kysely";
import pg from "pg";
import pino from "pino";
import { capabilityRow, versionRow } from "../scripts/seed.js";
import { createDeps, type DepsHandle } from "../src/composition.js";
import { loadConfig } from "../src/config.js";
import { connectDatabase } from "../src/db/connect.js";
import { migrateToLatest } from "../src/db/migrate.js";
import { RELEASED_STATUSES } from "../src/db/repositories/capability-repository.js";
import type { NewRow, Row } from "../src/db/schema.js";
import { openSqlite } from "../src/db/sqlite-addon.js";
import { generateApiKey } from "../src/lib/api-key-format.js";
import { newId } from "../src/lib/ids.js";
import { latestOf } from "../src/services/artifact-views.js";
import { bootstrapIfEmpty } from "../src/services/bootstrap.js";
import type { Message, RecordedResponse } from "./servers.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = 3;
const CONNECTIONS = 50;
const CAPABILITIES = 2_000;
const VERSIONS_PER_CAPABILITY = 10;
const BINDINGS_PER_RUNTIME = 20;
const COLD_READS = 2_000;
/** A PostgreSQL server URL: each seeded shape then gets a database of its own on it, dropped at the end. */
const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL || undefined;
if (BENCH_DATABASE_URL && !/^postgres(ql)?:\/\//.test(BENCH_DATABASE_URL)) {
  throw new Error("BENCH_DATABASE_URL must be a postgres:// URL");
}
/** The load generator: BENCH_LOAD=wrk or =autocannon forces one; by default wrk when it is on PATH. */
const BENCH_LOAD = process.env.BENCH_LOAD || undefined;
if (BENCH_LOAD !== undefined && BENCH_LOAD !== "wrk" && BENCH_LOAD !== "autocannon") {
  throw new Error("BENCH_LOAD must be wrk or autocannon");
}
const LOAD = (BENCH_LOAD ?? (onPath("wrk") ? "wrk" : "autocannon")) as "wrk" | "autocannon";
if (LOAD === "wrk" && !onPath("wrk")) throw new Error("BENCH_LOAD=wrk but wrk is not on PATH");
/** Servers on CPU 0, wrk on CPU 1. Never with autocannon, which runs in this unpinned process. */
const PIN = LOAD === "wrk" && onPath("taskset") && availableParallelism() >= 2;
const SERVER_CPU = "0";
const LOAD_CPU = "1";

function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

interface DatabaseShape {
  runtimes: number;
}

interface Seeded extends Target {
  adminKey: string;
  runtimeId: string;
}

// ---- seeding -----------------------------------------------------------------------------------

/** Where a seeded shape lives: its data dir (SQLite file or fs blobs) and, on PostgreSQL, its database. */
interface Target {
  dataDir: string;
  /** CAPSTAN_DATABASE_URL for the server; undefined means the SQLite file in the data dir. */
  databaseUrl?: string;
  drop(): Promise<void>;
}

/** A fresh data dir and, on PostgreSQL, a fresh database dropped with it, so runs never share rows. */
async function createTarget(): Promise<Target> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "capstan-bench-"));
  const removeDir = async () => rmSync(dataDir, { recursive: true, force: true });
  if (!BENCH_DATABASE_URL) return { dataDir, drop: removeDir };
  const name = `capstan_bench_${randomBytes(6).toString("hex")}`;
  try {
    await withAdmin((client) => client.query(`create database ${name}`));
  } catch (error) {
    await removeDir();
    throw error;
  }
  const url = new URL(BENCH_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    dataDir,
    databaseUrl: url.toString(),
    drop: async () => {
      // with (force): a server child that outlived a failure must not keep the database alive.
      await withAdmin((client) => client.query(`drop database if exists ${name} with (force)`));
      await removeDir();
    },
  };
}

async function withAdmin(work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

function silentDeps(target: Target, adminKey: string): Promise<DepsHandle> {
  const config = loadConfig(
    {},
    {
      CAPSTAN_DATA_DIR: target.dataDir,
      CAPSTAN_DATABASE_URL: target.databaseUrl,
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
    },
  );
  return createDeps(config, { logger: pino({ level: "silent" }), sharedChanges: false });
}

/** A fresh database: migrations, bootstrap, then the registry and bindings by bulk insert. */
async function seedDatabase(shape: DatabaseShape): Promise<Seeded> {
  const target = await createTarget();
  try {
    const adminKey = generateApiKey().key;
    const { runtimeId, runtime } = await migrateAndBootstrap(target, adminKey);
    const started = performance.now();
    const rows = buildRows(runtime, runtimeId, shape);
    if (target.databaseUrl) await insertPostgres(target.databaseUrl, rows);
    else insertSqlite(path.join(target.dataDir, "capstan.db"), rows);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `seeded ${rows.capabilities.length} capabilities, ${rows.versions.length} versions, ` +
        `${rows.runtimes.length + 1} runtimes, ${rows.bindings.length} bindings in ${seconds} s`,
    );
    return { ...target, adminKey, runtimeId };
  } catch (error) {
    await target.drop();
    throw error;
  }
}

/** The schema and the bootstrap org, workspace, project and runtime, as a first boot creates them. */
async function migrateAndBootstrap(target: Target, adminKey: string) {
  const { deps, close } = await silentDeps(target, adminKey);
  try {
    await migrateToLatest(deps.db);
    const boot = await bootstrapIfEmpty(deps);
    if (!boot) throw new Error("bench database was not empty");
    const runtime = await deps.db
      .selectFrom("runtimes")
      .select(["org_id", "workspace_id", "project_id"])
      .where("id", "=", boot.runtimeId)
      .executeTakeFirstOrThrow();
    return { runtimeId: boot.runtimeId, runtime };
  } finally {
    await close();
  }
}

interface SeedRows {
  capabilities: Row<"capabilities">[];
  versions: Row<"capability_versions">[];
  /** The runtimes besides the bootstrap one, which already exists. */
  runtimes: Row<"runtimes">[];
  bindings: NewRow<"bindings">[];
}

function buildRows(
  runtime: Pick<Row<"runtimes">, "org_id" | "workspace_id" | "project_id">,
  bootstrapRuntimeId: string,
  shape: DatabaseShape,
): SeedRows {
  const at = new Date().toISOString();
  const versionsByCapability: Row<"capability_versions">[][] = [];
  const capabilities = Array.from({ length: CAPABILITIES }, (_, i) => {
    const capability = capabilityRow(runtime.org_id, `capability-${String(i).padStart(4, "0")}`, false, at);
    const versions = Array.from({ length: VERSIONS_PER_CAPABILITY }, (_, minor) =>
      versionRow(
        capability,
        { version: `1.${minor}.0`, flags: { readonly: { default: true }, verbose: {}, proxy: {} } },
        at,
      ),
    );
    const latest = latestOf(versions.filter((version) => RELEASED_STATUSES.includes(version.status)));
    capability.latest_version_id = latest?.id ?? null;
    capability.latest_version = latest?.version ?? null;
    versionsByCapability.push(versions);
    return capability;
  });
  const runtimeIds = [bootstrapRuntimeId];
  const runtimes = Array.from({ length: shape.runtimes - 1 }, (_, i): Row<"runtimes"> => {
    const id = newId();
    runtimeIds.push(id);
    return {
      id,
      ...runtime,
      key: `bench-${i}`,
      name: `Bench ${i}`,
      description: null,
      status: "idle",
      config: '{"version":"v2"}',
      created_at: at,
      updated_at: at,
    };
  });
  const bindings = runtimeIds.flatMap((runtimeId, r) =>
    Array.from({ length: BINDINGS_PER_RUNTIME }, (_, j): NewRow<"bindings"> => {
      // 101·j stays below 2,000 for j < 20, so a runtime never binds one capability twice.
      const c = (r * 7 + j * 101) % CAPABILITIES;
      const version = versionsByCapability[c][(r + j) % VERSIONS_PER_CAPABILITY];
      return {
        id: newId(),
        org_id: runtime.org_id,
        runtime_id: runtimeId,
        capability_id: capabilities[c].id,
        version_id: version.id,
        enabled: j % 5 === 4 ? 0 : 1,
        flags: j % 2 === 0 ? '{"verbose":true}' : "{}",
        secrets: "{}",
        revision: 1,
        created_at: at,
        updated_at: at,
      };
    }),
  );
  return { capabilities, versions: versionsByCapability.flat(), runtimes, bindings };
}

/** `insert into <table> (<columns of row>) values (@<columns>)`, prepared once. */
function insertStatement(sqlite: SqliteDatabase.Database, table: string, sample: object) {
  const columns = Object.keys(sample);
  return sqlite.prepare(
    `insert into ${table} (${columns.join(", ")}) values (${columns.map((c) => `@${c}`).join(", ")})`,
  );
}

/** SQLite: prepared statements on a connection of their own, several times faster than Kysely here. */
function insertSqlite(file: string, rows: SeedRows): void {
  const sqlite = openSqlite(file);
  sqlite.pragma("journal_mode = WAL");
  const insertCapability = insertStatement(sqlite, "capabilities", rows.capabilities[0]);
  const insertVersion = insertStatement(sqlite, "capability_versions", rows.versions[0]);
  const insertRuntime = insertStatement(sqlite, "runtimes", rows.runtimes[0]);
  const insertBinding = insertStatement(sqlite, "bindings", rows.bindings[0]);
  sqlite.transaction(() => {
    for (const row of rows.capabilities) insertCapability.run(row);
    for (const row of rows.versions) insertVersion.run(row);
    for (const row of rows.runtimes) insertRuntime.run(row);
    for (const row of rows.bindings) insertBinding.run(row);
  })();
  sqlite.close();
}

/**
 * PostgreSQL: multi-row inserts in one transaction. Batches keep each statement well under the
 * 65,535 bind parameters a statement may carry (a version row has 24 columns) while saving most of
 * the round trips.
 */
async function insertPostgres(databaseUrl: string, rows: SeedRows): Promise<void> {
  const database = connectDatabase({ dialect: "postgres", url: databaseUrl });
  try {
    await database.db.transaction().execute(async (trx) => {
      for (const batch of batches(rows.capabilities))
        await trx.insertInto("capabilities").values(batch).execute();
      for (const batch of batches(rows.versions))
        await trx.insertInto("capability_versions").values(batch).execute();
      for (const batch of batches(rows.runtimes)) await trx.insertInto("runtimes").values(batch).execute();
      for (const batch of batches(rows.bindings)) await trx.insertInto("bindings").values(batch).execute();
    });
    // Planner statistics, as autovacuum gathers them soon after a bulk load. Without them the
    // binding query was planned for ~500 rows instead of 20: 2.4 ms instead of 0.9 ms on a miss.
    await sql`analyze`.execute(database.db);
  } finally {
    await database.close();
  }
}

function* batches<T>(rows: T[], size = 500): Generator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

// ---- child processes -----------------------------------------------------------------------------

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The server children, compiled from bench/servers.ts with the app into dist/. */
const SERVERS = path.join(ROOT, "dist", "bench", "servers.js");

/** Compiles the app and the server children as `npm start` compiles the app (incrementally). */
function buildServers(): void {
  const started = performance.now();
  execFileSync(
    path.join(ROOT, "node_modules", ".bin", "tsc"),
    ["-p", path.join(ROOT, "tsconfig.bench.json")],
    {
      stdio: "inherit",
    },
  );
  console.log(`built the servers in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** The arguments of a Capstan child serving `seeded` (see bench/servers.ts). */
function capstanArgs(seeded: Seeded): string[] {
  return ["--capstan", seeded.dataDir, ...(seeded.databaseUrl ? [seeded.databaseUrl] : [])];
}

function spawn(args: string[]): Promise<Server> {
  const child = fork(SERVERS, args, {
    // Plain node: none of the loader flags this process runs with.
    execArgv: [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`child exited with ${code}`)));
    child.on("message", (message: Message) => {
      if (message.type !== "listening") return;
      // Every thread the child has by now (-a); threads it starts later inherit the main thread's CPU.
      if (PIN)
        execFileSync("taskset", ["-a", "-p", "-c", SERVER_CPU, String(child.pid)], { stdio: "ignore" });
      resolve({ child, url: message.url });
    });
  });
}

function request<T extends Message>(child: ChildProcess, message: Message, reply: T["type"]): Promise<T> {
  return new Promise((resolve) => {
    const listener = (answer: Message) => {
      if (answer.type !== reply) return;
      child.off("message", listener);
      resolve(answer as T);
    };
    child.on("message", listener);
    child.send(message);
  });
}

function stop(child: ChildProcess): void {
  child.removeAllListeners("exit");
  child.kill();
}

// ---- measuring -----------------------------------------------------------------------------------

interface Server {
  child: ChildProcess;
  url: string;
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU time (user + system) per request. */
  cpuMicros: number;
}

/** What a run expects the server to answer: any 2xx (the list), or exactly 304. */
type Expect = "2xx" | "304";

/** What the load generator saw; latencies in ms. */
interface Load {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
}

function stats(server: Server) {
  return request<Extract<Message, { type: "stats-result" }>>(server.child, { type: "stats" }, "stats-result");
}

async function drive(
  server: Server,
  path: string,
  headers: Record<string, string>,
  expect: Expect,
  seconds = SECONDS,
): Promise<Run> {
  const url = `${server.url}${path}`;
  const before = await stats(server);
  const load =
    LOAD === "wrk" ? await wrk(url, headers, seconds) : await autocannonLoad(url, headers, expect, seconds);
  const after = await stats(server);
  // wrk takes 2xx and 3xx alike for success: the server's own counts tell a 200 from a 304.
  const expected = (status: number) => (expect === "2xx" ? status >= 200 && status < 300 : status === 304);
  let answered = 0;
  const unexpected: string[] = [];
  for (const [status, count] of Object.entries(after.statuses)) {
    const sent = count - (before.statuses[status] ?? 0);
    answered += sent;
    if (sent > 0 && !expected(Number(status))) unexpected.push(`${sent} × ${status}`);
  }
  if (answered === 0 || unexpected.length > 0) {
    throw new Error(
      `${url}: the server answered ${answered} requests, ${unexpected.join(", ") || "none"} unexpected (expected ${expect})`,
    );
  }
  return {
    rps: load.rps,
    p50: load.p50,
    p99: load.p99,
    cpuMicros: (after.micros - before.micros) / load.requests,
  };
}

/** autocannon in this process: the fallback when wrk is missing. */
async function autocannonLoad(
  url: string,
  headers: Record<string, string>,
  expect: Expect,
  seconds: number,
): Promise<Load> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers });
  const total = result["2xx"] + result["3xx"] + result["4xx"] + result["5xx"];
  const good = result[expect === "2xx" ? "2xx" : "3xx"];
  if (total === 0 || result.errors > 0 || result.timeouts > 0 || good !== total) {
    throw new Error(
      `${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${total - good} unexpected statuses`,
    );
  }
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, requests: total };
}

const execFileAsync = promisify(execFile);

/** wrk in a process of its own (on CPU 1 when pinning), its report parsed. */
async function wrk(url: string, headers: Record<string, string>, seconds: number): Promise<Load> {
  const args = [
    "-t1",
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    "--latency",
    ...Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
    url,
  ];
  const { stdout } = PIN
    ? await execFileAsync("taskset", ["-c", LOAD_CPU, "wrk", ...args])
    : await execFileAsync("wrk", args);
  return parseWrk(url, stdout);
}

const WRK_TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

function parseWrk(url: string, output: string): Load {
  const match = (pattern: RegExp) => {
    const found = pattern.exec(output);
    if (!found) throw new Error(`${url}: no ${pattern} in wrk's output:\n${output}`);
    return found;
  };
  // "     99%    1.23ms" in the --latency distribution; units us, ms, s, m or h.
  const percentile = (p: number) => {
    const [, value, unit] = match(new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m"));
    return Math.round(Number(value) * WRK_TIME_UNITS[unit] * 1000) / 1000;
  };
  const requests = Number(match(/(\d+) requests in /)[1]);
  const rps = Number(match(/^Requests\/sec:\s+([\d.]+)/m)[1]);
  const non2xx3xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  // "Socket errors: connect 0, read 0, write 0, timeout 0", printed only when one is non-zero.
  const socketErrors = /Socket errors: (connect \d+, read \d+, write \d+, timeout \d+)/.exec(output);
  if (requests === 0 || non2xx3xx || (socketErrors && /[1-9]/.test(socketErrors[1]))) {
    throw new Error(
      `${url}: ${requests} requests, ${non2xx3xx?.[1] ?? 0} non-2xx or 3xx responses, ` +
        `socket errors ${socketErrors?.[1] ?? "none"}`,
    );
  }
  return { rps, p50: percentile(50), p99: percentile(99), requests };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Starts a server child; each round of a comparison starts its own. */
interface ServerStarters {
  capstan: () => Promise<Server>;
  bare: () => Promise<Server>;
}

/**
 * A B A B …, alternating so drift (other load on the machine) hits both alike, and each run on a
 * server process of its own, warmed up first. A process's speed depends on what its JIT happened
 * to optimise, and with what feedback, which differed by up to a third between two starts of the
 * same server here: each round samples a new process of both, so no one lucky or unlucky start
 * decides the ratio.
 */
async function compare(
  label: string,
  start: ServerStarters,
  path: string,
  headers: Record<string, string>,
  expect: Expect,
) {
  const measure = async (startServer: () => Promise<Server>) => {
    const server = await startServer();
    try {
      await drive(server, path, headers, expect, 2);
      return await drive(server, path, headers, expect);
    } finally {
      stop(server.child);
    }
  };
  const capstan: Run[] = [];
  const bare: Run[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    capstan.push(await measure(start.capstan));
    bare.push(await measure(start.bare));
    const [a, b] = [capstan.at(-1), bare.at(-1)] as [Run, Run];
    console.log(
      `  ${label} round ${round}: capstan ${a.rps.toFixed(0)} req/s p50 ${a.p50} ms p99 ${a.p99} ms ` +
        `${a.cpuMicros.toFixed(0)} µs CPU/req | bare ${b.rps.toFixed(0)} req/s p50 ${b.p50} ms p99 ${b.p99} ms ` +
        `${b.cpuMicros.toFixed(0)} µs CPU/req`,
    );
  }
  const summary = (runs: Run[]) => ({
    rps: mean(runs.map((r) => r.rps)),
    p50: mean(runs.map((r) => r.p50)),
    p99: Math.max(...runs.map((r) => r.p99)),
    cpuMicros: mean(runs.map((r) => r.cpuMicros)),
  });
  const a = summary(capstan);
  const b = summary(bare);
  console.log(
    `${label}: capstan ${a.rps.toFixed(0)} req/s (p50 ${a.p50.toFixed(1)} ms, worst p99 ${a.p99} ms); ` +
      `bare ${b.rps.toFixed(0)} req/s (p50 ${b.p50.toFixed(1)} ms, worst p99 ${b.p99} ms); ` +
      `ratio capstan/bare ${(a.rps / b.rps).toFixed(2)}; server CPU per request ` +
      `${a.cpuMicros.toFixed(0)} vs ${b.cpuMicros.toFixed(0)} µs`,
  );
  return { capstan: a, bare: b, ratio: a.rps / b.rps, cpuRatio: b.cpuMicros / a.cpuMicros };
}

/** Node adds these itself; every other header is replayed, so both servers send the same bytes. */
const HOP_BY_HOP = new Set(["date", "connection", "keep-alive", "content-length", "transfer-encoding"]);

async function fetchRecorded(url: string, headers: Record<string, string>): Promise<RecordedResponse> {
  const res = await fetch(url, { headers });
  const body = await res.text();
  const recorded: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) recorded[name] = value;
  });
  return { status: res.status, headers: recorded, body };
}

async function measureScaling(label: string, seeded: Seeded) {
  const server = await spawn(capstanArgs(seeded));
  try {
    const listPath = `/api/v1/org/default/ws/main/runtimes/${seeded.runtimeId}/capabilities`;
    const auth = { authorization: `Bearer ${seeded.adminKey}` };
    const cold = await request<Extract<Message, { type: "cold-result" }>>(
      server.child,
      { type: "cold", runtimeId: seeded.runtimeId, path: listPath, key: seeded.adminKey, reads: COLD_READS },
      "cold-result",
    );
    await drive(server, listPath, auth, "2xx", 2);
    const warm = await drive(server, listPath, auth, "2xx", Math.min(SECONDS, 5));
    console.log(
      `${label}: list p50 over HTTP ${warm.p50} ms (p99 ${warm.p99} ms, ${warm.rps.toFixed(0)} req/s); ` +
        `cache-miss read p50 ${cold.p50.toFixed(2)} ms (p99 ${cold.p99.toFixed(2)} ms, in-process)`,
    );
    return { warm, cold };
  } finally {
    stop(server.child);
  }
}

async function main(): Promise<void> {
  console.log(
    `Binding list benchmark on ${BENCH_DATABASE_URL ? "PostgreSQL" : "SQLite"}, Node ${process.versions.node}: ` +
      `${CONNECTIONS} connections, ` +
      `${ROUNDS} rounds of ${SECONDS} s per server; load from ` +
      (LOAD === "wrk" ? "wrk" : "autocannon in this process") +
      (PIN ? `, pinned (servers on CPU ${SERVER_CPU}, wrk on CPU ${LOAD_CPU})` : ", not pinned") +
      "\n",
  );
  buildServers();
  // Everything seeded is dropped in the finally below, whichever step fails.
  const seeded: Seeded[] = [];
  try {
    const large = await seedDatabase({ runtimes: 5_000 });
    seeded.push(large);
    const small = await seedDatabase({ runtimes: 50 });
    seeded.push(small);
    const auth = { authorization: `Bearer ${large.adminKey}` };
    const listPath = `/api/v1/org/default/ws/main/runtimes/${large.runtimeId}/capabilities`;
    const resolvedPath = `${listPath}/resolved`;

    const capstan = await spawn(capstanArgs(large));
    const list = await fetchRecorded(`${capstan.url}${listPath}`, auth);
    const resolved = await fetchRecorded(`${capstan.url}${resolvedPath}`, auth);
    if (list.status !== 200 || JSON.parse(list.body).items.length !== BINDINGS_PER_RUNTIME)
      throw new Error(`unexpected list: ${list.body.slice(0, 200)}`);
    const etag = resolved.headers.etag;
    const notModified = await fetchRecorded(`${capstan.url}${resolvedPath}`, {
      ...auth,
      "if-none-match": etag,
    });
    if (notModified.status !== 304) throw new Error(`If-None-Match answered ${notModified.status}`);
    stop(capstan.child);
    const recorded = JSON.stringify({ [listPath]: list, [resolvedPath]: notModified });
    const start: ServerStarters = {
      capstan: () => spawn(capstanArgs(large)),
      bare: () => spawn(["--bare", recorded]),
    };

    console.log(`\nlist: ${list.body.length} bytes, ${BINDINGS_PER_RUNTIME} bindings`);
    const listResult = await compare("list", start, listPath, auth, "2xx");
    console.log("\nresolved with If-None-Match (304)");
    const notModifiedResult = await compare(
      "304",
      start,
      resolvedPath,
      { ...auth, "if-none-match": etag },
      "304",
    );

    console.log(`\nlist of a runtime with ${BINDINGS_PER_RUNTIME} bindings, by database size`);
    const smallResult = await measureScaling("  1,000 bindings", small);
    const largeResult = await measureScaling("100,000 bindings", large);

    console.log("\nsummary");
    const verdict = (ok: boolean) => (ok ? "meets target" : "MISSES target");
    console.log(
      `  list: ${listResult.ratio.toFixed(2)}× bare throughput (${listResult.cpuRatio.toFixed(2)}× its CPU efficiency), ` +
        `worst p99 ${listResult.capstan.p99} ms ` +
        `(target ≥ 0.5× and ≤ 10 ms: ${verdict(listResult.ratio >= 0.5 && listResult.capstan.p99 <= 10)})`,
    );
    console.log(
      `  304:  ${notModifiedResult.ratio.toFixed(2)}× bare throughput (${notModifiedResult.cpuRatio.toFixed(2)}× its CPU ` +
        `efficiency) (target ≥ 0.7×: ${verdict(notModifiedResult.ratio >= 0.7)})`,
    );
    console.log(
      `  list p50 1k vs 100k bindings: ${smallResult.warm.p50} vs ${largeResult.warm.p50} ms over HTTP, ` +
        `${smallResult.cold.p50.toFixed(2)} vs ${largeResult.cold.p50.toFixed(2)} ms on a cache miss`,
    );
  } finally {
    for (const shape of seeded) await shape.drop();
  }
}

await main();
process.exit(0);
