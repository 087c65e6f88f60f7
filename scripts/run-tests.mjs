#!/usr/bin/env node
// Runs every test file under test/ with the Node test runner. Node 20's runner does not expand
// globs itself, so the files are listed here. Extra arguments narrow the run to matching paths:
//   npm test -- bindings        (only files whose path contains "bindings")
// The suite runs on SQLite always, and once more on PostgreSQL when CAPSTAN_TEST_DATABASE_URL
// is set (each test app then gets a fresh database there, see scripts/app-database.ts). The
// PostgreSQL pass runs the suites that touch the database; pure code (test/unit) and the CLI
// (which drives its own SQLite-backed server) do not depend on the dialect.
// At the end it prints the slowest test files and the time each dialect took, so that a suite that
// creeps towards CI's patience is seen before it gets there.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

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

function runSuite(dialect) {
  const suite =
    dialect === "sqlite"
      ? files
      : files.filter((file) => !DIALECT_INDEPENDENT.some((dir) => file.startsWith(dir)));
  // `node --test` with no file would look for tests by its own patterns: run nothing instead.
  if (suite.length === 0) {
    console.log(`\n# No test file to run on ${dialect}: the matched ones do not depend on the dialect\n`);
    return { dialect, status: 0, wallMs: 0, files: [] };
  }
  console.log(`\n# Capstan test suite on ${dialect}\n`);
  const durationsFile = path.join(scratch, `${dialect}.jsonl`);
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--expose-gc",
      "--test",
      "--test-concurrency=2",
      // A guard against a hang, not a speed limit: a loaded machine runs the CLI files many times slower.
      "--test-timeout=900000",
      // What the runner would print by itself (CI reads its closing lines), and the file timings.
      `--test-reporter=${process.stdout.isTTY ? "spec" : "tap"}`,
      "--test-reporter-destination=stdout",
      `--test-reporter=${reporter}`,
      `--test-reporter-destination=${durationsFile}`,
      ...suite,
    ],
    {
      stdio: "inherit",
      env: {
        ...process.env,
        CAPSTAN_TEST_DIALECT: dialect,
        CAPSTAN_LOG_LEVEL: process.env.CAPSTAN_LOG_LEVEL ?? "silent",
      },
    },
  );
  return {
    dialect,
    status: result.status ?? 1,
    wallMs: performance.now() - started,
    files: readDurations(durationsFile).map((entry) => ({ ...entry, dialect })),
  };
}

function readDurations(file) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return []; // the runner died before reporting anything; its own output says why
  }
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

function printTimings(runs) {
  const files = runs.flatMap((run) => run.files).sort((a, b) => b.durationMs - a.durationMs);
  console.log("\n# Slowest test files");
  for (const { file, dialect, durationMs, passed } of files.slice(0, 10)) {
    const shown = path.relative(process.cwd(), file);
    console.log(
      `#   ${seconds(durationMs).padStart(8)}  ${dialect.padEnd(8)}  ${shown}${passed ? "" : "  (failed)"}`,
    );
  }
  console.log("# Total");
  for (const run of runs) {
    console.log(`#   ${seconds(run.wallMs).padStart(8)}  ${run.dialect} (${run.files.length} files)`);
  }
  const total = runs.reduce((sum, run) => sum + run.wallMs, 0);
  console.log(`#   ${seconds(total).padStart(8)}  overall`);
}

const reporter = fileURLToPath(new URL("test-durations-reporter.mjs", import.meta.url));
const scratch = mkdtempSync(path.join(tmpdir(), "capstan-test-timings-"));
const dialects = process.env.CAPSTAN_TEST_DATABASE_URL ? ["sqlite", "postgres"] : ["sqlite"];
let runs;
try {
  runs = dialects.map(runSuite);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
printTimings(runs);
const failed = runs.filter((run) => run.status !== 0).map((run) => run.dialect);
if (failed.length > 0) console.error(`\n# test suite failed on: ${failed.join(", ")}`);
process.exit(failed.length > 0 ? 1 : 0);
