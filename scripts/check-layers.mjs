// Enforces the layering drawn in docs/architecture.md over the imports of src/ (no dependency: the
// imports are read with a regular expression, which is enough for this code base's import style).
//   node scripts/check-layers.mjs     exit 1 and list every violation and every import cycle
// Rules:
//   1. a module imports only the layers its own layer may import (LAYERS below);
//   2. domain/ imports nothing that does I/O (no node:fs, node:net, node:child_process, database
//      drivers, …);
//      The one exception: routes/ may import the row types of db/schema.ts (`import type`) for
//      their presenters; they reach the database only through services (and import no database
//      client: kysely, pg, better-sqlite3);
//   3. services/, http/ and routes/ build no SQL: every query is a function of db/ (a repository),
//      so no call of a Kysely query builder (.selectFrom, .insertInto, .updateTable, .deleteFrom, …)
//      and no `sql` template imported from kysely (read from the code with comments stripped);
//   4. there are no import cycles (type-only imports included: a cycle of types is still a cycle
//      in the design). Each cycle is reported as its path;
//   5. bench/ and scripts/ import nothing from test/: what a benchmark shares with the tests (the
//      test app, the database per run, the console harness) lives in scripts/, and test/helpers
//      re-exports it, so a change to a test can never change what a benchmark measures.
//   6. nothing in src/, test/, bench/ or scripts/ constructs better-sqlite3's Database itself but
//      src/db/sqlite-addon.ts (openSqlite) and the script that builds the addon: the suite runs on
//      two Nodes from one node_modules, and a bare `new Database(…)` loads the addon built for the
//      first Node only (it failed CI on Node 24 once).
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SRC = path.join(ROOT, "src");
const TEST = path.join(ROOT, "test");
/** Folders whose modules may not import tests (rule 5). */
const TEST_FREE = ["bench", "scripts"].map((folder) => path.join(ROOT, folder));

/**
 * Each layer and the layers it may import (itself always included). Read bottom-up: domain and
 * lib are pure, errors and contract describe the API, db/storage hold data, services hold the
 * rules, http/ and routes/ speak HTTP, and the composition root (app, server, main, composition)
 * wires everything. The CLI talks to the server over HTTP only: it shares the contract and pure
 * code, never the server's internals.
 */
const LAYERS = {
  domain: ["errors"],
  lib: ["domain", "errors"],
  errors: ["domain", "contract"],
  contract: ["domain", "lib", "errors"],
  config: ["domain", "lib", "errors"],
  db: ["domain", "lib", "errors", "contract", "config"],
  storage: ["domain", "lib", "errors", "config", "db"],
  services: ["domain", "lib", "errors", "contract", "config", "db", "storage"],
  http: ["domain", "lib", "errors", "contract", "config", "db", "storage", "services"],
  routes: ["domain", "lib", "errors", "contract", "config", "services", "http"],
  root: ["domain", "lib", "errors", "contract", "config", "db", "storage", "services", "http", "routes"],
  cli: ["domain", "lib", "errors", "contract", "config", "root"],
};

/** Modules with I/O that domain/ may not import (Node built-ins and drivers). */
const IO_MODULES =
  /^(node:)?(fs|fs\/promises|net|http|https|http2|dgram|dns|child_process|worker_threads|cluster|tls|readline)$|^(better-sqlite3|pg|kysely|pino)$/;

/** Database clients: a route that imports one could run SQL in a handler. */
const DATABASE_MODULES = /^(kysely|pg|better-sqlite3)$/;

/** Layers whose modules may not build queries themselves (rule 3). */
const QUERY_FREE_LAYERS = new Set(["services", "http", "routes"]);
const QUERY_BUILDER_CALL =
  /\.(selectFrom|selectNoFrom|insertInto|replaceInto|updateTable|deleteFrom|mergeInto)\s*\(/;
const KYSELY_SQL_IMPORT = /import\s*\{[^}]*\bsql\b[^}]*\}\s*from\s*["']kysely["']/;

/** The code of a module without its comments (a comment may name a query builder). */
const codeOf = (text) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");

/** The layer of a file under src/, by its first path segment. */
function layerOf(relative) {
  const [first] = relative.split("/");
  if (first === "errors.ts") return "errors";
  if (first === "config.ts") return "config";
  if (first.endsWith(".ts")) return "root";
  return first;
}

function walk(dir, isModule = (name) => name.endsWith(".ts") && !name.endsWith(".d.ts")) {
  const files = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) files.push(...walk(full, isModule));
    else if (isModule(name)) files.push(full);
  }
  return files;
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** Each import of `file`: its specifier and whether it imports types only. */
function importsOf(file) {
  const text = readFileSync(file, "utf8");
  const found = [];
  for (const match of text.matchAll(IMPORT)) {
    found.push({ specifier: match[2] ?? match[3], typeOnly: match[1] !== undefined });
  }
  return found;
}

