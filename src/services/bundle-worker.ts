// The CPU-heavy half of a publish, run in a worker thread (bundle-worker-pool.ts) so that inflating,
// hashing and analysing a bundle never holds the server's event loop: the archive is read from the
// spooled upload on disk, and what comes back is already in the shape the version row stores.
import { createReadStream } from "node:fs";
import { isMainThread, parentPort } from "node:worker_threads";
import { BundleRejectedError, bundleLimitsFor, readBundle } from "../domain/bundle-reader.js";
import { analyzeCapability } from "../domain/capability-analysis.js";
import { buildFileManifest, runtimeDigestOf } from "../domain/digests.js";
import { type ScanReport, scanCapability } from "../domain/scan.js";
import type { Issue } from "../domain/types.js";

export interface BundleJob {
  archivePath: string;
  maxBundleBytes: number;
  /** The publish-time scan (SPEC §14); false only where a bench measures what scanning costs. */
  scan?: boolean;
}

/** Everything the version row needs, the large parts already serialised. */
export interface InspectedBundle {
  name: string;
  version: string;
  description: string;
  authorName: string | null;
  license: string | null;
  keywordsJson: string;
  manifestJson: string;
  componentCountsJson: string;
  componentDetailsJson: string;
  flagsJson: string;
  /** JSON NAME → {description, required}: the declared secrets (SPEC §11). */
  secretsJson: string;
  warningsJson: string;
  fileManifestJson: string;
  readmePath: string | null;
  archiveSha256: string;
  runtimeDigest: string;
  sizeBytes: number;
  /** Each distinct file content once, packed into `contents` (transferred, not copied). */
  blobs: { sha256: string; offset: number; length: number }[];
  contents: ArrayBuffer;
  /** The publish-time scan's findings and summary; the publish applies the org's policy to them. */
  scan: ScanReport;
}

export type BundleJobResult =
  | { ok: true; bundle: InspectedBundle }
  | { ok: false; type: "invalid_error" | "validation_error"; detail: string; issues: Issue[] };

export async function inspectBundle(job: BundleJob): Promise<BundleJobResult> {
  let read: Awaited<ReturnType<typeof readBundle>>;
  try {
    read = await readBundle(
      createReadStream(job.archivePath, { highWaterMark: 64 * 1024 }),
      bundleLimitsFor(job.maxBundleBytes),
    );
  } catch (error) {
    if (error instanceof BundleRejectedError) return rejected(error.issues);
    throw error;
  }
  const files = new Map(read.files.map((file) => [file.path, file.content]));
  const analysis = analyzeCapability(files);
  if (analysis.errors.some((issue) => issue.type.startsWith("bundle."))) return rejected(analysis.errors);
  const manifest = analysis.manifest;
  if (analysis.errors.length > 0 || manifest === null) {
    return {
      ok: false,
      type: "validation_error",
      detail: invalidFilesHeadline(analysis.errors),
      issues: analysis.errors,
    };
  }
  const fileManifest = buildFileManifest(read.files);
  const scan = job.scan === false ? NOT_SCANNED : scanCapability(files, analysis.componentDetails);

  const unique = new Map<string, Buffer>();
  for (const file of read.files) unique.set(file.sha256, file.content);
  let total = 0;
  for (const content of unique.values()) total += content.length;
  // One allocation that can be handed over whole: a pooled small Buffer cannot be transferred.
  const contents = new ArrayBuffer(total);
  const packed = Buffer.from(contents);
  const blobs: InspectedBundle["blobs"] = [];
  let offset = 0;
  for (const [sha256, content] of unique) {
    content.copy(packed, offset);
    blobs.push({ sha256, offset, length: content.length });
    offset += content.length;
  }

  return {
    ok: true,
    bundle: {
      name: manifest.name,
      version: manifest.version,
      description: manifest.description,
      authorName: manifest.author_name,
      license: manifest.license,
      keywordsJson: JSON.stringify(manifest.keywords),
      manifestJson: JSON.stringify(manifest.raw),
      componentCountsJson: JSON.stringify(analysis.componentCounts),
      componentDetailsJson: JSON.stringify(analysis.componentDetails),
      flagsJson: JSON.stringify(analysis.flags),
      secretsJson: JSON.stringify(manifest.secrets ?? {}),
      warningsJson: JSON.stringify(analysis.warnings),
      fileManifestJson: JSON.stringify(fileManifest),
      readmePath: analysis.readme?.path ?? null,
      archiveSha256: read.archiveSha256,
      runtimeDigest: runtimeDigestOf(fileManifest),
      sizeBytes: read.sizeBytes,
      blobs,
      contents,
      scan,
    },
  };
}

const NOT_SCANNED: ScanReport = {
  findings: [],
  summary: { status: "passed", counts: { high: 0, medium: 0, low: 0 }, suppressed: 0, complete: false },
};

/**
 * The headline of a 422: the files the errors are in, so that a typo in `.mcp.json` is not
 * reported as "capability.yaml is invalid". Errors are located as `["bundle", <path>, …]`.
 */
export function invalidFilesHeadline(issues: Issue[]): string {
  const files = [
    ...new Set(issues.map((issue) => (issue.loc[0] === "bundle" ? String(issue.loc[1] ?? "") : ""))),
  ].filter((file) => file !== "");
  if (files.length === 0) return "The capability is invalid";
  if (files.length === 1) return `${files[0]} is invalid`;
  const named = files.length <= 3 ? files : [...files.slice(0, 3), `${files.length - 3} more`];
  return `${named.slice(0, -1).join(", ")} and ${named[named.length - 1]} are invalid`;
}

function rejected(issues: Issue[]): BundleJobResult {
  return { ok: false, type: "invalid_error", detail: "The bundle was rejected", issues };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on("message", (job: BundleJob) => {
    inspectBundle(job).then(
      (result) => port.postMessage(result, result.ok ? [result.bundle.contents] : []),
      // Only the message crosses: a stack trace or a path must not reach a response.
      (error: unknown) =>
        port.postMessage({ crashed: error instanceof Error ? error.message : String(error) }),
    );
  });
}
