// Watch freshness (SPEC §12): 1,000 runtimes, each holding GET RT/capabilities/resolved with its
// own runtime token, If-None-Match and `Prefer: wait=60`; one binding of each of 100 runtimes is
// changed, and the time from each write's response to its watcher's 200 is measured. Then the
// server's RSS growth and CPU while the 1,000 watchers sit idle, and the same freshness with
// plain polling every 10 s for comparison.
//
// The server runs as `src/main.ts` in child processes (one on SQLite; with BENCH_DATABASE_URL two
// instances on one fresh PostgreSQL database, watchers on the first and writes on the second, so
// every wake crosses LISTEN/NOTIFY). RSS and CPU are read from /proc for the server processes only.
//
//   npm run bench:watch
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:watch
//
// Targets: p99 ≤ 500 ms on SQLite, ≤ 1 s across two PostgreSQL instances; ≤ 50 MB RSS growth and
// about 0 CPU for 1,000 idle watchers.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { buildTarGz } from "../scripts/tar-builder.js";
import { generateApiKey } from "../src/lib/api-key-format.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RUNTIMES = Number(process.env.BENCH_WATCHERS ?? 1_000);
const CHANGED = Math.min(RUNTIMES, 100);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const POLL_INTERVAL_MS = 10_000;
const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL || undefined;
const WS = "/api/v1/org/default/ws/main";

