// The cost of the events outbox (SPEC §15) on a write path: the median latency of the binding PATCH
// (`PATCH RT/capabilities/{id}`, enabling and disabling one binding) with events appended in its
// transaction, against the same build with event derivation switched off (setEventDerivation,
// meant for this benchmark only). Everything else is identical in both: the same app, database,
// audit record and hash-chain link, so the difference is what the outbox adds (building the event,
// the extra head counter, the insert into `events`, the change-feed publish after commit).
//
// The two modes alternate in blocks (A B A B …) on one app, so drift of a shared machine hits both;
// requests go through app.inject, sequentially (latency, not throughput). Budget: the outbox adds
// at most 10% to the PATCH median.
//
//   npm run bench:events                 (SQLite; BENCH_PATCHES=2000 for a longer run)
//   CAPSTAN_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres CAPSTAN_TEST_DIALECT=postgres npm run bench:events
//
// (The webhook delivery latency will be measured in this script too, once deliveries exist.)
import { performance } from "node:perf_hooks";
import { bearer, buildTestApp } from "../scripts/app-harness.js";
import { publishOk } from "../scripts/capability-bundles.js";
import { setEventDerivation } from "../src/services/audit.js";

const PATCHES = Number(process.env.BENCH_PATCHES ?? 1000);
const BLOCK = 50;
const WARMUP = 100;
const BUDGET = 0.1;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

async function main(): Promise<void> {
  const t = await buildTestApp();
  try {
    await publishOk(t, { name: "benched", version: "1.0.0" });
    const runtimeUrl = `/api/v1/org/default/ws/main/runtimes/${t.runtimeId}/capabilities`;
    const created = await t.app.inject({
      method: "POST",
      url: runtimeUrl,
      headers: bearer(t.adminKey),
      payload: { name: "benched" },
    });
    if (created.statusCode !== 201) throw new Error(`bind answered ${created.statusCode}: ${created.body}`);
    const url = `${runtimeUrl}/${created.json().id}`;
    let enabled = true;
    const patch = async (): Promise<number> => {
      enabled = !enabled;
      const started = performance.now();
      const res = await t.app.inject({
        method: "PATCH",
        url,
        headers: bearer(t.adminKey),
        payload: { enabled },
      });
      const elapsed = performance.now() - started;
      if (res.statusCode !== 200) throw new Error(`PATCH answered ${res.statusCode}: ${res.body}`);
      return elapsed;
    };

    for (let i = 0; i < WARMUP; i++) await patch();
    const withOutbox: number[] = [];
    const without: number[] = [];
    for (let done = 0; done < PATCHES; done += BLOCK) {
      for (const [on, samples] of [
        [true, withOutbox],
        [false, without],
      ] as const) {
        setEventDerivation(on);
        for (let i = 0; i < BLOCK; i++) samples.push(await patch());
      }
    }
    setEventDerivation(true);

    const a = median(withOutbox);
    const b = median(without);
    const overhead = a / b - 1;
    const dialect = process.env.CAPSTAN_TEST_DIALECT === "postgres" ? "postgres" : "sqlite";
    console.log(
      `binding PATCH on ${dialect}, ${withOutbox.length} requests per mode, alternating blocks of ${BLOCK}`,
    );
    console.log(
      `  with events:    median ${a.toFixed(3)} ms  p90 ${percentile(withOutbox, 90).toFixed(3)} ms  p99 ${percentile(withOutbox, 99).toFixed(3)} ms`,
    );
    console.log(
      `  without events: median ${b.toFixed(3)} ms  p90 ${percentile(without, 90).toFixed(3)} ms  p99 ${percentile(without, 99).toFixed(3)} ms`,
    );
    console.log(
      `  outbox overhead: ${(overhead * 100).toFixed(1)}% of the median (ratio ${(a / b).toFixed(3)}; budget ≤ ${BUDGET * 100}%) ${overhead <= BUDGET ? "OK" : "OVER BUDGET"}`,
    );
    if (overhead > BUDGET) process.exitCode = 1;
  } finally {
    await t.close();
  }
}

await main();
