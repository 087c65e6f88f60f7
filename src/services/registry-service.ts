// Reading the capability registry (SPEC §5): the catalog, one capability, its versions, files,
// readme and signed bundle links. Also how a capability reference (`name` or `owner/name`) and a
// version (`x.y.z` or `latest`) are resolved for a caller, which the other registry services and
// the bindings reuse.
import type { Readable } from "node:stream";
import type {
  ArtifactDetail,
  ArtifactPage,
  BundleLink,
  FacetQuery,
  Facets,
  FileList,
  ListQuery,
  Readme,
  VersionList,
} from "../contract/capabilities.js";
import { type CursorQuery, pageOf } from "../contract/common.js";
import {
  type CapabilityRow,
  type CatalogFilter,
  findCapability,
  findCapabilityByOrgKey,
  findVersion,
  findVersionById,
  findVersionHead,
  findVersionHeadById,
  isVersionBoundToRuntime,
  listCatalog,
  listCatalogFacetValues,
  listLiveVersions,
  type VersionHead,
  type VersionRow,
} from "../db/repositories/capability-repository.js";
import { listTags } from "../db/repositories/tag-repository.js";
import type { Db } from "../db/schema.js";
import type { FileManifestEntry } from "../domain/types.js";
import { AppError, validationIssue } from "../errors.js";
import { type OrgAccess, type Role, requireOrgRole } from "./access.js";
import {
  type ArtifactDetailCache,
  mutableDetail,
  type RenderedDetail,
  renderDetail,
} from "./artifact-detail-cache.js";
import {
  type CapabilityOwner,
  displayNameOf,
  newestFirst,
  tagsByVersion,
  toDetail,
  toSummary,
  toVersionListItem,
} from "./artifact-views.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import type { FileManifestCache } from "./file-manifest-cache.js";
import { requireRuntimeTokenRead } from "./runtime-token-service.js";
import { signBlobUrl } from "./signed-urls.js";
import { versionSignatures } from "./signing-service.js";

const DEFAULT_PAGE_SIZE = 20;

/** A capability as the caller reaches it through `{org}`. */
export interface CapabilityInOrg extends CapabilityOwner {
  access: OrgAccess;
}

/**
 * Resolves `{org}` + `{name}` for the caller. `owner/name` reaches another org's public capability,
 * for reads only: changes go through the owning org. Unknown, private or not-a-member → 404.
 */
export async function resolveCapability(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  ref: string,
  minimum: Role,
): Promise<CapabilityInOrg> {
  const access = await requireOrgRole(deps, actor, orgKey, minimum);
  const [ownerKey, name] = splitRef(ref, orgKey);
  const capability = await findReachable(deps, access, ownerKey, name, minimum);
  if (!capability) throw new AppError("not_found_error", `Capability '${ref}' not found`);
  return { access, capability, ownerKey, displayName: displayNameOf(capability, ownerKey, access.org.id) };
}

/** `owner/name` → [owner, name]; a bare name belongs to the org of the path. */
function splitRef(ref: string, orgKey: string): [string, string] {
  const slash = ref.indexOf("/");
  return slash === -1 ? [orgKey, ref] : [ref.slice(0, slash), ref.slice(slash + 1)];
}

function findReachable(deps: ServiceDeps, access: OrgAccess, ownerKey: string, name: string, minimum: Role) {
  if (ownerKey === access.org.key) return findCapability(deps.db, access.org.id, name);
  // Another org's capability: public ones only, and never for a change.
  if (minimum !== "reader") return Promise.resolve(undefined);
  return findCapabilityByOrgKey(deps.db, ownerKey, name, { publicOnly: true });
}

/** `latest` or an exact number; tombstones (deleted versions) are not found. */
export async function resolveVersion(db: Db, target: CapabilityInOrg, version: string): Promise<VersionRow> {
  const row = await findTargetVersion(db, target.capability, version);
  if (!row || row.status === "deleted") throw versionNotFound(target, version);
  return row;
}