interface Server {
  url: string;
  child: ChildProcess;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a connection of its own: every watcher holds a socket, as a fleet would. */
function call(
  base: string,
  method: string,
  url: string,
  key: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      new URL(url, base),
      {
        method,
        agent: false,
        headers: {
          authorization: `Bearer ${key}`,
          ...(payload ? { "content-type": "application/json" } : {}),
          ...headers,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

async function expect(answer: Promise<Answer>, status: number, what: string): Promise<Answer> {
  const res = await answer;
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${res.body.slice(0, 300)}`);
  return res;
}

/** `count` tasks, `width` at a time. */
async function inBatches<T>(count: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("CAPSTAN_"))),
      CAPSTAN_HOST: "127.0.0.1",
      CAPSTAN_PORT: "0",
      CAPSTAN_LOG_LEVEL: "info",
      CAPSTAN_RATE_LIMIT_RPM: "0",
      CAPSTAN_RATE_LIMIT_WRITE_RPM: "0",
      // Every watcher comes from this one address.
      CAPSTAN_MAX_CONNECTIONS_PER_CLIENT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer) => {
      seen += chunk;
      const match = /Capstan listening on (http:\/\/\S+?)"/.exec(seen);
      if (match) {
        // Request logs are read and dropped: a full pipe would stall the server.
        seen = "";
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve({ url: match[1], child });
      } else if (seen.length > 1_000_000) seen = seen.slice(-10_000);
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** Resident set size of a process, bytes. */
function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) * 1024;
}

/** User + system CPU time of a process, seconds (clock ticks at the usual 100 Hz). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function bundle(): Buffer {
  const manifest = [
    "schema: 1",
    "name: watched",
    "version: 1.0.0",
    "description: A capability for the watch bench",
    "flags:",
    "  verbose:",
    "    description: Log more",
    "",
  ].join("\n");
  return buildTarGz([
    { name: "capability.yaml", content: manifest },
    { name: "agents/helper.md", content: "---\nname: helper\n---\nHelps.\n" },
  ]);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "capstan-bench-watch-"));
  const adminKey = generateApiKey().key;
  let databaseName: string | null = null;
  const servers: Server[] = [];
  try {
    const env: Record<string, string> = { CAPSTAN_BOOTSTRAP_TOKEN: adminKey };
    if (BENCH_DATABASE_URL) {
      databaseName = `capstan_bench_${randomBytes(6).toString("hex")}`;
      const admin = new pg.Client({ connectionString: BENCH_DATABASE_URL });
      await admin.connect();
      await admin.query(`create database ${databaseName}`);
      await admin.end();
      const url = new URL(BENCH_DATABASE_URL);
      url.pathname = `/${databaseName}`;
      Object.assign(env, {
        CAPSTAN_DATABASE_URL: url.toString(),
        CAPSTAN_BLOB_STORE: "postgres",
        CAPSTAN_SIGNING_SECRET: "bench-fleet-secret",
      });
      servers.push(await startServer({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "a") }));
      servers.push(await startServer({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "b") }));
    } else {
      servers.push(await startServer({ ...env, CAPSTAN_DATA_DIR: dataDir }));
    }
    const watchOn = servers[0];
    const writeOn = servers[servers.length - 1];
    console.log(
      `watch bench: ${RUNTIMES} watchers, ${CHANGED} changes; ${BENCH_DATABASE_URL ? "PostgreSQL, watchers on instance A, writes on instance B" : "SQLite, one instance"}`,
    );

    // --- seed: one capability, the runtimes with it bound, a runtime token each ---------------------
    await expect(
      new Promise<Answer>((resolve, reject) => {
        const data = bundle();
        const req = httpRequest(
          new URL("/api/v1/org/default/capabilities", writeOn.url),
          {
            method: "POST",
            agent: false,
            headers: {
              authorization: `Bearer ${adminKey}`,
              "content-type": "application/gzip",
              "content-length": data.length,
            },
          },
          (res) => {
            let text = "";
            res.on("data", (chunk) => (text += chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
          },
        );
        req.on("error", reject);
        req.end(data);
      }),
      201,
      "publish",
    );
    const seedStarted = performance.now();
    const runtimes = await inBatches(RUNTIMES, 8, async (i) => {
      const created = await expect(
        call(writeOn.url, "POST", `${WS}/runtimes`, adminKey, {
          key: `bench-${i}`,
          name: `Bench ${i}`,
          config: { version: "v2", capabilities: [{ name: "watched" }] },
        }),
        201,
        "create runtime",
      );
      const id = JSON.parse(created.body).id as string;
      const token = JSON.parse(
        (
          await expect(
            call(writeOn.url, "POST", `${WS}/runtimes/${id}/tokens`, adminKey, {}),
            201,
            "mint token",
          )
        ).body,
      ).token as string;
      const bindings = JSON.parse(
        (
          await expect(
            call(writeOn.url, "GET", `${WS}/runtimes/${id}/capabilities`, adminKey),
            200,
            "bindings",
          )
        ).body,
      );
      return { id, token, bindingId: bindings.items[0].id as string, etag: "" };
    });
    console.log(
      `seeded ${RUNTIMES} runtimes with a token each in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
    );

    const readEtags = () =>
      inBatches(RUNTIMES, 16, async (i) => {
        const res = await expect(
          call(
            watchOn.url,
            "GET",
            `${WS}/runtimes/${runtimes[i].id}/capabilities/resolved`,
            runtimes[i].token,
          ),
          200,
          "resolved",
        );
        runtimes[i].etag = res.headers.etag as string;
      });
    await readEtags();

    // --- 1,000 watchers, idle ---------------------------------------------------------------------
    const pids = servers.map((server) => server.child.pid as number);
    /** CPU share of a core per server over IDLE_SECONDS. */
    const idleCpu = async (): Promise<number[]> => {
      const before = pids.map(cpuSecondsOf);
      const started = performance.now();
      await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
      const seconds = (performance.now() - started) / 1000;
      return pids.map((pid, i) => (cpuSecondsOf(pid) - before[i]) / seconds);
    };
    // The seeding's garbage and compilation settle first; then the same window without watchers is
    // the baseline that the one with them is compared with.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const cpuBaseline = await idleCpu();
    const rssBefore = pids.map(rssOf);
    const arrivals = new Map<number, number>();
    const watchers = runtimes.map((runtime, i) =>
      call(
        watchOn.url,
        "GET",
        `${WS}/runtimes/${runtime.id}/capabilities/resolved`,
        runtime.token,
        undefined,
        {
          "if-none-match": runtime.etag,
          prefer: "wait=60",
        },
      ).then(
        (res) => {
          arrivals.set(i, performance.now());
          return res;
        },
        // The watchers still held when the bench ends lose their server.
        (error: Error): Answer => ({ status: 0, headers: {}, body: error.message }),
      ),
    );
    // Every request arrives and settles into its wait (the server counts them in /metrics).
    for (let held = 0; held < RUNTIMES; ) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const metrics = await call(watchOn.url, "GET", "/metrics", adminKey);
      held = Number(/^capstan_resolved_watches_held (\d+)/m.exec(metrics.body)?.[1] ?? 0);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const cpuIdle = await idleCpu();
    const rssAfter = pids.map(rssOf);
    if (arrivals.size > 0) throw new Error(`${arrivals.size} watchers were answered before any change`);
    for (let i = 0; i < servers.length; i++) {
      console.log(
        `instance ${"AB"[i]}: RSS ${mb(rssBefore[i])} → ${mb(rssAfter[i])} (${rssAfter[i] >= rssBefore[i] ? "+" : ""}${mb(rssAfter[i] - rssBefore[i])}) with ${i === 0 ? RUNTIMES : 0} idle watchers; CPU over ${IDLE_SECONDS} s: ${(cpuIdle[i] * 100).toFixed(2)} % of a core with them, ${(cpuBaseline[i] * 100).toFixed(2)} % before they came`,
      );
    }

    // --- change one binding of each of 100 runtimes -----------------------------------------------
    const written = new Map<number, number>();
    await inBatches(CHANGED, 4, async (i) => {
      const runtime = runtimes[i];
      await expect(
        call(
          writeOn.url,
          "PATCH",
          `${WS}/runtimes/${runtime.id}/capabilities/${runtime.bindingId}`,
          adminKey,
          {
            flags: { verbose: true },
          },
        ),
        200,
        "patch",
      );
      written.set(i, performance.now());
    });
    const answers = await Promise.all(watchers.slice(0, CHANGED));
    const wrongStatus = answers.filter((res) => res.status !== 200).length;
    const freshness = [...written].map(([i, at]) => Math.max(0, (arrivals.get(i) ?? Number.NaN) - at));
    freshness.sort((a, b) => a - b);
    console.log(
      `watch:   change → watcher's 200: p50 ${ms(percentile(freshness, 50))}, p99 ${ms(percentile(freshness, 99))}, max ${ms(freshness[freshness.length - 1])} (${wrongStatus} not 200; a 200 that arrived before its write's response counts 0)`,
    );
    const untouchedEarly = [...arrivals.keys()].filter((i) => i >= CHANGED).length;
    if (untouchedEarly > 0) console.log(`warning: ${untouchedEarly} unchanged runtimes were answered early`);

    // --- the same with polling every 10 s ---------------------------------------------------------
    await readEtags();
    const pollers = runtimes.slice(CHANGED, CHANGED * 2);
    const seenAt = new Map<number, number>();
    let stopPolling = false;
    const polls = pollers.map(async (runtime, i) => {
      // Spread over the interval, as a fleet's pollers are.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * POLL_INTERVAL_MS));
      while (!stopPolling) {
        const res = await call(
          watchOn.url,
          "GET",
          `${WS}/runtimes/${runtime.id}/capabilities/resolved`,
          runtime.token,
          undefined,
          { "if-none-match": runtime.etag },
        );
        if (res.status === 200) {
          seenAt.set(i, performance.now());
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      }
    });
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    const polledWrites = new Map<number, number>();
    await inBatches(pollers.length, 4, async (i) => {
      await expect(
        call(
          writeOn.url,
          "PATCH",
          `${WS}/runtimes/${pollers[i].id}/capabilities/${pollers[i].bindingId}`,
          adminKey,
          {
            flags: { verbose: true },
          },
        ),
        200,
        "patch",
      );
      polledWrites.set(i, performance.now());
    });
    const deadline = performance.now() + POLL_INTERVAL_MS * 2 + 5_000;
    while (seenAt.size < pollers.length && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    stopPolling = true;
    const polled = [...polledWrites].map(([i, at]) => Math.max(0, (seenAt.get(i) ?? Number.NaN) - at));
    polled.sort((a, b) => a - b);
    console.log(
      `polling: change → poller's 200 (every ${POLL_INTERVAL_MS / 1000} s): p50 ${ms(percentile(polled, 50))}, p99 ${ms(percentile(polled, 99))} (${pollers.length - seenAt.size} not seen)`,
    );
    await Promise.race([
      Promise.all(polls),
      new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS + 1000)),
    ]);
  } finally {
    for (const server of servers) server.child.kill("SIGKILL");
    if (databaseName && BENCH_DATABASE_URL) {
      const admin = new pg.Client({ connectionString: BENCH_DATABASE_URL });
      await admin.connect();
      await admin.query(`drop database if exists ${databaseName} with (force)`).catch(() => {});
      await admin.end();
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  // The remaining watchers' sockets die with their servers.
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
