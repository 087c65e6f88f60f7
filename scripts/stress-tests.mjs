#!/usr/bin/env node
// Runs the whole test suite several times in a row while every core is kept busy by another process,
// to show that no test's outcome depends on the machine's speed (a CI run once failed only because
// two test files shared two cores). Usage:
//   npm run test:stress                          3 runs, one busy loop per core
//   npm run test:stress -- --runs 5 --load 4     5 runs, 4 busy loops
//   npm run test:stress -- --runs 1 -- cli/      extra arguments after "--" narrow the suite
// Set CAPSTAN_TEST_DATABASE_URL to include the PostgreSQL pass, as in `npm test`. Each run's output
// goes to a log file; this prints each run's verdict, duration and timings, and exits non-zero when
// any run failed.
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

/** A busy loop ends by itself after this long, should this process die without ending it. */
const BUSY_LOOP_LIFETIME_MS = 3 * 60 * 60 * 1000;

function parseArguments(argv) {
  const options = { runs: 3, load: availableParallelism(), filters: [] };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    if (argument === "--") {
      options.filters = argv.slice(i + 1);
      break;
    }
    if (argument !== "--runs" && argument !== "--load") {
      throw new Error(`unknown argument ${argument} (expected --runs N, --load N, -- FILTER…)`);
    }
    const value = Number(argv[++i]);
    if (!Number.isInteger(value) || value < (argument === "--runs" ? 1 : 0)) {
      throw new Error(`${argument} needs a whole number, got ${argv[i]}`);
    }
    options[argument.slice(2)] = value;
  }
  return options;
}

/** A process that spins on one core until it is killed, its parent goes away, or its lifetime ends. */
function startBusyLoop() {
  const program = `
    const parent = process.ppid;
    const end = Date.now() + ${BUSY_LOOP_LIFETIME_MS};
    let x = 0;
    while (Date.now() < end && process.ppid === parent) {
      for (let i = 0; i < 1e6; i++) x = (x * 31 + i) | 0;
    }
  `;
  return spawn(process.execPath, ["-e", program], { stdio: "ignore" });
}

/** The suite running now, in a process group of its own so that an interrupt ends all of it. */
let suite = null;

function runSuite(runTests, filters, logFile) {
  return new Promise((resolve) => {
    const log = createWriteStream(logFile);
    const child = spawn(process.execPath, [runTests, ...filters], {
      stdio: ["ignore", "pipe", "pipe"],
      env: process.env,
      detached: true,
    });
    suite = child;
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on("close", (code, signal) => {
      suite = null;
      log.end(() => resolve(code ?? (signal ? 128 : 1)));
    });
  });
}

/** The lines `run-tests.mjs` prints at the end (slowest files, totals), and the failures. */
function summaryOf(logFile) {
  const lines = readFileSync(logFile, "utf8").split("\n");
  const start = lines.findIndex((line) => line.startsWith("# Slowest test files"));
  const timings = start === -1 ? [] : lines.slice(start).filter((line) => line.startsWith("#"));
  const failures = lines.filter((line) => /^\s*not ok /.test(line));
  return { timings, failures };
}

const options = parseArguments(process.argv.slice(2));
const runTests = fileURLToPath(new URL("run-tests.mjs", import.meta.url));
const logDir = mkdtempSync(path.join(tmpdir(), "capstan-stress-"));
const loops = Array.from({ length: options.load }, startBusyLoop);
const stopLoops = () => {
  for (const loop of loops) if (loop.exitCode === null && loop.signalCode === null) loop.kill("SIGKILL");
};
process.on("exit", stopLoops);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    stopLoops();
    if (suite?.pid !== undefined) {
      try {
        process.kill(-suite.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    process.exit(130);
  });
}

console.log(
  `# ${options.runs} run(s) of the suite${options.filters.length ? ` (${options.filters.join(" ")})` : ""}, ` +
    `${options.load} busy loop(s) on ${availableParallelism()} core(s), ` +
    `${process.env.CAPSTAN_TEST_DATABASE_URL ? "SQLite and PostgreSQL" : "SQLite only"}; logs in ${logDir}`,
);
const results = [];
try {
  for (let run = 1; run <= options.runs; run++) {
    const logFile = path.join(logDir, `run-${run}.log`);
    const started = performance.now();
    const status = await runSuite(runTests, options.filters, logFile);
    const seconds = (performance.now() - started) / 1000;
    const { timings, failures } = summaryOf(logFile);
    results.push({ run, passed: status === 0, seconds });
    console.log(`\n# run ${run}: ${status === 0 ? "pass" : "FAIL"} in ${seconds.toFixed(1)} s (${logFile})`);
    for (const line of [...failures.map((line) => `#   ${line.trim()}`), ...timings]) console.log(line);
  }
} finally {
  stopLoops();
}
const failed = results.filter((result) => !result.passed);
console.log(
  `\n# stress: ${results.length - failed.length} of ${results.length} run(s) passed; ` +
    results.map((result) => `${result.seconds.toFixed(0)} s`).join(", "),
);
process.exit(failed.length > 0 ? 1 : 0);
