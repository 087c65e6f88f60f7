// The CLI's own version, sent as `User-Agent: capstan-cli/<version>` (SPEC §2.5).
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | null = null;

/** Read from the project's package.json, found upwards from here (src/cli/ or dist/src/cli/). */
export function cliVersion(): string {
  cached ??= findPackageVersion(path.dirname(fileURLToPath(import.meta.url)));
  return cached;
}

export function userAgent(): string {
  return `capstan-cli/${cliVersion()}`;
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