function versionNotFound(target: CapabilityOwner, version: string): AppError {
  const what = version === "latest" ? "An installable version" : `Version ${version}`;
  return new AppError("not_found_error", `${what} of '${target.displayName}' not found`);
}

function findTargetVersion(db: Db, capability: CapabilityRow, version: string) {
  if (version !== "latest") return findVersion(db, capability.id, version);
  if (capability.latest_version_id === null) return Promise.resolve(undefined);
  return findVersionById(db, capability.id, capability.latest_version_id);
}

/** findTargetVersion without the large columns, for reads that need none of them. */
function findTargetHead(db: Db, capability: CapabilityRow, version: string) {
  if (version !== "latest") return findVersionHead(db, capability.id, version);
  if (capability.latest_version_id === null) return Promise.resolve(undefined);
  return findVersionHeadById(db, capability.id, capability.latest_version_id);
}

export async function resolveVersionHead(
  db: Db,
  target: CapabilityInOrg,
  version: string,
): Promise<VersionHead> {
  const row = await findTargetHead(db, target.capability, version);
  if (!row || row.status === "deleted") throw versionNotFound(target, version);
  return row;
}

function runtimeTokenRefused(): AppError {
  return new AppError("forbidden_error", "This runtime token may only read versions bound to its runtime");
}

export async function loadDetail(
  db: Db,
  owner: CapabilityOwner,
  version: VersionRow,
): Promise<ArtifactDetail> {
  const [live, tags, signatures] = await Promise.all([
    listLiveVersions(db, [owner.capability.id]),
    listTags(db, owner.capability.id),
    versionSignatures(db, version.id),
  ]);
  return toDetail(owner, version, live, signatures, tagsByVersion(tags));
}

function catalogFilter(access: OrgAccess, query: FacetQuery): CatalogFilter {
  return {
    orgId: access.org.id,
    includePublic: query.include_public ?? false,
    search: query.search?.trim(),
    keywords: query.keywords,
    authors: query.author,
    licenses: query.license,
  };
}

export async function listCapabilities(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  query: ListQuery,
): Promise<ArtifactPage> {
  const access = await requireOrgRole(deps, scope.actor, orgKey, "reader");
  const page = query.page ?? 1;
  const limit = query.limit ?? query.page_size ?? DEFAULT_PAGE_SIZE;
  const { total, items } = await listCatalog(deps.db, catalogFilter(access, query), {
    sortBy: query.sort_by ?? "name",
    sortDir: query.sort_dir ?? "asc",
    offset: (page - 1) * limit,
    limit,
  });
  const versions = await listLiveVersions(
    deps.db,
    items.map((item) => item.capability.id),
  );
  const capabilities = items.map(({ capability, ownerKey, latest }) => {
    const owner = { capability, ownerKey, displayName: displayNameOf(capability, ownerKey, access.org.id) };
    return toSummary(
      owner,
      latest,
      versions.filter((v) => v.capability_id === capability.id),
    );
  });
  return pageOf("capabilities", capabilities, { total, page, limit });
}

export async function capabilityFacets(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  query: FacetQuery,
): Promise<Facets> {
  const access = await requireOrgRole(deps, scope.actor, orgKey, "reader");
  const rows = await listCatalogFacetValues(deps.db, catalogFilter(access, query));
  const keywords = new Map<string, number>();
  const authors = new Map<string, number>();
  const licenses = new Map<string, number>();
  for (const row of rows) {
    for (const keyword of new Set<string>(JSON.parse(row.keywords))) increment(keywords, keyword);
    if (row.author_name !== null) increment(authors, row.author_name);
    if (row.license !== null) increment(licenses, row.license);
  }
  return { keywords: facetCounts(keywords), authors: facetCounts(authors), licenses: facetCounts(licenses) };
}

function increment(counts: Map<string, number>, value: string): void {
  counts.set(value, (counts.get(value) ?? 0) + 1);
}

/** Most frequent first, then alphabetical. */
function facetCounts(counts: Map<string, number>): Facets["keywords"] {
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

/** The detail built from the full row, through the route's schema: the reference for the cached path. */
export async function getVersionDetail(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  version: string,
): Promise<ArtifactDetail> {
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "reader");
  return loadDetail(deps.db, target, await resolveVersion(deps.db, target, version));
}

