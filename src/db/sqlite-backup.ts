// A consistent copy of a live SQLite database through SQLite's online backup API (never a file copy:
// a WAL database's file alone misses what is still in its WAL). Used by backups
// (src/services/backup-service.ts) while the server keeps serving, in its process or another.
import { Worker } from "node:worker_threads";
import { openSqlite } from "./sqlite-addon.js";

/** sqlite3_backup_step's page count for "everything at once": better-sqlite3 caps it there. */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies the database at `source` into the new file `dest`. Every page is copied in one step,
 * inside one read transaction of the source: the copy is the database as of one commit, whatever
 * other connections (this process's server or another process's) write meanwhile; they are not
 * blocked (WAL), and a step that a write interrupts starts again. The copy is then switched out of
 * WAL mode so that it is one self-contained file.
 */
export async function snapshotSqliteHere(source: string, dest: string): Promise<void> {
  const live = openSqlite(source, { fileMustExist: true });
  try {
    live.pragma("busy_timeout = 5000");
    await live.backup(dest, { progress: () => ALL_PAGES });
  } finally {
    live.close();
  }
  const copy = openSqlite(dest, { fileMustExist: true });
  try {
    copy.pragma("journal_mode = DELETE");
  } finally {
    copy.close();
  }
}

// Compiled, the worker's entry is the .js file beside this one; under the TypeScript loader (tests,
// `npm run dev`) it is the .ts file, and Node 20 does not carry `--import tsx` into worker threads,
// so a small script registers the loader there first (as the bundle worker pool does).
const RUNNING_TYPESCRIPT = import.meta.url.endsWith(".ts");
const WORKER_ENTRY = new URL(
  RUNNING_TYPESCRIPT ? "./sqlite-backup-worker.ts" : "./sqlite-backup-worker.js",
  import.meta.url,
);

/** snapshotSqliteHere in a worker thread, so the calling thread (the server's) keeps serving. */
export function snapshotSqlite(source: string, dest: string): Promise<void> {
  const workerData = { source, dest };
  let worker: Worker;
  if (RUNNING_TYPESCRIPT) {
    const loader = import.meta.resolve("tsx/esm/api");
    const script = `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_ENTRY.href)}); });`;
    worker = new Worker(script, { eval: true, workerData });
  } else {
    worker = new Worker(WORKER_ENTRY, { workerData });
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    worker.once("message", (message: { ok: boolean; message?: string }) => {
      settled = true;
      void worker.terminate();
      if (message.ok) resolve();
      else reject(new Error(message.message ?? "the database snapshot failed"));
    });
    worker.once("error", (error) => {
      settled = true;
      reject(error);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`the database snapshot stopped (exit code ${code})`));
    });
  });
}
