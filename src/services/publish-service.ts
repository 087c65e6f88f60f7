// Publishing a capability version (SPEC §4, §5 `POST CAP`). The slow work — reading the archive,
// validating it, hashing, storing blobs — happens before the transaction; the transaction only
// holds the invariants: immutable versions, numbers never reused, one "latest".

import { createWriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Config } from "../config.js";
import type { ArtifactDetail } from "../contract/capabilities.js";
import {
  findCapability,
  findVersion,
  findVersionById,
  insertVersion,
  lockCapabilityForPublish,
  type VersionRow,
} from "../db/repositories/capability-repository.js";
import { insertScanFindings } from "../db/repositories/scan-repository.js";
import { AppError } from "../errors.js";
import { newId } from "../lib/ids.js";
import { tempFileName } from "../storage/temp-files.js";
import { requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import { causeOf, followTargets } from "./auto-update.js";
import type { InspectedBundle } from "./bundle-worker.js";
import { BundleWorkerPool } from "./bundle-worker-pool.js";
import type { RequestScope, ServiceDeps } from "./deps.js";
import { refreshLatest } from "./registry-admin-service.js";
import { loadDetail } from "./registry-service.js";
import { enforceScanPolicy } from "./scan-service.js";
import { storeSignatures, type VerifiedSignature, verifySignatures } from "./signing-service.js";
import { inTransaction } from "./transaction.js";

export type BundleUpload = Buffer | AsyncIterable<Buffer | Uint8Array>;

export interface PublishResult {
  artifact: ArtifactDetail;
  /** false for an identical re-publish (200). */
  created: boolean;
}

/** Parallel blob writes: enough to hide file-system latency, few enough not to flood it. */
const BLOB_WRITE_CONCURRENCY = 8;
/**
 * A safety net, not a budget: a valid 50 MiB bundle is inspected in seconds. Past this the worker
 * is stopped and the bundle refused, whatever in it made the inspection slow.
 */
const BUNDLE_JOB_TIMEOUT_MS = 120_000;
/** What a refused publish is told to wait: about one inspection of a large bundle. */
const PUBLISH_RETRY_AFTER_SECONDS = 5;

/** Where uploads are spooled while they are inspected, under the data directory. */
export function uploadSpoolDir(config: Config): string {
  return path.join(config.dataDir, "tmp");
}

/**
 * The publishes of one server: at most `publishConcurrency` bundles are inspected at once, each in
 * a worker thread, and at most `publishQueue` more wait for a worker (their uploads already on
 * disk, not in memory). Past that a publish is refused with 429 before its body is read.
 */
export class PublishPipeline {
  private readonly pool: BundleWorkerPool;
  private readonly limit: number;
  private inFlight = 0;

  constructor(
    private readonly config: Config,
    jobTimeoutMs = BUNDLE_JOB_TIMEOUT_MS,
    /** Only a bench turns the publish-time scan off, to measure what it costs. */
    private readonly options: { scan?: boolean } = {},
  ) {
    this.pool = new BundleWorkerPool(config.publishConcurrency, jobTimeoutMs);
    this.limit = config.publishConcurrency + config.publishQueue;
  }

  /** Runs `work` holding a place, or refuses at once when every place is taken. */
  async admit<T>(work: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.limit) {
      throw new AppError(
        "usage_limit_exceeded_error",
        `The server is processing ${this.inFlight} publishes; retry in a few seconds`,
        undefined,
        { headers: { "Retry-After": String(PUBLISH_RETRY_AFTER_SECONDS) } },
      );
    }
    this.inFlight += 1;
    try {
      return await work();
    } finally {
      this.inFlight -= 1;
    }
  }

  async inspect(archivePath: string): Promise<InspectedBundle> {
    const result = await this.pool.run({
      archivePath,
      maxBundleBytes: this.config.maxBundleBytes,
      scan: this.options.scan ?? true,
    });
    if (!result.ok) throw new AppError(result.type, result.detail, result.issues);
    return result.bundle;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export interface PublishOptions {
  isPublic: boolean;
  /** The DSSE envelopes sent with the bundle (SPEC §14), read once the upload is spooled. */
  signatures?: () => Promise<string[]>;
}

export async function publishCapability(
  deps: ServiceDeps,
  pipeline: PublishPipeline,
  scope: RequestScope,
  orgKey: string,
  openUpload: () => Promise<BundleUpload>,
  options: PublishOptions,
): Promise<PublishResult> {
  // Access first: a caller who may not publish gets 404/403 before a byte of the bundle is read.
  // Making a name public is the owner's call (SPEC §2.3), here as on PATCH visibility.
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, options.isPublic ? "owner" : "contributor");
  return pipeline.admit(async () => {
    const archivePath = await spoolUpload(await openUpload(), deps.config);
    try {
      const envelopes = (await options.signatures?.()) ?? [];
      const bundle = await pipeline.inspect(archivePath);
      const name = bundle.name;
      // Checked before anything is stored: a publish with a bad signature changes nothing.
      const signatures = await verifySignatures(
        deps.db,
        org.id,
        { org: org.key, capability: name, version: bundle.version, artifactSha256: bundle.archiveSha256 },
        envelopes.map((value, index) => ({ value, loc: ["body", "signature", index] })),
      );

      // Most re-publishes are identical (CI retries): answer them without touching the blob store.
      const existing = await findPublishedVersion(deps, org.id, bundle);
      if (existing) {
        await signExisting(deps, scope, org.id, existing, signatures);
        return { artifact: await detailOf(deps, org, name, existing.id), created: false };
      }

      // Refused by the org's scan policy before anything of the bundle is stored.
      await enforceScanPolicy(deps, org.id, bundle.scan);
      await storeBlobs(deps, bundle, archivePath);
      let outcome: { versionId: string; created: boolean };
      try {
        outcome = await insertPublishedVersion(deps, scope, org.id, bundle, options, signatures);
      } catch (error) {
        // A concurrent publish of the same number won the insert: identical content is still a 200.
        const raced = error instanceof AppError && error.type === "already_exists_error";
        const winner = raced ? await findPublishedVersion(deps, org.id, bundle) : undefined;
        if (!winner) throw error;
        await signExisting(deps, scope, org.id, winner, signatures);
        outcome = { versionId: winner.id, created: false };
      }
      return { artifact: await detailOf(deps, org, name, outcome.versionId), created: outcome.created };
    } finally {
      await rm(archivePath, { force: true });
    }
  });
}

/**
 * Writes the upload to a temporary file, counting bytes: over the limit it stops at once. The
 * compressed archive never sits in memory whole, and the worker reads it from disk.
 */
async function spoolUpload(upload: BundleUpload, config: Config): Promise<string> {
  const dir = uploadSpoolDir(config);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, tempFileName("upload"));
  try {
    if (Buffer.isBuffer(upload)) {
      if (upload.length > config.maxBundleBytes) throw bundleTooLarge(config.maxBundleBytes);
      await writeFile(file, upload);
      return file;
    }
    await writeCounted(upload, file, config.maxBundleBytes);
    return file;
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
}

async function writeCounted(
  upload: AsyncIterable<Buffer | Uint8Array>,
  file: string,
  maxBundleBytes: number,
): Promise<void> {
  const out = createWriteStream(file);
  let diskError: Error | null = null;
  out.on("error", (error) => {
    diskError ??= error;
  });
  const written = () => {
    if (diskError)
      throw new AppError("server_error", "The upload could not be stored", undefined, { cause: diskError });
  };
  try {
    let received = 0;
    try {
      // Iterated by hand: leaving a for-await early would destroy the request stream, and the
      // client would see its connection cut instead of reading the 400.
      const chunks = upload[Symbol.asyncIterator]();
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        received += next.value.length;
        if (received > maxBundleBytes) throw bundleTooLarge(maxBundleBytes);
        written();
        if (!out.write(next.value)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              out.off("drain", done);
              out.off("close", done);
              resolve();
            };
            out.once("drain", done);
            out.once("close", done);
          });
        }
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      // The upload itself failed (a multipart body cut short): that is an unreadable archive.
      const reason = error instanceof Error ? `: ${error.message}` : "";
      throw new AppError("invalid_error", "The bundle was rejected", [
        {
          loc: ["bundle", "archive"],
          msg: `the upload ended before the archive could be read${reason}`,
          type: "bundle.format",
        },
      ]);
    }
    await new Promise<void>((resolve) => out.end(resolve));
    written();
  } finally {
    out.destroy();
  }
}

