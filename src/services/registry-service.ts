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
  ListQuery,
  Readme,
  VersionList,
} from "../contract/capabilities.js";
import { pageOf } from "../contract/common.js";
import {
  type CapabilityRow,
  type CatalogFilter,
  findCapability,
  findCapabilityByOrgKey,
  findVersion,
  findVersionById,
  isVersionBoundToRuntime,
  listCatalog,
  listCatalogFacetValues,
  listLiveVersions,
  type VersionRow,
} from "../db/repositories/capability-repository.js";
import type { Db } from "../db/schema.js";
import type { FileManifestEntry } from "../domain/types.js";
import { AppError } from "../errors.js";
import { type OrgAccess, type Role, requireOrgRole } from "./access.js";
import {
  type CapabilityOwner,
  displayNameOf,
  newestFirst,
  toDetail,
  toSummary,
  toVersionListItem,
} from "./artifact-views.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import { requireRuntimeTokenRead } from "./runtime-token-service.js";
import { signBlobUrl } from "./signed-urls.js";

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
  if (!row || row.status === "deleted") {
    const what = version === "latest" ? "An installable version" : `Version ${version}`;
    throw new AppError("not_found_error", `${what} of '${target.displayName}' not found`);
  }
  return row;
}

function findTargetVersion(db: Db, capability: CapabilityRow, version: string) {
  if (version !== "latest") return findVersion(db, capability.id, version);
  if (capability.latest_version_id === null) return Promise.resolve(undefined);
  return findVersionById(db, capability.id, capability.latest_version_id);
}

function runtimeTokenRefused(): AppError {
  return new AppError("forbidden_error", "This runtime token may only read versions bound to its runtime");
}

export async function loadDetail(
  db: Db,
  owner: CapabilityOwner,
  version: VersionRow,
): Promise<ArtifactDetail> {
  return toDetail(owner, version, await listLiveVersions(db, [owner.capability.id]));
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

export async function listVersions(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
): Promise<VersionList> {
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "reader");
  const versions = await listLiveVersions(deps.db, [target.capability.id]);
  return {
    name: target.displayName,
    latest_version: target.capability.latest_version,
    versions: newestFirst(versions).map(toVersionListItem),
  };
}

/** A version a caller may download: members of `{org}` any, runtime tokens only bound ones. */
async function downloadableVersion(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  version: string,
): Promise<{ owner: CapabilityOwner; row: VersionRow }> {
  if (scope.actor.runtimeId !== null) return boundVersion(deps, scope.actor, orgKey, ref, version);
  const owner = await resolveCapability(deps, scope.actor, orgKey, ref, "reader");
  return { owner, row: await resolveVersion(deps.db, owner, version) };
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
): Promise<{ owner: CapabilityOwner; row: VersionRow }> {
  const [ownerKey, name] = splitRef(ref, orgKey);
  const runtime = await requireRuntimeTokenRead(deps, actor, { capability: { org: orgKey, ownerKey } });
  const capability = await findCapabilityByOrgKey(deps.db, ownerKey, name, { publicOnly: false });
  const row = capability && (await findTargetVersion(deps.db, capability, version));
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
  scope: RequestScope,
  orgKey: string,
  ref: string,
  version: string,
  path: string,
): Promise<VersionFile> {
  const { owner, row } = await downloadableVersion(deps, scope, orgKey, ref, version);
  const entry = fileEntry(row, path);
  if (!entry)
    throw new AppError("not_found_error", `'${owner.displayName}@${row.version}' has no file '${path}'`);
  return { path: entry.path, size: entry.size, content: await openBlob(deps, entry.sha256) };
}

export async function getReadme(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  version: string,
): Promise<Readme> {
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "reader");
  const row = await resolveVersion(deps.db, target, version);
  const entry = row.readme_path === null ? undefined : fileEntry(row, row.readme_path);
  if (!entry)
    throw new AppError("not_found_error", `'${target.displayName}@${row.version}' has no README.md`);
  const content = await deps.blobs.read(entry.sha256);
  if (content === null) throw missingBlob(entry.sha256);
  return { content: content.toString("utf8"), path: entry.path };
}

function fileEntry(version: VersionRow, path: string): FileManifestEntry | undefined {
  const manifest: FileManifestEntry[] = JSON.parse(version.file_manifest);
  return manifest.find((entry) => entry.path === path);
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