/**
 * The detail as JSON bytes: the version's immutable part from the cache, what can change read fresh
 * (the capability row and the live versions: two small queries; the big columns are read only to
 * fill the cache). Same answers, statuses and messages as getVersionDetail.
 */
export async function getVersionDetailBytes(
  deps: ServiceDeps,
  cache: ArtifactDetailCache,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  version: string,
): Promise<RenderedDetail> {
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "reader");
  return renderVersionDetail(deps, cache, target, version);
}

/** The detail of `version` (`x.y.z` or `latest`) of a capability the caller has reached. */
export async function renderVersionDetail(
  deps: ServiceDeps,
  cache: ArtifactDetailCache,
  target: CapabilityOwner,
  version: string,
): Promise<RenderedDetail> {
  const [live, tags] = await Promise.all([
    listLiveVersions(deps.db, [target.capability.id]),
    listTags(deps.db, target.capability.id),
  ]);
  const head =
    version === "latest"
      ? live.find((v) => v.id === target.capability.latest_version_id)
      : live.find((v) => v.version === version);
  if (!head) throw versionNotFound(target, version);
  // Undefined only when the row vanished since: versions are never removed, only made tombstones.
  const template = await cache.template(deps.db, head.id);
  if (!template) throw versionNotFound(target, version);
  const versions = newestFirst(live).map((v) => v.version);
  const isPublic = target.capability.is_public === 1;
  const signatures = await versionSignatures(deps.db, head.id);
  const tagNames = tagsByVersion(tags).get(head.id) ?? [];
  return renderDetail(
    template,
    mutableDetail(target.displayName, isPublic, head, versions, signatures, tagNames),
  );
}

export async function listVersions(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
): Promise<VersionList> {
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "reader");
  const [versions, tags] = await Promise.all([
    listLiveVersions(deps.db, [target.capability.id]),
    listTags(deps.db, target.capability.id),
  ]);
  const byVersion = tagsByVersion(tags);
  return {
    name: target.displayName,
    latest_version: target.capability.latest_version,
    versions: newestFirst(versions).map((version) => toVersionListItem(version, byVersion)),
  };
}

/** A version a caller may download: members of `{org}` any, runtime tokens only bound ones. */
async function downloadableVersion(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  version: string,
): Promise<{ owner: CapabilityOwner; row: VersionHead }> {
  if (scope.actor.runtimeId !== null) return boundVersion(deps, scope.actor, orgKey, ref, version);
  const owner = await resolveCapability(deps, scope.actor, orgKey, ref, "reader");
  return { owner, row: await resolveVersionHead(deps.db, owner, version) };
}

/**
 * Runtime tokens read by binding, not by membership: a runtime may bind another org's public
 * capability, whose files it fetches under the owner org's path. Whatever is not bound to the
 * token's runtime — absent or not — is the same 403, so a token learns nothing beyond its bindings.
 */
async function boundVersion(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  ref: string,
  version: string,
): Promise<{ owner: CapabilityOwner; row: VersionHead }> {
  const [ownerKey, name] = splitRef(ref, orgKey);
  const runtime = await requireRuntimeTokenRead(deps, actor, { capability: { org: orgKey, ownerKey } });
  const capability = await findCapabilityByOrgKey(deps.db, ownerKey, name, { publicOnly: false });
  const row = capability && (await findTargetHead(deps.db, capability, version));
  if (!capability || !row || row.status === "deleted") throw runtimeTokenRefused();
  if (!(await isVersionBoundToRuntime(deps.db, runtime.id, row.id))) throw runtimeTokenRefused();
  return { owner: { capability, ownerKey, displayName: ref }, row };
}

export async function getBundleLink(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  version: string,
): Promise<BundleLink> {
  const { row } = await downloadableVersion(deps, scope, orgKey, ref, version);
  const signed = await signBlobUrl(deps, row.artifact_sha256);
  return {
    digest: `sha256:${row.artifact_sha256}`,
    download_url: signed.url,
    size_bytes: Number(row.size_bytes),
    expires_at: signed.expiresAt,
  };
}

