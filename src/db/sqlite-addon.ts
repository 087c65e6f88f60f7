// better-sqlite3 loads a compiled addon, by default build/Release/better_sqlite3.node, built by
// `npm ci` for the Node that ran it; another Node refuses it (NODE_MODULE_VERSION mismatch). CI runs
// the suite on two Nodes (20 and 24) from one node_modules, so scripts/build-sqlite-addon.mjs builds
// the addon for the second one into build/node-v<ABI>-<platform>-<arch>/ beside the default. Each
// process takes the build for its own ABI when there is one and the default otherwise: the two
// builds never overwrite each other, and both Nodes can run at the same time.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import SqliteDatabase from "better-sqlite3";

/** The directory, inside the better-sqlite3 package, that holds the addon built for this Node's ABI. */
export function sqliteAddonDir(): string {
  const pkg = path.dirname(createRequire(import.meta.url).resolve("better-sqlite3/package.json"));
  return path.join(pkg, "build", `node-v${process.versions.modules}-${process.platform}-${process.arch}`);
}

let ownBuild: string | null | undefined;

/** The addon built for this Node's ABI, or undefined when the package's default build is the one to load. */
export function sqliteNativeBinding(): string | undefined {
  if (ownBuild === undefined) {
    const file = path.join(sqliteAddonDir(), "better_sqlite3.node");
    ownBuild = existsSync(file) ? file : null;
  }
  return ownBuild ?? undefined;
}

/** Opens a SQLite database with the addon that fits the running Node. */
export function openSqlite(file: string, options: SqliteDatabase.Options = {}): SqliteDatabase.Database {
  const nativeBinding = sqliteNativeBinding();
  return new SqliteDatabase(file, nativeBinding === undefined ? options : { ...options, nativeBinding });
}
