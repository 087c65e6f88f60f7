#!/usr/bin/env node
// `npm run dev`: the API server and the console's Vite dev server together. Open the URL Vite
// prints (http://127.0.0.1:5173): it hot-reloads the console and forwards the API's paths to the
// server (web/vite.config.ts). Ctrl-C stops both.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

if (!existsSync("web/node_modules")) {
  console.error("The console's packages are missing: run `npm ci` (it installs web/ too).");
  process.exit(1);
}
const port = process.env.CAPSTAN_PORT ?? "8080";
const children = [
  spawn(process.execPath, ["--import", "tsx", "--watch", "src/main.ts"], { stdio: "inherit" }),
  spawn("npm", ["--prefix", "web", "run", "dev"], {
    stdio: "inherit",
    env: { ...process.env, CAPSTAN_API_URL: `http://127.0.0.1:${port}` },
  }),
];
let stopping = false;
const stop = (code) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  process.exitCode = code;
};
for (const child of children) child.on("exit", (code) => stop(code ?? 0));
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