/** Presenters in routes/ read row types; that is no access to the database. */
const isRowTypeImport = (layer, targetRelative, typeOnly) =>
  layer === "routes" && typeOnly && targetRelative === path.join("db", "schema.ts");

function resolveRelative(from, specifier) {
  const target = path.resolve(path.dirname(from), specifier).replace(/\.js$/, ".ts");
  return target;
}

const files = walk(SRC);
const graph = new Map();
const problems = [];
for (const file of files) {
  const relative = path.relative(SRC, file);
  const layer = layerOf(relative);
  const allowed = new Set([layer, ...(LAYERS[layer] ?? [])]);
  if (!LAYERS[layer]) problems.push(`${relative}: in no layer (add its folder to scripts/check-layers.mjs)`);
  const edges = [];
  for (const { specifier, typeOnly } of importsOf(file)) {
    if (specifier.startsWith(".")) {
      const target = resolveRelative(file, specifier);
      const targetRelative = path.relative(SRC, target);
      if (targetRelative.startsWith("..")) {
        problems.push(`${relative}: imports ${specifier}, outside src/`);
        continue;
      }
      edges.push(target);
      const targetLayer = layerOf(targetRelative);
      if (!allowed.has(targetLayer) && !isRowTypeImport(layer, targetRelative, typeOnly)) {
        problems.push(`${relative}: ${layer}/ may not import ${targetLayer}/ (${targetRelative})`);
      }
    } else if (layer === "domain" && IO_MODULES.test(specifier)) {
      problems.push(`${relative}: domain/ is pure code, but imports ${specifier}`);
    } else if (layer === "routes" && DATABASE_MODULES.test(specifier)) {
      problems.push(`${relative}: routes/ reach the database through services, but imports ${specifier}`);
    }
  }
  graph.set(file, edges);
  if (QUERY_FREE_LAYERS.has(layer)) {
    const code = codeOf(readFileSync(file, "utf8"));
    const call = QUERY_BUILDER_CALL.exec(code);
    if (call)
      problems.push(`${relative}: ${layer}/ builds a query (.${call[1]}); move it into a db/ repository`);
    if (KYSELY_SQL_IMPORT.test(code)) {
      problems.push(
        `${relative}: ${layer}/ imports kysely's sql template; move the query into a db/ repository`,
      );
    }
  }
}

// Rule 5: relative imports only (a bare specifier is a package), whatever the script's language.
const isScript = (name) => /\.(ts|mts|cts|js|mjs|cjs)$/.test(name) && !/\.d\.[mc]?ts$/.test(name);
for (const file of TEST_FREE.flatMap((dir) => walk(dir, isScript))) {
  for (const { specifier } of importsOf(file)) {
    if (!specifier.startsWith(".")) continue;
    const target = path.resolve(path.dirname(file), specifier);
    if (target === TEST || target.startsWith(`${TEST}${path.sep}`)) {
      problems.push(
        `${path.relative(ROOT, file)}: imports ${specifier} from test/; move what it needs into scripts/`,
      );
    }
  }
}

// Rule 6: the constructor of better-sqlite3's default import, called outside the one opener.
const SQLITE_OPENERS = new Set(["src/db/sqlite-addon.ts", "scripts/build-sqlite-addon.mjs"]);
const SQLITE_DEFAULT_IMPORT = /import\s+(?!type\b)(\w+)\s+from\s*["']better-sqlite3["']/;
for (const file of ["src", "test", "bench", "scripts"].flatMap((dir) =>
  walk(path.join(ROOT, dir), isScript),
)) {
  const relative = path.relative(ROOT, file).split(path.sep).join("/");
  if (SQLITE_OPENERS.has(relative)) continue;
  const code = codeOf(readFileSync(file, "utf8"));
  const name = SQLITE_DEFAULT_IMPORT.exec(code)?.[1];
  if (name && new RegExp(`new\\s+${name}\\s*\\(`).test(code)) {
    problems.push(
      `${relative}: opens SQLite with \`new ${name}(…)\`; use openSqlite (src/db/sqlite-addon.ts)`,
    );
  }
}

// Cycles: a depth-first search that reports each back edge once, as the path that closes it.
const state = new Map();
const stack = [];
const cycles = [];
function visit(file) {
  state.set(file, "open");
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (!graph.has(next)) continue;
    const seen = state.get(next);
    if (seen === "open") {
      const cycle = stack.slice(stack.indexOf(next)).concat(next);
      cycles.push(cycle.map((f) => path.relative(SRC, f)).join(" → "));
    } else if (seen === undefined) {
      visit(next);
    }
  }
  stack.pop();
  state.set(file, "done");
}
for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
for (const cycle of cycles) problems.push(`import cycle: ${cycle}`);

if (problems.length > 0) {
  process.stderr.write(`Layering check failed (docs/architecture.md):\n  ${problems.join("\n  ")}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`layers ok: ${files.length} modules, no forbidden import, no cycle\n`);
}
