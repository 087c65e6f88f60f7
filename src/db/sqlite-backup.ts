// A consistent copy of a live SQLite database through SQLite's online backup API (never a file copy:
// a WAL database's file alone misses what is still in its WAL). Used by backups
// (src/services/backup-service.ts) while the server keeps serving, in its process or another.
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
export async function snapshotSqlite(source: string, dest: string): Promise<void> {
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
