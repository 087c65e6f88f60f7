#!/usr/bin/env node
// Runs after the root's `npm ci` / `npm install`: installs the console's own packages (web/ has its
// own package.json and lock, so the server's install stays small), so that `npm ci && npm start`
// is all a newcomer needs. Set CAPSTAN_SKIP_CONSOLE_INSTALL=1 to skip it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

if (process.env.CAPSTAN_SKIP_CONSOLE_INSTALL === "1" || !existsSync("web/package-lock.json")) process.exit(0);
const result = spawnSync("npm", ["ci", "--prefix", "web", "--no-audit", "--no-fund"], { stdio: "inherit" });
process.exit(result.status ?? 1);
