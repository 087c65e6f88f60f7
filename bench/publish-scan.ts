// What the publish-time scan (SPEC §14) adds to a publish: the bench:publish bundle (~1.4 MiB,
// 200 files: 150 text, 48 random binary), published as new versions through the real publish
// service (spool to disk, worker-thread inspection, blob writes, the version transaction) with two
// pipelines that differ only in scanning, alternated so that the machine's load falls on both alike.
// Prints the median and p95 of each and the median overhead. Target: overhead ≤ 20%.
//
//   npx tsx bench/publish-scan.ts           (runs after bench/publish.ts in `npm run bench:publish`)
//   CAPSTAN_TEST_DIALECT=postgres CAPSTAN_TEST_DATABASE_URL=postgres://… npx tsx bench/publish-scan.ts
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { buildTestApp } from "../scripts/app-harness.js";
import { packBundle } from "../src/cli/bundle-pack.js";
import { PublishPipeline, publishCapability } from "../src/services/publish-service.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const TEXT_FILES = 150;
const BINARY_FILES = 48;
const WORDS =
  "agent tool skill runtime binding capability version manifest digest bundle registry flag".split(" ");

function textFile(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const line = Array.from({ length: 12 }, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(" ");
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join("\n"));
}

function bundleFiles(name: string, version: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  files.set(
    "capability.yaml",
    Buffer.from(`schema: 1\nname: ${name}\nversion: "${version}"\ndescription: Scan benchmark\n`),
  );
  files.set(
    "agents/bench.md",
    Buffer.from("---\nname: bench\ndescription: Benchmarks.\n---\nYou benchmark.\n"),
  );
  for (let i = 0; i < TEXT_FILES; i++) files.set(`docs/section-${i}.md`, textFile(6 * 1024));
  for (let i = 0; i < BINARY_FILES; i++) files.set(`assets/blob-${i}.bin`, randomBytes(28 * 1024));
  return files;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const p95 = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)];
};

async function main(): Promise<void> {
  const t = await buildTestApp();
  const pipelines = {
    scanned: new PublishPipeline(t.config, undefined, { scan: true }),
    unscanned: new PublishPipeline(t.config, undefined, { scan: false }),
  };
  try {
    const key = await t.deps.db.selectFrom("api_keys").select(["id", "user_id"]).executeTakeFirstOrThrow();
    const scope = {
      actor: { userId: key.user_id, apiKeyId: key.id, readOnly: false, runtimeId: null, keyOrgId: null },
      requestId: "bench",
    };
    const times: Record<keyof typeof pipelines, number[]> = { scanned: [], unscanned: [] };
    let bytes = 0;
    // Round 0 warms each pipeline's worker up and is not counted.
    for (let round = 0; round <= ROUNDS; round++) {
      const order: (keyof typeof pipelines)[] =
        round % 2 === 0 ? ["scanned", "unscanned"] : ["unscanned", "scanned"];
      for (const which of order) {
        const { archive } = await packBundle(bundleFiles(`bench-${which}`, `1.0.${round}`));
        bytes = archive.length;
        const started = performance.now();
        await publishCapability(t.deps, pipelines[which], scope, "default", async () => archive, {
          isPublic: false,
        });
        if (round > 0) times[which].push(performance.now() - started);
      }
    }
    const withScan = median(times.scanned);
    const without = median(times.unscanned);
    const overhead = (withScan / without - 1) * 100;
    console.log(
      `publish-time scan on Node ${process.versions.node} (${t.deps.dialect}): ${ROUNDS} publishes each, ` +
        `${TEXT_FILES + BINARY_FILES + 2} files, ${(bytes / (1024 * 1024)).toFixed(2)} MiB archive`,
    );
    console.log(`  with scan     median ${withScan.toFixed(1)} ms   p95 ${p95(times.scanned).toFixed(1)} ms`);
    console.log(
      `  without scan  median ${without.toFixed(1)} ms   p95 ${p95(times.unscanned).toFixed(1)} ms`,
    );
    console.log(
      `  overhead      ${overhead.toFixed(1)}% at the median; target ≤ 20%: ${overhead <= 20 ? "met" : "NOT met"}`,
    );
  } finally {
    await Promise.all([pipelines.scanned.close(), pipelines.unscanned.close()]);
    await t.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
