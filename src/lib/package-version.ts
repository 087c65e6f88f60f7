// Capstan's own version, from its package.json: the CLI sends it as its User-Agent (SPEC §2.5) and
// the server reports it on /healthz, so `capstan --version` can show both.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | null = null;

/** Read from the project's package.json, found upwards from here (src/lib/ or dist/src/lib/). */
export function packageVersion(): string {
  cached ??= findPackageVersion(path.dirname(fileURLToPath(import.meta.url)));
  return cached;
}

function findPackageVersion(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = readPackageJson(path.join(dir, "package.json"));
    if (manifest?.name === "capstan" && typeof manifest.version === "string") return manifest.version;
    if (path.dirname(dir) === dir) throw new Error("capstan's package.json was not found");
  }
}

function readPackageJson(file: string): { name?: unknown; version?: unknown } | null {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}
