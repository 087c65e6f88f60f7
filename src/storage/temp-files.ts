// Temporary files (blob writes in progress, spooled uploads) carry their writer in their name:
// a hash of the host name and the process id. At boot a server deletes the ones that no live
// process on this host is writing (a kill -9 leaves them behind); others, e.g. another instance's
// on a shared file system, are deleted only once they are older than a grace period.
import { createHash, randomBytes } from "node:crypto";
import { readdir, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";

const HOST_TAG = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);
const TEMP_NAME = /\.([0-9a-f]{8})-(\d+)\.[0-9a-f]{12}\.tmp$/;

/** `<base>.<host>-<pid>.<random>.tmp` */
export function tempFileName(base: string): string {
  return `${base}.${HOST_TAG}-${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
}

export function isTempFileName(name: string): boolean {
  return name.endsWith(".tmp");
}

export interface SweepOptions {
  /** At boot this process has written nothing yet, so files named with its own pid are stale too. */
  atBoot: boolean;
  /** Any temporary file older than this is abandoned, whoever wrote it. */
  graceMs: number;
  nowMs: number;
}

export function isAbandonedTemp(name: string, modifiedMs: number, options: SweepOptions): boolean {
  if (options.nowMs - modifiedMs > options.graceMs) return true;
  const match = TEMP_NAME.exec(name);
  if (!match || match[1] !== HOST_TAG) return false;
  const pid = Number(match[2]);
  if (pid === process.pid) return options.atBoot;
  return !isProcessAlive(pid);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Deletes the abandoned temporary files directly in `dir`; returns how many. */
export async function sweepTempDir(dir: string, options: SweepOptions): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  let removed = 0;
  for (const name of names) {
    if (!isTempFileName(name)) continue;
    const file = path.join(dir, name);
    try {
      const info = await stat(file);
      if (!isAbandonedTemp(name, info.mtimeMs, options)) continue;
      await rm(file, { force: true });
      removed += 1;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  return removed;
}
