#!/usr/bin/env node
// Lints the committed OpenAPI document with Redocly CLI's recommended rules, every warning counted
// as an error (redocly.yaml). Offline: no telemetry, no update check.
//   node scripts/lint-openapi.mjs [file]     default openapi/openapi.json; exits non-zero on any problem
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const redocly = createRequire(import.meta.url).resolve("@redocly/cli/bin/cli.js");
const file = process.argv[2] ?? path.join(ROOT, "openapi", "openapi.json");

const result = spawnSync(
  process.execPath,
  [redocly, "lint", "--config", path.join(ROOT, "redocly.yaml"), "--format", "stylish", file],
  {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  },
);
process.exit(result.status ?? 1);
