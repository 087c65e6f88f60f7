// The two servers bench/bindings.ts measures, each in a child process of its own:
//   --capstan <dataDir> [databaseUrl]   the real app on a seeded data dir
//   --bare <responses as JSON>          a bare node:http server answering the recorded responses
//
// Compiled with the app (tsconfig.bench.json) and run by plain `node` with the server's V8 settings,
// as `npm start` runs the server: not under the TypeScript loader the bench itself runs under.
import { createServer } from "node:http";
import pino from "pino";
import { buildApp } from "../src/app.js";
import { createDeps } from "../src/composition.js";
import { loadConfig } from "../src/config.js";
import { tuneHeapForServing } from "../src/lib/heap-tuning.js";

/** Every message between the bench and a server child. */
export type Message =
  | { type: "listening"; url: string }
  | { type: "cold"; runtimeId: string; path: string; key: string; reads: number }
  | { type: "cold-result"; p50: number; p99: number }
  | { type: "stats" }
  | { type: "stats-result"; micros: number; statuses: StatusCounts };

/** Responses sent so far by status code ("200", "304", …). */
export type StatusCounts = Record<string, number>;

/**
 * Both servers report the CPU time they used, so the cost per request is known even on a busy
 * machine, and the responses they sent by status, so a run's statuses are checked whatever drove it.
 */
function answerStatsQueries(statuses: () => StatusCounts | Promise<StatusCounts>): void {
  process.on("message", async (message: Message) => {
    if (message.type !== "stats") return;
    const { user, system } = process.cpuUsage();
    process.send?.({
      type: "stats-result",
      micros: user + system,
      statuses: await statuses(),
    } satisfies Message);
  });
}

/** A response as the bare server replays it. */
export interface RecordedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The real server on a seeded data dir; also answers cold-read measurements over IPC. */
async function serveCapstan(dataDir: string, databaseUrl: string | undefined): Promise<void> {
  const config = loadConfig(
    {},
    {
      CAPSTAN_DATA_DIR: dataDir,
      CAPSTAN_DATABASE_URL: databaseUrl,
      CAPSTAN_RATE_LIMIT_RPM: "0",
      CAPSTAN_RATE_LIMIT_WRITE_RPM: "0",
      CAPSTAN_LOG_LEVEL: "warn",
    },
  );
  const { deps } = await createDeps(config, {
    logger: pino({ level: config.logLevel }),
    sharedChanges: false,
  });
  const app = await buildApp(deps);
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  // The app's own request tallies (fast lane included), summed over route and method.
  answerStatsQueries(async () => {
    const metric = app.metrics.getSingleMetric("capstan_http_requests_total");
    if (!metric) throw new Error("capstan_http_requests_total is not registered");
    const statuses: StatusCounts = {};
    for (const { labels, value } of (await metric.get()).values) {
      const status = String(labels.status);
      statuses[status] = (statuses[status] ?? 0) + value;
    }
    return statuses;
  });
  process.on("message", async (message: Message) => {
    if (message.type !== "cold") return;
    // Every read after an eviction: the cost of filling the cache from the database.
    const latencies: number[] = [];
    for (let i = 0; i < message.reads; i++) {
      deps.changes.publish({ kind: "runtime", runtimeId: message.runtimeId });
      const started = performance.now();
      const res = await app.inject({
        method: "GET",
        url: message.path,
        headers: { authorization: `Bearer ${message.key}` },
      });
      latencies.push(performance.now() - started);
      if (res.statusCode !== 200) throw new Error(`cold read answered ${res.statusCode}`);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.floor(q * (latencies.length - 1))];
    process.send?.({ type: "cold-result", p50: at(0.5), p99: at(0.99) } satisfies Message);
  });
  process.send?.({ type: "listening", url } satisfies Message);
}

/** A bare node:http server answering the recorded responses: the ceiling of this machine. */
function serveBare(responses: Record<string, RecordedResponse>): void {
  const statuses: StatusCounts = {};
  const count = (status: number) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
  };
  const server = createServer((request, response) => {
    const recorded = responses[request.url ?? ""];
    if (!recorded) {
      response.writeHead(404).end();
      count(404);
      return;
    }
    response.writeHead(recorded.status, recorded.headers).end(recorded.body);
    count(recorded.status);
  });
  answerStatsQueries(() => statuses);
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    process.send?.({ type: "listening", url: `http://127.0.0.1:${port}` } satisfies Message);
  });
}

// Both servers run with the V8 settings `npm start` uses (see serve() in src/server.ts).
tuneHeapForServing();
const [role, argument, databaseUrl] = process.argv.slice(2);
// A server child ends with the bench, also when a failed run never got to stop it.
process.once("disconnect", () => process.exit(0));
if (role === "--capstan") {
  await serveCapstan(argument, databaseUrl);
} else if (role === "--bare") {
  serveBare(JSON.parse(argument));
} else {
  throw new Error(`unknown role ${role}: bench/bindings.ts starts this file`);
}
