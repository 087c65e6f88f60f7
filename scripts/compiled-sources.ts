// Shared by the tests, the test runner and the benchmarks: `src/`, `test/` and `scripts/`
// transpiled to JavaScript once. Under `node --import tsx` every process first starts tsx's loader
// and sends each of its modules through it: ~0.5–1.8 s of CPU per process, which the suite paid for
// every test file and every server or CLI child a file starts. The same transform tsx applies
// (esbuild, one file at a time, no bundling) is done here once and written to
// `.cache/compiled-<key>/`, the key being a digest of every file it reads (path, size, modification
// time) and of esbuild's version, so a change to any of them makes a new tree and an unchanged
// checkout reuses the last one. The tree sits two levels below the package root, as `dist/src`
// does, so what `src/` finds by walking upwards from its own file (package.json, web/dist,
// node_modules) is found the same way, and a test's `../../src/x.js` is the compiled module.
// In `test/` and `scripts/` (never in `src/`, whose worker pools look at their own compiled
// location) `import.meta.url`, `.filename` and `.dirname` are replaced by the values of the
// original `.ts` file, so what a test or script finds from its own place (the root, fixtures,
// bin/, web/dist, `.cache`) is what it finds under tsx. test/fixtures is neither transpiled nor
// copied. Each file carries an inline source map naming its `.ts` file: run with
// `--enable-source-maps`, stack traces point at the TypeScript lines.
// Concurrent builders (test files running side by side) each build into a private folder and rename
// it into place; the first rename wins and the others use its tree.
// CAPSTAN_TEST_TSX=1 makes the runner and the children run the TypeScript files through tsx instead.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, transform, version } from "esbuild";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SOURCES = path.join(ROOT, "src");
/** Folders whose `.ts` files are transpiled as if they still sat in the checkout (see above). */
const IN_PLACE = [path.join(ROOT, "test"), path.join(ROOT, "scripts")];
const FIXTURES = path.join(ROOT, "test", "fixtures");
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

const isTypeScript = (file: string) => file.endsWith(".ts") && !file.endsWith(".d.ts");

/** The files of the tree: everything under src/, and the TypeScript of test/ (not its fixtures) and scripts/. */
interface TreeFiles {
  sources: string[];
  inPlace: string[];
}

function treeFiles(): TreeFiles {
  const inPlace = IN_PLACE.flatMap((dir) => (existsSync(dir) ? sourceFiles(dir) : [])).filter(
    (file) => isTypeScript(file) && !file.startsWith(`${FIXTURES}${path.sep}`),
  );
  return { sources: sourceFiles(SOURCES), inPlace };
}

function treeKey({ sources, inPlace }: TreeFiles): string {
  const hash = createHash("sha256");
  // The root too: the tests' and scripts' own locations are written into their compiled files.
  hash.update(`esbuild ${version}\n${ROOT}\n`);
  for (const file of [...sources, ...inPlace]) {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${path.relative(ROOT, file)}\0${size}\0${mtimeMs}\n`);
  }
  return hash.digest("hex").slice(0, 16);
}

const CLI_RUNNER = `// Written by scripts/compiled-sources.ts: what bin/capstan.mjs does once it has found the CLI.
import { main } from "./src/cli/main.js";
process.exitCode = await main(process.argv.slice(2));
`;

/**
 * A test or script file as JavaScript that still takes itself for the `.ts` file in the checkout:
 * its `import.meta.url`, `.filename` and `.dirname` are those of the original, its source map
 * names the original (relative to the compiled file, as esbuild's build writes it for src/).
 */
async function transpileInPlace(file: string, scratch: string, tsconfigRaw: string): Promise<void> {
  const relative = path.relative(ROOT, file);
  const output = path.join(scratch, relative.replace(/\.ts$/, ".js"));
  // The scratch folder is renamed to the tree, a sibling: the same path back to the checkout.
  const sourcefile = path.relative(path.dirname(output), file).split(path.sep).join("/");
  const result = await transform(await readFile(file, "utf8"), {
    loader: "ts",
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "inline",
    sourcefile,
    tsconfigRaw,
    define: {
      "import.meta.url": JSON.stringify(pathToFileURL(file).href),
      "import.meta.filename": JSON.stringify(file),
      "import.meta.dirname": JSON.stringify(path.dirname(file)),
    },
    logLevel: "silent",
  });
  await mkdir(path.dirname(output), { recursive: true });
  await writeFile(output, result.code);
}

async function buildTree(target: string, { sources, inPlace }: TreeFiles): Promise<void> {
  const scratch = `${target}.building-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    const entryPoints = sources.filter(isTypeScript);
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
    const tsconfigRaw = await readFile(path.join(ROOT, "tsconfig.json"), "utf8");
    await Promise.all(inPlace.map((file) => transpileInPlace(file, scratch, tsconfigRaw)));
    // Anything else under src/ (data files read beside a module) is copied as it is.
    for (const file of sources.filter((f) => !f.endsWith(".ts"))) {
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

/**
 * The folder holding `src/`, `test/` and `scripts/` as JavaScript (and `capstan.mjs`), built when
 * any of their files changed.
 */
export function compiledTree(): Promise<string> {
  pending ??= (async () => {
    const files = treeFiles();
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
// start) and prints where it is, relative to the root, as the last thing on its line.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  console.log(`# src/, test/ and scripts/ transpiled: ${path.relative(ROOT, await compiledTree())}`);
}
