#!/usr/bin/env node
// The `capstan` command. Runs straight from the TypeScript sources through tsx, so a fresh clone
// needs no build step; a compiled dist/ is used instead when it is newer than every source file.
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const compiled = path.join(root, "dist", "src", "cli", "main.js");
const sources = path.join(root, "src");

function modifiedAt(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

function newestSourceTime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceTime(full));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, modifiedAt(full) ?? 0);
  }
  return newest;
}

async function loadMain() {
  const compiledAt = modifiedAt(compiled);
  if (compiledAt !== null && compiledAt >= newestSourceTime(sources))
    return import(pathToFileURL(compiled).href);
  const { register } = await import("tsx/esm/api");
  register();
  return import(pathToFileURL(path.join(sources, "cli", "main.ts")).href);
}

const { main } = await loadMain();
process.exitCode = await main(process.argv.slice(2));