function bundleTooLarge(maxBundleBytes: number): AppError {
  return new AppError("invalid_error", "The bundle was rejected", [
    {
      loc: ["bundle", "archive"],
      msg: `the archive is larger than ${maxBundleBytes} bytes`,
      type: "bundle.too_large",
    },
  ]);
}

/**
 * The stored version with the bundle's number when its content is identical; undefined when the
 * number is free. A deleted number or different content → 409.
 */
async function findPublishedVersion(
  deps: ServiceDeps,
  orgId: string,
  bundle: InspectedBundle,
): Promise<VersionRow | undefined> {
  const { name, version } = bundle;
  const capability = await findCapability(deps.db, orgId, name);
  const row = capability && (await findVersion(deps.db, capability.id, version));
  if (row) assertSameContent(row, name, bundle.runtimeDigest);
  return row;
}

function assertSameContent(row: VersionRow, name: string, runtimeDigest: string): void {
  if (row.status === "deleted") {
    throw new AppError(
      "already_exists_error",
      `${name}@${row.version} was deleted; a version number is never reused`,
    );
  }
  if (row.runtime_digest !== runtimeDigest) {
    throw new AppError(
      "already_exists_error",
      `${name}@${row.version} already exists with different content; publish a new version`,
    );
  }
}

/** Every file and the archive itself, before any row names them. */
async function storeBlobs(deps: ServiceDeps, bundle: InspectedBundle, archivePath: string): Promise<void> {
  const queue: (() => Promise<void>)[] = bundle.blobs.map(
    ({ sha256, offset, length }) =>
      () =>
        deps.blobs.put(sha256, Buffer.from(bundle.contents, offset, length)),
  );
  queue.push(() => deps.blobs.putFile(bundle.archiveSha256, archivePath));
  const worker = async () => {
    for (let next = queue.pop(); next !== undefined; next = queue.pop()) await next();
  };
  await Promise.all(Array.from({ length: BLOB_WRITE_CONCURRENCY }, worker));
}

