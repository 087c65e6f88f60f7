// Shared by the tests and the benchmarks: `src/` transpiled to JavaScript once, for the child
// processes they start (the server, the `capstan` CLI). Under `node --import tsx` every child first
// starts tsx's loader and sends each of its modules through it: ~1.5 s of CPU per child, which the
// CLI end-to-end files pay for every command they run. The same transform tsx applies (esbuild, one
// file at a time, no bundling) is done here once and written to `.cache/compiled-<key>/src/`, the
// key being a digest of every file under `src/` (path, size, modification time), so a change to
// the sources makes a new tree and an unchanged checkout reuses the last one. The tree sits two
// levels below the package root, as `dist/src` does, so what the code finds by walking upwards
// from its own file (package.json, web/dist, node_modules) is found the same way.
// Concurrent builders (test files running side by side) each build into a private folder and rename
// it into place; the first rename wins and the others use its tree.
// CAPSTAN_TEST_TSX=1 makes the children run the TypeScript sources through tsx instead.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, version } from "esbuild";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SOURCES = path.join(ROOT, "src");
const CACHE = path.join(ROOT, ".cache");
const PREFIX = "compiled-";
/** Another key's tree is removed once it is this old (a run that still uses it has long ended). */
const STALE_MS = 24 * 60 * 60 * 1000;

/** How a child process runs a module of `src/`: the program and arguments for `spawn(process.execPath, …)`. */
export interface SourceRunner {
  /** Node arguments that run `src/<relative>.ts` (e.g. `["src/main.ts"]` with tsx's loader). */
  args(relative: string): string[];
  /** The argument that runs the `capstan` CLI as bin/capstan.mjs does. */
  cliArgs(): string[];
}

export function useTsx(): boolean {
  return process.env.CAPSTAN_TEST_TSX === "1";
}

function sourceFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sourceFiles(full));
    else if (entry.isFile()) found.push(full);
  }
  return found.sort();
}

function treeKey(files: string[]): string {
  const hash = createHash("sha256");
  hash.update(`esbuild ${version}\n`);
  for (const file of files) {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${path.relative(ROOT, file)}\0${size}\0${mtimeMs}\n`);
  }
  return hash.digest("hex").slice(0, 16);
}

const CLI_RUNNER = `// Written by scripts/compiled-sources.ts: what bin/capstan.mjs does once it has found the CLI.
import { main } from "./src/cli/main.js";
process.exitCode = await main(process.argv.slice(2));
`;

async function buildTree(target: string, files: string[]): Promise<void> {
  const scratch = `${target}.building-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    const entryPoints = files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"));
    await build({
      entryPoints,
      outdir: scratch,
      outbase: ROOT,
      bundle: false,
      format: "esm",
      platform: "node",
      target: "node20",
      sourcemap: "inline",
      logLevel: "silent",
    });
    // Anything else under src/ (data files read beside a module) is copied as it is.
    for (const file of files.filter((f) => !f.endsWith(".ts"))) {
      const copy = path.join(scratch, path.relative(ROOT, file));
      await mkdir(path.dirname(copy), { recursive: true });
      await copyFile(file, copy);
    }
    await writeFile(path.join(scratch, "capstan.mjs"), CLI_RUNNER);
    await rename(scratch, target);
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    // Another process renamed its tree into place first: the same sources, so use that one.
    if (!existsSync(path.join(target, "capstan.mjs"))) throw error;
  }
}

async function pruneOthers(keep: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(CACHE);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(PREFIX) || path.join(CACHE, entry) === keep) continue;
    const full = path.join(CACHE, entry);
    try {
      if (Date.now() - (await stat(full)).mtimeMs > STALE_MS)
        await rm(full, { recursive: true, force: true });
    } catch {
      // removed meanwhile by another run
    }
  }
}

let pending: Promise<string> | null = null;

/** The folder holding `src/` as JavaScript (and `capstan.mjs`), built when the sources changed. */
export function compiledTree(): Promise<string> {
  pending ??= (async () => {
    const files = sourceFiles(SOURCES);
    const target = path.join(CACHE, `${PREFIX}${treeKey(files)}`);
    if (!existsSync(path.join(target, "capstan.mjs"))) {
      await mkdir(CACHE, { recursive: true });
      await buildTree(target, files);
      await pruneOthers(target);
    }
    return target;
  })();
  return pending;
}

/** How children run the sources: compiled (the default) or through tsx (CAPSTAN_TEST_TSX=1). */
export async function sourceRunner(): Promise<SourceRunner> {
  if (useTsx()) {
    return {
      args: (relative) => ["--import", "tsx", path.join(ROOT, relative)],
      cliArgs: () => [path.join(ROOT, "bin", "capstan.mjs")],
    };
  }
  const tree = await compiledTree();
  return {
    args: (relative) => ["--enable-source-maps", path.join(tree, relative.replace(/\.ts$/, ".js"))],
    cliArgs: () => ["--enable-source-maps", path.join(tree, "capstan.mjs")],
  };
}

// `node --import tsx scripts/compiled-sources.ts` builds the tree (npm test does, before the files
// start) and prints where it is.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  console.log(`# sources transpiled for child processes: ${path.relative(ROOT, await compiledTree())}`);
}
