#!/usr/bin/env node
// Runs every test file under test/ with the Node test runner. Node 20's runner does not expand
// globs itself, so the files are listed here. Extra arguments narrow the run to matching paths:
//   npm test -- bindings        (only files whose path contains "bindings")
// The suite runs on SQLite always, and once more on PostgreSQL when CAPSTAN_TEST_DATABASE_URL
// is set (each test app then gets a fresh database there, see scripts/app-database.ts). The
// PostgreSQL pass runs the suites that touch the database; pure code (test/unit) and the CLI
// (which drives its own SQLite-backed server) do not depend on the dialect.
//
// Each test file runs precompiled: before the jobs start, scripts/compiled-sources.ts transpiles
// src/, test/ and scripts/ once into .cache/compiled-<key>/ (a new tree when any of their files
// changed), and `test/x.test.ts` runs as `node --enable-source-maps <tree>/test/x.test.js`. tsx's
// loader cost each file 0.5 to 1.8 s of CPU; the compiled files still take themselves for the `.ts`
// files (import.meta), and their stack traces point at the `.ts` lines. Jobs, timings, filters and
// the failed files are named by the `.ts` path. CAPSTAN_TEST_TSX=1 runs the files (and the servers
// and CLIs they start) through tsx instead, as `node --import tsx test/x.test.ts`.
//
// Scheduling: each (file, dialect) pair is a job, run as its own node process
// (what `node --test` does for each file, without a runner process around it). The jobs of both
// dialects share one pool of CAPSTAN_TEST_CONCURRENCY processes (default: the number of cores plus
// one, as the files wait on sockets, child processes and browsers part of the time), and the
// longest start first: durations come from the last run on this machine (.cache/test-timings.json),
// else from scripts/test-timings.json; a file neither knows (a new one) starts before all others,
// so that it can never be the long job that runs alone at the end. Each job's output is printed
// whole when it ends, so files never interleave their lines.
// A file still running after 15 minutes is killed with everything it started (a hang guard, not a
// speed limit: a loaded machine runs the CLI files many times slower).
// At the end it prints the counts of all files together, the failed files, the slowest files and
// the time the run took, so that a suite that creeps towards CI's patience is seen before it gets there.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(ROOT);
const HANG_GUARD_MS = 15 * 60 * 1000;
const BASELINE_TIMINGS = path.join(ROOT, "scripts", "test-timings.json");
const LOCAL_TIMINGS = path.join(ROOT, ".cache", "test-timings.json");

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "fixtures" && entry.name !== "helpers") found.push(...findTests(full));
    } else if (entry.name.endsWith(".test.ts")) {
      found.push(full);
    }
  }
  return found.sort();
}

const filters = process.argv.slice(2);
const files = findTests("test").filter(
  (file) => filters.length === 0 || filters.some((f) => file.includes(f)),
);
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
// test/openapi checks the OpenAPI document and the tools that read it, which no dialect changes.
const DIALECT_INDEPENDENT = [
  `test${path.sep}unit${path.sep}`,
  `test${path.sep}cli${path.sep}`,
  `test${path.sep}openapi${path.sep}`,
];

function concurrency() {
  const configured = process.env.CAPSTAN_TEST_CONCURRENCY;
  if (configured === undefined || configured === "") return availableParallelism() + 1;
  const value = Number(configured);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`CAPSTAN_TEST_CONCURRENCY must be a whole number above 0, got ${configured}`);
    process.exit(1);
  }
  return value;
}

