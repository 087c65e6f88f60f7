// Shapes stored capability rows into the artifact summary and detail of SPEC §5, and holds the
// one definition of version order and "latest" the registry uses.
import type {
  ArtifactDetail,
  ArtifactSummary,
  VersionListItem,
  VersionStatus,
} from "../contract/capabilities.js";
import type { ScanSummary } from "../contract/scan.js";
import type { VersionSignature } from "../contract/signing.js";
import type { CapabilityRow, VersionRow } from "../db/repositories/capability-repository.js";
import { compareSemver, isPrerelease } from "../domain/semver.js";

/** The columns of a version that listings need (no manifest, no file list). */
export type LiveVersion = Pick<
  VersionRow,
  | "id"
  | "capability_id"
  | "version"
  | "status"
  | "deprecation_message"
  | "runtime_digest"
  | "size_bytes"
  | "created_at"
  | "updated_at"
>;

/** Who owns a capability and how the viewing org names it. */
export interface CapabilityOwner {
  capability: CapabilityRow;
  ownerKey: string;
  /** `name` in its own org, `owner/name` seen from another org. */
  displayName: string;
}

export function displayNameOf(capability: CapabilityRow, ownerKey: string, viewerOrgId: string): string {
  return capability.org_id === viewerOrgId ? capability.name : `${ownerKey}/${capability.name}`;
}

export function newestFirst<T extends { version: string }>(versions: T[]): T[] {
  return [...versions].sort((a, b) => compareSemver(b.version, a.version));
}

/**
 * "Latest" (SPEC §5): the highest semver among active and deprecated versions, or null. A
 * prerelease is never latest (SPEC §13): it is reached through its number or a tag.
 */
export function latestOf<T extends { version: string }>(released: T[]): T | null {
  return newestFirst(released.filter((v) => !isPrerelease(v.version)))[0] ?? null;
}

/** Tombstones are filtered out before any view is built: reaching one here is a bug. */
function publicStatus(status: VersionRow["status"]): VersionStatus {
  if (status === "deleted") throw new Error("a deleted version has no public view");
  return status;
}

export function toSummary(owner: CapabilityOwner, version: VersionRow, live: LiveVersion[]): ArtifactSummary {
  const ordered = newestFirst(live);
  return {
    id: version.id,
    name: owner.displayName,
    version: version.version,
    description: version.description,
    author_name: version.author_name,
    license: version.license,
    keywords: JSON.parse(version.keywords),
    is_public: owner.capability.is_public === 1,
    status: publicStatus(version.status),
    component_counts: JSON.parse(version.component_counts),
    created_at: version.created_at,
    updated_at: version.updated_at,
    version_count: ordered.length,
    versions: ordered.map((v) => v.version),
  };
}

/** Tag names per version id, from the capability's tag rows. */
export function tagsByVersion(tags: { tag: string; version_id: string }[]): Map<string, string[]> {
  const byVersion = new Map<string, string[]>();
  for (const { tag, version_id } of tags)
    byVersion.set(version_id, [...(byVersion.get(version_id) ?? []), tag]);
  for (const names of byVersion.values()) names.sort();
  return byVersion;
}

export function toDetail(
  owner: CapabilityOwner,
  version: VersionRow,
  live: LiveVersion[],
  signatures: VersionSignature[],
  tags: ReadonlyMap<string, string[]>,
): ArtifactDetail {
  return {
    ...toSummary(owner, version, live),
    artifact_sha256: version.artifact_sha256,
    runtime_digest: version.runtime_digest,
    size_bytes: Number(version.size_bytes),
    file_manifest: JSON.parse(version.file_manifest),
    manifest: JSON.parse(version.manifest),
    component_details: JSON.parse(version.component_details),
    flags: JSON.parse(version.flags),
    warnings: JSON.parse(version.warnings),
    deprecation_message: version.deprecation_message,
    published_by: version.published_by,
    scan: scanSummaryOf(version.scan_summary),
    signatures,
    tags: tags.get(version.id) ?? [],
  };
}

const NOT_SCANNED: ScanSummary = {
  status: "not_scanned",
  counts: { high: 0, medium: 0, low: 0 },
  suppressed: 0,
  complete: false,
};

/** The stored summary of a version's publish-time scan; versions from before scanning were never scanned. */
export function scanSummaryOf(stored: string | null): ScanSummary {
  return stored === null ? NOT_SCANNED : JSON.parse(stored);
}

export function toVersionListItem(
  version: LiveVersion,
  tags: ReadonlyMap<string, string[]>,
): VersionListItem {
  return {
    id: version.id,
    version: version.version,
    status: publicStatus(version.status),
    deprecation_message: version.deprecation_message,
    runtime_digest: version.runtime_digest,
    size_bytes: Number(version.size_bytes),
    created_at: version.created_at,
    updated_at: version.updated_at,
    tags: tags.get(version.id) ?? [],
  };
}
