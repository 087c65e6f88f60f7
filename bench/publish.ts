// Publish throughput: the real server in its own process, a ~1.5 MB bundle of ~200 files (text and
// random binary), published 20 times as new versions over HTTP. Prints the server-side time per
// publish (Fastify's responseTime from the server's request log), the client round trip, and the MB/s
// of archive processed. Target: median server time under 250 ms on a 2-core machine.
//
//   npm run bench:publish
//   CAPSTAN_DATABASE_URL=postgres://…/<empty database> CAPSTAN_BLOB_STORE=postgres npm run bench:publish
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { packBundle } from "../src/cli/bundle-pack.js";
import { generateApiKey } from "../src/lib/api-key-format.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PUBLISHES = 20;
const TEXT_FILES = 150;
const BINARY_FILES = 48;
const BINARY_FILE_BYTES = 28 * 1024;
const TEXT_FILE_BYTES = 6 * 1024;

const WORDS =
  "agent tool skill runtime binding capability version manifest digest bundle registry flag".split(" ");

interface Server {
  url: string;
  child: ChildProcess;
  /** Server-side response times (ms) logged for completed requests, in order. */
  responseTimes: number[];
}

async function startServer(dataDir: string, adminKey: string): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      CAPSTAN_DATA_DIR: dataDir,
      CAPSTAN_PORT: "0",
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
      CAPSTAN_RATE_LIMIT_RPM: "0",
      CAPSTAN_RATE_LIMIT_WRITE_RPM: "0",
      CAPSTAN_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const responseTimes: number[] = [];
  let buffered = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const entry = parseLogLine(line);
        if (typeof entry?.url === "string" && entry.msg?.toString().startsWith("Capstan listening"))
          resolve(entry.url);
        if (entry?.msg === "request completed" && typeof entry.responseTime === "number") {
          responseTimes.push(entry.responseTime);
        }
      }
    });
  });
  return { url, child, responseTimes };
}

function parseLogLine(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

/** Words in random order: text that compresses like prose and code do, about 3-4:1. */
function textFile(bytes: number): Buffer {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const line = Array.from({ length: 12 }, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(" ");
    parts.push(line);
    size += line.length + 1;
  }
  return Buffer.from(parts.join("\n"));
}

function bundleFiles(version: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  files.set(
    "capability.yaml",
    Buffer.from(
      `schema: 1\nname: bench\nversion: "${version}"\ndescription: Publish benchmark\nlicense: MIT\nkeywords: [bench]\n`,
    ),
  );
  files.set(
    "agents/bench.md",
    Buffer.from("---\nname: bench\ndescription: Benchmarks.\n---\nYou benchmark.\n"),
  );
  for (let i = 0; i < TEXT_FILES; i++) files.set(`docs/section-${i}.md`, textFile(TEXT_FILE_BYTES));
  for (let i = 0; i < BINARY_FILES; i++) files.set(`assets/blob-${i}.bin`, randomBytes(BINARY_FILE_BYTES));
  return files;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function publish(server: Server, adminKey: string, archive: Buffer): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${server.url}/api/v1/org/default/capabilities`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/gzip" },
    body: archive,
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${body}`);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "capstan-bench-"));
  const adminKey = generateApiKey().key;
  const server = await startServer(dataDir, adminKey);
  try {
    const bundles = await Promise.all(
      Array.from({ length: PUBLISHES + 1 }, (_, i) => packBundle(bundleFiles(`1.0.${i}`))),
    );
    const [warmUp, ...measured] = bundles;
    await publish(server, adminKey, warmUp.archive);

    const roundTrips: number[] = [];
    for (const bundle of measured) roundTrips.push(await publish(server, adminKey, bundle.archive));
    // A request's completion log line can trail its response: wait for it, then keep the last ones.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const serverTimes = server.responseTimes.slice(-PUBLISHES).sort((a, b) => a - b);
    roundTrips.sort((a, b) => a - b);

    const archiveBytes = measured.reduce((sum, bundle) => sum + bundle.archive.length, 0) / measured.length;
    const fileCount = bundleFiles("0.0.0").size;
    const median = percentile(serverTimes, 50);
    const megabytes = archiveBytes / (1024 * 1024);
    console.log(
      `publish benchmark on Node ${process.versions.node}: ${PUBLISHES} new versions, ${fileCount} files, ` +
        `${megabytes.toFixed(2)} MiB each`,
    );
    console.log(
      `  server time  median ${median.toFixed(1)} ms   p95 ${percentile(serverTimes, 95).toFixed(1)} ms`,
    );
    console.log(
      `  round trip   median ${percentile(roundTrips, 50).toFixed(1)} ms   p95 ${percentile(roundTrips, 95).toFixed(1)} ms`,
    );
    console.log(`  throughput   ${(megabytes / (median / 1000)).toFixed(1)} MiB/s of archive at the median`);
    console.log(`  target       median < 250 ms: ${median < 250 ? "met" : "NOT met"}`);
  } finally {
    server.child.kill("SIGTERM");
    await new Promise((resolve) => server.child.once("exit", resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