/** `{ "test/x.test.ts": { "sqlite": ms, "postgres": ms } }`, or nothing if the file is missing or unreadable. */
function readTimings(file) {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8"));
    return parsed !== null && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

const key = (file) => file.split(path.sep).join("/");

function expectedMs(timings, job) {
  for (const source of timings) {
    const ms = source[key(job.file)]?.[job.dialect];
    if (typeof ms === "number") return ms;
  }
  return Number.POSITIVE_INFINITY; // a new file: start it first
}

function jobsFor(dialects) {
  const timings = [readTimings(LOCAL_TIMINGS), readTimings(BASELINE_TIMINGS)];
  const jobs = [];
  for (const dialect of dialects) {
    const suite =
      dialect === "sqlite"
        ? files
        : files.filter((file) => !DIALECT_INDEPENDENT.some((dir) => file.startsWith(dir)));
    for (const file of suite) jobs.push({ file, dialect, expected: 0 });
  }
  for (const job of jobs) job.expected = expectedMs(timings, job);
  // Longest first; ties (new files) keep the sorted order, SQLite before PostgreSQL.
  return jobs.sort((a, b) => (b.expected > a.expected ? 1 : b.expected < a.expected ? -1 : 0));
}

const reporter = process.stdout.isTTY ? "spec" : "tap";
const COUNTS = ["tests", "suites", "pass", "fail", "cancelled", "skipped", "todo"];
// ANSI colour codes of the spec reporter.
const ANSI = /\u001b\[[0-9;]*m/g;

/** The counts a reporter prints at the end of a file (`# pass 3` in TAP, `ℹ pass 3` in spec). */
function countsOf(output) {
  const counts = {};
  for (const line of output.replace(ANSI, "").split("\n")) {
    const match = /^(?:#|ℹ) (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(line.trim());
    if (match) counts[match[1]] = Number(match[2]);
  }
  return counts;
}

/** Every process a job started, so that a hang or an interrupt ends all of them. */
const running = new Set();

/** How a job's process runs its file: its compiled copy in `tree`, or through tsx (`tree` null). */
function nodeArgs(file, tree) {
  const options = ["--expose-gc", `--test-reporter=${reporter}`, "--test-reporter-destination=stdout"];
  if (tree === null) return ["--import", "tsx", ...options, file];
  return ["--enable-source-maps", ...options, path.join(tree, file.replace(/\.ts$/, ".js"))];
}

function runJob(job, tree) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, nodeArgs(job.file, tree), {
      cwd: ROOT,
      // Its own process group: the hang guard ends the servers and browsers it started too.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        ...(process.stdout.isTTY ? { FORCE_COLOR: process.env.FORCE_COLOR ?? "1" } : {}),
        CAPSTAN_TEST_DIALECT: job.dialect,
        CAPSTAN_LOG_LEVEL: process.env.CAPSTAN_LOG_LEVEL ?? "silent",
      },
    });
    running.add(child);
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    let hung = false;
    const guard = setTimeout(() => {
      hung = true;
      killGroup(child);
    }, HANG_GUARD_MS);
    // A process the file started and left behind (a server of a test that failed before stopping
    // it) would keep the output pipes open and the job running: it ends with the file.
    child.on("exit", () => killGroup(child));
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      running.delete(child);
      const counts = countsOf(output);
      const passed = code === 0 && !hung;
      if (hung)
        output += `\nnot ok - ${key(job.file)} was still running after ${HANG_GUARD_MS / 60000} minutes\n`;
      else if (!passed && !counts.fail)
        output += `\nnot ok - ${key(job.file)} exited with ${code ?? signal}\n`;
      resolve({ ...job, durationMs: performance.now() - started, passed, counts, output });
    });
  });
}

function killGroup(child) {
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // the group has already gone
  }
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of running) killGroup(child);
    process.exit(130);
  });
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

async function runAll(jobs, slots, tree) {
  const results = [];
  let next = 0;
  async function worker() {
    while (next < jobs.length) {
      const job = jobs[next++];
      const result = await runJob(job, tree);
      results.push(result);
      const verdict = result.passed ? "passed" : "FAILED";
      process.stdout.write(
        `\n# ${key(job.file)} on ${job.dialect}: ${verdict} in ${seconds(result.durationMs)} (${results.length}/${jobs.length})\n`,
      );
      process.stdout.write(result.output.endsWith("\n") ? result.output : `${result.output}\n`);
    }
  }
  await Promise.all(Array.from({ length: Math.min(slots, jobs.length) }, worker));
  return results;
}

/** Keeps this run's durations for the next one's order (a file that failed keeps its old figure). */
function saveTimings(results) {
  const timings = readTimings(LOCAL_TIMINGS);
  for (const result of results.filter((r) => r.passed)) {
    timings[key(result.file)] = {
      ...timings[key(result.file)],
      [result.dialect]: Math.round(result.durationMs),
    };
  }
  try {
    mkdirSync(path.dirname(LOCAL_TIMINGS), { recursive: true });
    const scratch = `${LOCAL_TIMINGS}.${process.pid}`;
    writeFileSync(scratch, `${JSON.stringify(timings, null, 2)}\n`);
    renameSync(scratch, LOCAL_TIMINGS);
  } catch (error) {
    console.error(`# could not save the timings to ${LOCAL_TIMINGS}: ${error.message}`);
  }
}

