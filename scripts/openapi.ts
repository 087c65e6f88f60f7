// Generates openapi/openapi.json from the routes' own schemas, or checks that the committed file is
// current (CI runs the check, so the published contract never drifts from the code).
//   tsx scripts/openapi.ts --write    regenerate the file
//   tsx scripts/openapi.ts --check    exit 1 when the file differs from what the code declares
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { buildApp } from "../src/app.js";
import { createDeps } from "../src/composition.js";
import { loadConfig } from "../src/config.js";
import { migrateToLatest } from "../src/db/migrate.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TARGET = path.join(ROOT, "openapi", "openapi.json");
const RELATIVE_TARGET = path.relative(ROOT, TARGET);

/** The document the app serves at /openapi.json, built on a throw-away SQLite database. */
async function generateDocument(): Promise<unknown> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "capstan-openapi-"));
  // An empty environment: the document must not depend on the shell it is generated in.
  const config = loadConfig({}, { CAPSTAN_DATA_DIR: dataDir });
  const { deps, close } = await createDeps(config, { logger: pino({ level: "silent" }) });
  try {
    await migrateToLatest(deps.db);
    const app = await buildApp(deps);
    await app.ready();
    const document = app.swagger();
    await app.close();
    return document;
  } finally {
    await close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Object keys sorted at every level, so the file only changes when the contract does. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

function readCommitted(): string | null {
  try {
    return readFileSync(TARGET, "utf8");
  } catch {
    return null;
  }
}

async function main(mode: string | undefined): Promise<number> {
  if (mode !== "--write" && mode !== "--check") {
    process.stderr.write("usage: tsx scripts/openapi.ts --write | --check\n");
    return 2;
  }
  const text = `${JSON.stringify(sortKeys(await generateDocument()), null, 2)}\n`;
  if (mode === "--write") {
    mkdirSync(path.dirname(TARGET), { recursive: true });
    writeFileSync(TARGET, text);
    process.stdout.write(`wrote ${RELATIVE_TARGET}\n`);
    return 0;
  }
  const committed = readCommitted();
  if (committed === text) {
    process.stdout.write(`${RELATIVE_TARGET} is up to date\n`);
    return 0;
  }
  const problem = committed === null ? "is missing" : "is out of date: the routes declare a different API";
  process.stderr.write(`${RELATIVE_TARGET} ${problem}.\nRun \`npm run openapi\` and commit the result.\n`);
  return 1;
}

process.exitCode = await main(process.argv[2]);
