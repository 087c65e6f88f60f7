#!/usr/bin/env node
// Runs every test file under test/ with the Node test runner. Node 20's runner does not expand
// globs itself, so the files are listed here. Extra arguments narrow the run to matching paths:
//   npm test -- bindings        (only files whose path contains "bindings")
// The suite runs on SQLite always, and once more on PostgreSQL when CAPSTAN_TEST_DATABASE_URL
// is set (each test app then gets a fresh database there, see test/helpers/database.ts). The
// PostgreSQL pass runs the suites that touch the database; pure code (test/unit) and the CLI
// (which drives its own SQLite-backed server) do not depend on the dialect.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";

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
const DIALECT_INDEPENDENT = [`test${path.sep}unit${path.sep}`, `test${path.sep}cli${path.sep}`];

function runSuite(dialect) {
  const suite =
    dialect === "sqlite"
      ? files
      : files.filter((file) => !DIALECT_INDEPENDENT.some((dir) => file.startsWith(dir)));
  console.log(`\n# Capstan test suite on ${dialect}\n`);
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "--expose-gc", "--test", "--test-concurrency=2", "--test-timeout=120000", ...suite],
    {
      stdio: "inherit",
      env: {
        ...process.env,
        CAPSTAN_TEST_DIALECT: dialect,
        CAPSTAN_LOG_LEVEL: process.env.CAPSTAN_LOG_LEVEL ?? "silent",
      },
    },
  );
  return result.status ?? 1;
}

const dialects = process.env.CAPSTAN_TEST_DATABASE_URL ? ["sqlite", "postgres"] : ["sqlite"];
const failed = dialects.filter((dialect) => runSuite(dialect) !== 0);
if (failed.length > 0) console.error(`\n# test suite failed on: ${failed.join(", ")}`);
process.exit(failed.length > 0 ? 1 : 0);
