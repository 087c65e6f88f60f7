// Runs one SQLite snapshot (./sqlite-backup.ts) in a worker thread: copying every page in one step
// is synchronous, and on the server's thread it would stall every request for as long as the
// database takes to copy.
import { parentPort, workerData } from "node:worker_threads";
import { snapshotSqliteHere } from "./sqlite-backup.js";

const { source, dest } = workerData as { source: string; dest: string };
snapshotSqliteHere(source, dest).then(
  () => parentPort?.postMessage({ ok: true }),
  (error: unknown) => parentPort?.postMessage({ ok: false, message: (error as Error).message }),
);