function printSummary(results, wallMs, slots) {
  const totals = Object.fromEntries(COUNTS.map((name) => [name, 0]));
  for (const result of results) for (const name of COUNTS) totals[name] += result.counts[name] ?? 0;
  console.log("\n# All files");
  for (const name of COUNTS) console.log(`# ${name} ${totals[name]}`);
  const failed = results.filter((result) => !result.passed);
  if (failed.length > 0) {
    console.log("# Failed files");
    for (const { file, dialect } of failed) console.log(`#   ${dialect.padEnd(8)}  ${key(file)}`);
  }
  const slowest = [...results].sort((a, b) => b.durationMs - a.durationMs);
  console.log("\n# Slowest test files");
  for (const { file, dialect, durationMs, passed } of slowest.slice(0, 10)) {
    console.log(
      `#   ${seconds(durationMs).padStart(8)}  ${dialect.padEnd(8)}  ${key(file)}${passed ? "" : "  (failed)"}`,
    );
  }
  console.log("# Total");
  for (const dialect of new Set(results.map((result) => result.dialect))) {
    const own = results.filter((result) => result.dialect === dialect);
    const busy = own.reduce((sum, result) => sum + result.durationMs, 0);
    console.log(`#   ${seconds(busy).padStart(8)}  ${dialect} (${own.length} files, time summed over files)`);
  }
  console.log(`#   ${seconds(wallMs).padStart(8)}  overall (${slots} files at a time)`);
  const cpuMs = childrenCpuMs();
  if (cpuMs !== null) {
    const cores = (cpuMs / wallMs).toFixed(2);
    console.log(
      `#   ${seconds(cpuMs).padStart(8)}  CPU used by the files and their children (${cores} cores on average)`,
    );
  }
}

/**
 * The CPU time of every process the run waited for (Linux: /proc/self/stat's cutime and cstime), to
 * show whether the files were waiting on CPU or on something else at the chosen concurrency.
 */
function childrenCpuMs() {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 16 and 17 of proc(5), counted from the state (field 3): clock ticks, 100 per second.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return null;
  }
}

/**
 * The test files and what they run (src/, scripts/, and the server and CLI children), transpiled
 * once here; returns the tree's folder, or null with CAPSTAN_TEST_TSX=1 (everything through tsx).
 */
function prepareCompiledTree() {
  if (process.env.CAPSTAN_TEST_TSX === "1") return null;
  const built = spawnSync(process.execPath, ["--import", "tsx", "scripts/compiled-sources.ts"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  // Its last line ends with the tree's path, relative to the root.
  const tree = /: (\S+)\s*$/.exec(built.stdout ?? "")?.[1];
  if (built.status !== 0 || tree === undefined) {
    process.stdout.write(built.stdout ?? "");
    console.error("# could not transpile src/, test/ and scripts/ for the test files");
    process.exit(1);
  }
  process.stdout.write(built.stdout);
  return path.join(ROOT, tree);
}

/**
 * The console's browser files build web/dist when it is missing; they start together (they are
 * among the longest), so it is built here once instead of by each of them at the same time.
 */
function prepareConsole(jobs) {
  const needed = jobs.some((job) => key(job.file).startsWith("test/console/"));
  if (!needed || existsSync(path.join(ROOT, "web", "dist", "index.html"))) return;
  const program = 'import("./scripts/console-harness.ts").then((harness) => harness.ensureConsoleBuilt())';
  const built = spawnSync(process.execPath, ["--import", "tsx", "--eval", program], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (built.status !== 0) {
    console.error("# could not build the console for the browser tests");
    process.exit(1);
  }
}

const dialects = process.env.CAPSTAN_TEST_DATABASE_URL ? ["sqlite", "postgres"] : ["sqlite"];
const slots = concurrency();
const started = performance.now();
const tree = prepareCompiledTree();
const jobs = jobsFor(dialects);
prepareConsole(jobs);
console.log(
  `\n# Capstan test suite on ${dialects.join(" and ")}: ${jobs.length} files, ${slots} at a time, longest first\n`,
);
const results = await runAll(jobs, slots, tree);
saveTimings(results);
printSummary(results, performance.now() - started, slots);
const failedDialects = [...new Set(results.filter((r) => !r.passed).map((r) => r.dialect))];
if (failedDialects.length > 0) console.error(`\n# test suite failed on: ${failedDialects.join(", ")}`);
process.exit(failedDialects.length > 0 ? 1 : 0);