export interface VersionFile {
  path: string;
  size: number;
  content: Readable;
}

export async function openVersionFile(
  deps: ServiceDeps,
  manifests: FileManifestCache,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  version: string,
  path: string,
): Promise<VersionFile> {
  const { owner, row } = await downloadableVersion(deps, scope, orgKey, ref, version);
  const entry = await fileEntry(deps, manifests, row, path);
  if (!entry)
    throw new AppError("not_found_error", `'${owner.displayName}@${row.version}' has no file '${path}'`);
  return { path: entry.path, size: entry.size, content: await openBlob(deps, entry.sha256) };
}

/**
 * One page of a version's file manifest (cursor style, SPEC §2.7). The manifest of a version never
 * changes, so the cursor is a position in it, tied to the version it was issued for.
 */
export async function listVersionFiles(
  deps: ServiceDeps,
  manifests: FileManifestCache,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  version: string,
  query: CursorQuery,
): Promise<FileList> {
  const { row } = await downloadableVersion(deps, scope, orgKey, ref, version);
  const files = await versionFiles(deps, manifests, row);
  const start = query.cursor === undefined ? 0 : decodeFileCursor(query.cursor, row.id, files.entries.length);
  const end = Math.min(start + (query.limit ?? DEFAULT_FILE_PAGE), files.entries.length);
  return {
    items: files.entries.slice(start, end),
    next_cursor: end < files.entries.length ? encodeFileCursor(row.id, end) : null,
  };
}

const DEFAULT_FILE_PAGE = 50;

function encodeFileCursor(versionId: string, position: number): string {
  return Buffer.from(`${versionId}.${position}`, "utf8").toString("base64url");
}

/** The position inside a cursor issued for this version; anything else is 422 at `["query","cursor"]`. */
function decodeFileCursor(cursor: string, versionId: string, length: number): number {
  const match = /^([0-9a-f-]{36})\.(\d{1,9})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  const position = match ? Number(match[2]) : -1;
  if (!match || match[1] !== versionId || position < 1 || position > length) {
    throw validationIssue(
      ["query", "cursor"],
      "Not a cursor this server issued for this version's files",
      "value_error.cursor",
    );
  }
  return position;
}

export async function getReadme(
  deps: ServiceDeps,
  manifests: FileManifestCache,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  version: string,
): Promise<Readme> {
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "reader");
  const row = await resolveVersionHead(deps.db, target, version);
  const entry = row.readme_path === null ? undefined : await fileEntry(deps, manifests, row, row.readme_path);
  if (!entry)
    throw new AppError("not_found_error", `'${target.displayName}@${row.version}' has no README.md`);
  const content = await deps.blobs.read(entry.sha256);
  if (content === null) throw missingBlob(entry.sha256);
  return { content: content.toString("utf8"), path: entry.path };
}

async function versionFiles(deps: ServiceDeps, manifests: FileManifestCache, row: VersionHead) {
  const files = await manifests.files(deps.db, row.id);
  // Versions are never removed, only made tombstones: a row found a moment ago is still there.
  if (!files) throw new Error(`version ${row.id} vanished`);
  return files;
}

async function fileEntry(
  deps: ServiceDeps,
  manifests: FileManifestCache,
  row: VersionHead,
  path: string,
): Promise<FileManifestEntry | undefined> {
  const files = await versionFiles(deps, manifests, row);
  const index = files.indexByPath.get(path);
  return index === undefined ? undefined : files.entries[index];
}

async function openBlob(deps: ServiceDeps, sha256: string): Promise<Readable> {
  const stream = await deps.blobs.open(sha256);
  if (stream === null) throw missingBlob(sha256);
  return stream;
}

/** Blobs are stored before the rows that name them, so a missing one is a storage failure. */
function missingBlob(sha256: string): AppError {
  return new AppError("s3_error", "A stored file is missing from the blob store", undefined, {
    cause: new Error(`blob ${sha256} not found`),
  });
}
