// Publishing a capability version (SPEC §4, §5 `POST CAP`). The slow work — reading the archive,
// validating it, hashing, storing blobs — happens before the transaction; the transaction only
// holds the invariants: immutable versions, numbers never reused, one "latest".
import type { ArtifactDetail } from "../contract/capabilities.js";
import {
  findCapability,
  findVersion,
  findVersionById,
  insertVersion,
  lockCapabilityForPublish,
  type VersionRow,
} from "../db/repositories/capability-repository.js";
import { BundleRejectedError, bundleLimitsFor, readBundle } from "../domain/bundle-reader.js";
import { analyzeCapability, type CapabilityAnalysis } from "../domain/capability-analysis.js";
import { buildFileManifest, runtimeDigestOf } from "../domain/digests.js";
import type { Manifest } from "../domain/manifest.js";
import type { BundleFile, FileManifestEntry, Issue } from "../domain/types.js";
import { AppError } from "../http/errors.js";
import { newId } from "../lib/ids.js";
import { requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import type { RequestScope, ServiceDeps } from "./deps.js";
import { refreshLatest } from "./registry-admin-service.js";
import { loadDetail } from "./registry-service.js";

export type BundleUpload = Buffer | AsyncIterable<Buffer | Uint8Array>;

export interface PublishResult {
  artifact: ArtifactDetail;
  /** false for an identical re-publish (200). */
  created: boolean;
}

/** Parallel blob writes: enough to hide file-system latency, few enough not to flood it. */
const BLOB_WRITE_CONCURRENCY = 8;

/** A bundle that passed every check, with what the version row needs. */
interface ValidatedBundle {
  manifest: Manifest;
  analysis: CapabilityAnalysis;
  files: BundleFile[];
  fileManifest: FileManifestEntry[];
  archive: Buffer;
  archiveSha256: string;
  runtimeDigest: string;
}

export async function publishCapability(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  openUpload: () => Promise<BundleUpload>,
  options: { isPublic: boolean },
): Promise<PublishResult> {
  // Access first: a caller who may not publish gets 404/403 before a byte of the bundle is read.
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "contributor");
  const bundle = await validateBundle(await openUpload(), deps.config.maxBundleBytes);
  const name = bundle.manifest.name;

  // Most re-publishes are identical (CI retries): answer them without touching the blob store.
  const existing = await findPublishedVersion(deps, org.id, bundle);
  if (existing) return { artifact: await detailOf(deps, org, name, existing.id), created: false };

  await storeBlobs(deps, bundle);
  let outcome: { versionId: string; created: boolean };
  try {
    outcome = await insertPublishedVersion(deps, scope, org.id, bundle, options);
  } catch (error) {
    // A concurrent publish of the same number won the insert: identical content is still a 200.
    const raced = error instanceof AppError && error.type === "already_exists_error";
    const winner = raced ? await findPublishedVersion(deps, org.id, bundle) : undefined;
    if (!winner) throw error;
    outcome = { versionId: winner.id, created: false };
  }
  return { artifact: await detailOf(deps, org, name, outcome.versionId), created: outcome.created };
}

async function validateBundle(upload: BundleUpload, maxBundleBytes: number): Promise<ValidatedBundle> {
  const chunks: Buffer[] = [];
  const source = Buffer.isBuffer(upload) ? upload : recordChunks(upload, chunks);
  const read = await readBundle(source, bundleLimitsFor(maxBundleBytes)).catch((error: unknown) => {
    if (error instanceof BundleRejectedError) throw bundleRejected(error.issues);
    throw error;
  });
  const analysis = analyzeCapability(new Map(read.files.map((file) => [file.path, file.content])));
  if (analysis.errors.some((issue) => issue.type.startsWith("bundle.")))
    throw bundleRejected(analysis.errors);
  if (analysis.errors.length > 0 || analysis.manifest === null) {
    throw new AppError("validation_error", "capability.yaml is invalid", analysis.errors);
  }
  const fileManifest = buildFileManifest(read.files);
  return {
    manifest: analysis.manifest,
    analysis,
    files: read.files,
    fileManifest,
    archive: Buffer.isBuffer(upload) ? upload : Buffer.concat(chunks),
    archiveSha256: read.archiveSha256,
    runtimeDigest: runtimeDigestOf(fileManifest),
  };
}