/** The short transaction: the version row, "latest" and the audit event. */
async function insertPublishedVersion(
  deps: ServiceDeps,
  scope: RequestScope,
  orgId: string,
  bundle: InspectedBundle,
  options: PublishOptions,
  signatures: VerifiedSignature[],
): Promise<{ versionId: string; created: boolean }> {
  const outcome = await inTransaction(deps, async (trx) => {
    const at = deps.now().toISOString();
    const capability = await lockCapabilityForPublish(trx, deps.dialect, {
      id: newId(),
      org_id: orgId,
      name: bundle.name,
      is_public: options.isPublic ? 1 : 0,
      latest_version_id: null,
      latest_version: null,
      created_at: at,
      updated_at: at,
    });
    const existing = await findVersion(trx, capability.id, bundle.version);
    if (existing) {
      assertSameContent(existing, bundle.name, bundle.runtimeDigest);
      return { capabilityId: capability.id, versionId: existing.id, created: false };
    }
    const versionId = newId();
    await insertVersion(trx, {
      id: versionId,
      capability_id: capability.id,
      org_id: orgId,
      version: bundle.version,
      status: "active",
      deprecation_message: null,
      description: bundle.description,
      author_name: bundle.authorName,
      license: bundle.license,
      keywords: bundle.keywordsJson,
      manifest: bundle.manifestJson,
      component_counts: bundle.componentCountsJson,
      component_details: bundle.componentDetailsJson,
      flags: bundle.flagsJson,
      secrets: bundle.secretsJson,
      warnings: bundle.warningsJson,
      file_manifest: bundle.fileManifestJson,
      readme_path: bundle.readmePath,
      artifact_sha256: bundle.archiveSha256,
      runtime_digest: bundle.runtimeDigest,
      size_bytes: bundle.sizeBytes,
      published_by: scope.actor.userId,
      created_at: at,
      updated_at: at,
      scan_summary: JSON.stringify(bundle.scan.summary),
    });
    await insertScanFindings(trx, versionId, orgId, bundle.scan.findings);
    await refreshLatest(trx, capability.id, at);
    await storeSignatures(trx, scope, orgId, versionId, signatures, at);
    await followTargets(trx, capability.id, causeOf(scope, "capability.version.published"), at);
    await appendAudit(
      trx,
      scope,
      {
        orgId,
        action: "capability.version.published",
        targetType: "capability_version",
        targetId: versionId,
        data: {
          name: bundle.name,
          version: bundle.version,
          runtime_digest: bundle.runtimeDigest,
          artifact_sha256: bundle.archiveSha256,
          signed_by: signatures.flatMap((s) => s.keys.map((k) => k.id)),
        },
      },
      at,
    );
    return { capabilityId: capability.id, versionId, created: true };
  });
  if (outcome.created) deps.changes.publish({ kind: "capability", capabilityId: outcome.capabilityId });
  return outcome;
}

/** Signatures sent with an identical re-publish are added to the stored version. */
async function signExisting(
  deps: ServiceDeps,
  scope: RequestScope,
  orgId: string,
  version: VersionRow,
  signatures: VerifiedSignature[],
): Promise<void> {
  if (signatures.length === 0) return;
  const at = deps.now().toISOString();
  const added = await inTransaction(deps, async (trx) => {
    const count = await storeSignatures(trx, scope, orgId, version.id, signatures, at);
    if (count > 0) {
      await appendAudit(
        trx,
        scope,
        {
          orgId,
          action: "capability.version.signed",
          targetType: "capability_version",
          targetId: version.id,
          data: { version: version.version, keys: signatures.flatMap((s) => s.keys.map((k) => k.id)) },
        },
        at,
      );
    }
    return count;
  });
  if (added > 0) deps.changes.publish({ kind: "capability", capabilityId: version.capability_id });
}

async function detailOf(
  deps: ServiceDeps,
  org: { id: string; key: string },
  name: string,
  versionId: string,
): Promise<ArtifactDetail> {
  const capability = await findCapability(deps.db, org.id, name);
  const version = capability && (await findVersionById(deps.db, capability.id, versionId));
  if (!capability || !version)
    throw new AppError("server_error", "The published version could not be read back");
  return loadDetail(deps.db, { capability, ownerKey: org.key, displayName: name }, version);
}
