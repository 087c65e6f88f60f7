// Webhook delivery latency (SPEC §15): the time from sending a mutation to its event arriving at a
// local webhook endpoint, for mutations one after another and for a burst of concurrent ones.
// The server runs as `src/main.ts` in a child process on SQLite; with BENCH_DATABASE_URL, two
// instances on one fresh PostgreSQL database (mutations alternate between them, and either may
// deliver).
//
//   npm run bench:webhooks
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:webhooks
//
// Target: event-to-delivery p99 ≤ 1 s.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { type ServerProcess, startServerProcess } from "../scripts/server-process.js";
import { startWebhookReceiver } from "../scripts/webhook-receiver.js";
import { generateApiKey } from "../src/lib/api-key-format.js";

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 200);
const BURST = Number(process.env.BENCH_BURST ?? 500);
const BURST_CONCURRENCY = 20;
const WARM_UP = 100;
const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL || undefined;
const ORG = "/api/v1/org/default";

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  const adminKey = generateApiKey().key;
  const dataDir = mkdtempSync(path.join(tmpdir(), "capstan-bench-webhooks-"));
  let dropDatabase = async () => {};
  let databaseUrl: string | undefined;
  if (BENCH_DATABASE_URL) {
    const name = `capstan_bench_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: BENCH_DATABASE_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(BENCH_DATABASE_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropDatabase = async () => {
      const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    };
  }
  const env = {
    CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
    CAPSTAN_WEBHOOK_ALLOW_PRIVATE: "true",
    CAPSTAN_RATE_LIMIT_WRITE_RPM: "0",
    ...(databaseUrl ? { CAPSTAN_DATABASE_URL: databaseUrl, CAPSTAN_BLOB_STORE: "postgres" } : {}),
  };
  const servers: ServerProcess[] = [];
  const receiver = await startWebhookReceiver();
  try {
    servers.push(await startServerProcess({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "a") }));
    if (databaseUrl)
      servers.push(await startServerProcess({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "b") }));
    const call = async (n: number, method: string, url: string, body: unknown) => {
      const res = await fetch(`${servers[n % servers.length].url}${url}`, {
        method,
        headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    };
    await call(0, "POST", `${ORG}/webhooks`, { url: receiver.url, events: ["runtime.created"] });

    const sentAt = new Map<string, number>();
    const mutate = async (key: string, n: number) => {
      sentAt.set(key, performance.now());
      await call(n, "POST", `${ORG}/ws/main/runtimes`, { key, name: key });
    };
    const latencies = (keys: string[]) => {
      const arrival = new Map<string, number>();
      for (const message of receiver.messages) {
        const key = JSON.parse(message.body).data.key as string;
        if (!arrival.has(key)) arrival.set(key, message.receivedAt);
      }
      return keys.map((key) => (arrival.get(key) as number) - (sentAt.get(key) as number));
    };
    const report = (label: string, values: number[]) =>
      console.log(
        `${label}: p50 ${fmt(percentile(values, 50))}, p99 ${fmt(percentile(values, 99))}, max ${fmt(Math.max(...values))}`,
      );

    // Warm-up (connections, JIT), not measured.
    for (let i = 0; i < WARM_UP; i++) await mutate(`warm-${i}`, i);
    await receiver.waitFor(WARM_UP);

    const sequential = Array.from({ length: SEQUENTIAL }, (_, i) => `seq-${i}`);
    // Each event alone in the system: the next mutation is sent once the previous event arrived.
    for (const [i, key] of sequential.entries()) {
      await mutate(key, i);
      await receiver.waitFor(WARM_UP + i + 1);
    }

    const burst = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: BURST_CONCURRENCY }, async () => {
        while (next < burst.length) {
          const i = next++;
          await mutate(burst[i], i);
        }
      }),
    );
    const mutatedSeconds = (performance.now() - started) / 1000;
    const deliveredBefore = receiver.messages.length - WARM_UP - SEQUENTIAL;
    await receiver.waitFor(WARM_UP + SEQUENTIAL + BURST, 300_000);
    const burstSeconds = (performance.now() - started) / 1000;

    console.log(
      `webhooks: ${databaseUrl ? "two instances on PostgreSQL" : "SQLite"}, one local endpoint (127.0.0.1), event = runtime.created`,
    );
    console.log("latency = from sending the mutation to the event's arrival at the endpoint");
    report(`one event at a time (${SEQUENTIAL} events)`, latencies(sequential));
    report(`burst (${BURST} mutations, ${BURST_CONCURRENCY} at a time; includes queueing)`, latencies(burst));
    console.log(`burst delivered at ${(BURST / burstSeconds).toFixed(0)} events/s end to end`);
    // Where the time goes: the API's own writes, or the deliveries after them.
    console.log(
      `burst mutations all answered after ${mutatedSeconds.toFixed(1)} s (${deliveredBefore} delivered by then); last delivery after ${burstSeconds.toFixed(1)} s`,
    );
    const duplicates =
      receiver.messages.length - new Set(receiver.messages.map((m) => m.headers["webhook-id"])).size;
    console.log(`messages: ${receiver.messages.length}, duplicates: ${duplicates}`);
  } finally {
    for (const server of servers) await server.stop();
    await receiver.close();
    await dropDatabase();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