/** Keeps the archive bytes as they stream into the reader: they are stored as the bundle blob. */
async function* recordChunks(
  upload: AsyncIterable<Buffer | Uint8Array>,
  chunks: Buffer[],
): AsyncIterable<Buffer> {
  for await (const chunk of upload) {
    const buffer = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    chunks.push(buffer);
    yield buffer;
  }
}

function bundleRejected(issues: Issue[]): AppError {
  return new AppError("invalid_error", "The bundle was rejected", issues);
}

/**
 * The stored version with the bundle's number when its content is identical; undefined when the
 * number is free. A deleted number or different content → 409.
 */
async function findPublishedVersion(
  deps: ServiceDeps,
  orgId: string,
  bundle: ValidatedBundle,
): Promise<VersionRow | undefined> {
  const { name, version } = bundle.manifest;
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
async function storeBlobs(deps: ServiceDeps, bundle: ValidatedBundle): Promise<void> {
  const blobs = new Map<string, Buffer>(bundle.files.map((file) => [file.sha256, file.content]));
  blobs.set(bundle.archiveSha256, bundle.archive);
  const queue = [...blobs];
  const worker = async () => {
    for (let next = queue.pop(); next !== undefined; next = queue.pop())
      await deps.blobs.put(next[0], next[1]);
  };
  await Promise.all(Array.from({ length: BLOB_WRITE_CONCURRENCY }, worker));
}

/** The short transaction: the version row, "latest" and the audit event. */
async function insertPublishedVersion(
  deps: ServiceDeps,
  scope: RequestScope,
  orgId: string,
  bundle: ValidatedBundle,
  options: { isPublic: boolean },
): Promise<{ versionId: string; created: boolean }> {
  const { manifest, analysis } = bundle;
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const at = deps.now().toISOString();
    const capability = await lockCapabilityForPublish(trx, deps.dialect, {
      id: newId(),
      org_id: orgId,
      name: manifest.name,
      is_public: options.isPublic ? 1 : 0,
      latest_version_id: null,
      latest_version: null,
      created_at: at,
      updated_at: at,
    });
    const existing = await findVersion(trx, capability.id, manifest.version);
    if (existing) {
      assertSameContent(existing, manifest.name, bundle.runtimeDigest);
      return { capabilityId: capability.id, versionId: existing.id, created: false };
    }
    const versionId = newId();
    await insertVersion(trx, {
      id: versionId,
      capability_id: capability.id,
      org_id: orgId,
      version: manifest.version,
      status: "active",
      deprecation_message: null,
      description: manifest.description,
      author_name: manifest.author_name,
      license: manifest.license,
      keywords: JSON.stringify(manifest.keywords),
      manifest: JSON.stringify(manifest.raw),
      component_counts: JSON.stringify(analysis.componentCounts),
      component_details: JSON.stringify(analysis.componentDetails),
      flags: JSON.stringify(analysis.flags),
      warnings: JSON.stringify(analysis.warnings),
      file_manifest: JSON.stringify(bundle.fileManifest),
      readme_path: analysis.readme?.path ?? null,
      artifact_sha256: bundle.archiveSha256,
      runtime_digest: bundle.runtimeDigest,
      size_bytes: bundle.archive.length,
      published_by: scope.actor.userId,
      created_at: at,
      updated_at: at,
    });
    await refreshLatest(trx, capability.id, at);
    await appendAudit(
      trx,
      scope,
      {
        orgId,
        action: "capability.version.published",
        targetType: "capability_version",
        targetId: versionId,
        data: {
          name: manifest.name,
          version: manifest.version,
          runtime_digest: bundle.runtimeDigest,
          artifact_sha256: bundle.archiveSha256,
        },
      },
      at,
    );
    return { capabilityId: capability.id, versionId, created: true };
  });
  if (outcome.created) deps.changes.publish({ kind: "capability", capabilityId: outcome.capabilityId });
  return outcome;
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
