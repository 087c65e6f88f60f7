// Blobs nothing names any more: an archive or file blob is named by the versions that hold it
// (`artifact_sha256`, `file_manifest[].sha256`); a crashed or refused publish can store blobs no row
// ever names, and deleting a version leaves its blobs behind. They are collected here, at boot and
// then periodically, once they are older than a grace period: a publish stores its blobs (or puts
// existing ones again, which marks them fresh) before its transaction names them, and the grace
// period is what keeps a collection running meanwhile from taking them.
import type { Logger } from "pino";
import { withAdvisoryLockIfFree } from "../db/advisory-lock.js";
import { listLiveVersionBlobRefs } from "../db/repositories/capability-repository.js";
import type { FileManifestEntry } from "../domain/types.js";
import { sweepTempDir } from "../storage/temp-files.js";
import type { ServiceDeps } from "./deps.js";
import { uploadSpoolDir } from "./publish-service.js";

/** Far beyond any publish's time between storing its blobs and committing its version. */
export const BLOB_GRACE_MS = 60 * 60 * 1000;
export const BLOB_COLLECT_INTERVAL_MS = 15 * 60 * 1000;
/** "capt" in ASCII; the boot lock is "caps". One collector at a time across instances. */
const COLLECT_LOCK_KEY = 0x63617074;
const VERSION_BATCH = 50;

type CollectorDeps = Pick<ServiceDeps, "db" | "dialect" | "blobs" | "config">;

export interface CollectionReport {
  deletedBlobs: number;
  deletedTempFiles: number;
}

/** Temporary files a killed process left behind; at boot, every one no live process is writing. */
export async function sweepTemporaryFiles(
  deps: Pick<CollectorDeps, "blobs" | "config">,
  options: { atBoot: boolean; nowMs: number },
): Promise<number> {
  const sweep = { ...options, graceMs: BLOB_GRACE_MS };
  return (await sweepTempDir(uploadSpoolDir(deps.config), sweep)) + (await deps.blobs.sweepTemporary(sweep));
}

/** One collection; null when another instance is collecting right now. */
export async function collectOrphanBlobs(
  deps: CollectorDeps,
  now: Date,
  graceMs = BLOB_GRACE_MS,
): Promise<CollectionReport | null> {
  const run = async (): Promise<CollectionReport> => {
    const deletedTempFiles = await sweepTemporaryFiles(deps, { atBoot: false, nowMs: now.getTime() });
    const cutoff = new Date(now.getTime() - graceMs);
    // Candidates are listed before the names are read: a blob stored after the listing is newer
    // than the cutoff anyway, and one named after the reading was put again, so it is fresh too.
    const candidates: string[] = [];
    for await (const batch of deps.blobs.listWrittenBefore(cutoff)) candidates.push(...batch);
    if (candidates.length === 0) return { deletedBlobs: 0, deletedTempFiles };
    const named = await namedBlobs(deps);
    let deletedBlobs = 0;
    for (const sha256 of candidates) {
      if (named.has(sha256)) continue;
      if (await deps.blobs.deleteIfWrittenBefore(sha256, cutoff)) deletedBlobs += 1;
    }
    return { deletedBlobs, deletedTempFiles };
  };
  if (deps.dialect === "sqlite") return run();
  return withAdvisoryLockIfFree(deps.db, COLLECT_LOCK_KEY, run);
}

/** Every blob a version that is not deleted names. A deleted version's content is never served. */
async function namedBlobs(deps: CollectorDeps): Promise<Set<string>> {
  const named = new Set<string>();
  let after = "";
  for (;;) {
    const rows = await listLiveVersionBlobRefs(deps.db, after, VERSION_BATCH);
    if (rows.length === 0) return named;
    for (const row of rows) {
      named.add(row.artifact_sha256);
      for (const entry of JSON.parse(row.file_manifest) as FileManifestEntry[]) named.add(entry.sha256);
    }
    after = rows[rows.length - 1].id;
  }
}

/** Collects at once and then every interval, in the background; returns a stop function. */
export function startBlobCollector(deps: CollectorDeps, logger: Logger): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const pass = () => {
    running = collectOrphanBlobs(deps, new Date()).then(
      (report) => {
        if (report && (report.deletedBlobs > 0 || report.deletedTempFiles > 0)) {
          logger.info(report, "collected unreferenced blobs and temporary files");
        }
      },
      (error: unknown) =>
        logger.warn({ err: error }, "blob collection failed; retrying at the next interval"),
    );
  };
  pass();
  const timer = setInterval(() => {
    if (!stopped) pass();
  }, BLOB_COLLECT_INTERVAL_MS);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
