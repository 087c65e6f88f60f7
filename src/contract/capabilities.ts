// The capability registry: artifacts, versions, downloads (SPEC §4, §5).
import { type Static, Type } from "typebox";
import {
  CAPABILITY_REF_MAX_LENGTH,
  CAPABILITY_REF_PATTERN,
  TAG_PATTERN,
  VERSION_MAX_LENGTH,
  VERSION_PATTERN,
} from "../domain/names.js";
import {
  ComponentCounts,
  ErrorItem,
  NO_NUL,
  Nullable,
  PageQuery,
  pagedResponse,
  Slug,
  Timestamp,
  Uuid,
} from "./common.js";
import { ScanSummary } from "./scan.js";
import { VersionSignature } from "./signing.js";

const strict = { additionalProperties: false } as const;

/**
 * `name`, or `owner/name` for another org's public capability: URL-encoded as `owner%2Fname`, or,
 * on reads, as two segments (src/http/owner-name-path.ts).
 */
export const CapabilityRef = Type.String({
  pattern: CAPABILITY_REF_PATTERN,
  maxLength: CAPABILITY_REF_MAX_LENGTH,
  description:
    "`name`, or `owner/name` for another org's public capability: `owner%2Fname`, or on reads also `owner/name`",
});

const ReleaseVersion = Type.String({
  pattern: VERSION_PATTERN,
  maxLength: VERSION_MAX_LENGTH,
  description: "`x.y.z` or `x.y.z-prerelease`",
});

/** Reads also accept `latest`; any other text simply names no version (404). */
const VersionOrLatest = Type.String({ minLength: 1, maxLength: 256, description: "`x.y.z` or `latest`" });

export const VersionStatus = Type.Union([
  Type.Literal("active"),
  Type.Literal("deprecated"),
  Type.Literal("yanked"),
]);
export type VersionStatus = Static<typeof VersionStatus>;

export const CapabilityParams = Type.Object({ org: Slug, name: CapabilityRef }, strict);
export const VersionParams = Type.Object(
  { org: Slug, name: CapabilityRef, version: VersionOrLatest },
  strict,
);
export const ReleaseParams = Type.Object({ org: Slug, name: CapabilityRef, version: ReleaseVersion }, strict);
export const FileParams = Type.Object(
  { org: Slug, name: CapabilityRef, version: VersionOrLatest, "*": Type.String() },
  strict,
);

export const PublishQuery = Type.Object(
  { public: Type.Optional(Type.Boolean({ description: "Visibility when the name is new" })) },
  strict,
);

export const DeleteQuery = Type.Object(
  { force: Type.Optional(Type.Boolean({ description: "Also remove the bindings of this version" })) },
  strict,
);

const repeatable = (description: string) =>
  Type.Optional(Type.Array(Type.String({ maxLength: 200, pattern: NO_NUL }), { maxItems: 50, description }));

export const SortBy = Type.Union([
  Type.Literal("name"),
  Type.Literal("author_name"),
  Type.Literal("license"),
  Type.Literal("created_at"),
  Type.Literal("updated_at"),
]);
export type SortBy = Static<typeof SortBy>;

const SortDir = Type.Union([Type.Literal("asc"), Type.Literal("desc")]);

const filterQuery = {
  search: Type.Optional(
    Type.String({
      maxLength: 200,
      pattern: NO_NUL,
      description: "Substring of name, description or keywords",
    }),
  ),
  keywords: repeatable("Any of these keywords"),
  author: repeatable("Any of these author names"),
  license: repeatable("Any of these licenses"),
  include_public: Type.Optional(Type.Boolean({ description: "Also list other orgs' public capabilities" })),
};

export const ListQuery = Type.Object(
  {
    ...filterQuery,
    sort_by: Type.Optional(SortBy),
    sort_dir: Type.Optional(SortDir),
    ...PageQuery,
  },
  strict,
);
export type ListQuery = Static<typeof ListQuery>;

/**
 * The list's own query, so a client can pass it on unchanged: the filters select what is counted;
 * sorting and paging are accepted and change nothing (the counts cover every page).
 */
export const FacetQuery = ListQuery;
export type FacetQuery = Static<typeof FacetQuery>;

const ComponentDetail = Type.Object({
  type: Type.Union(["agent", "tool", "skill", "mcp_server", "worker"].map((t) => Type.Literal(t))),
  name: Type.String(),
  path: Type.String(),
  description: Type.Optional(Type.String()),
  metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

const FileManifestEntry = Type.Object({ path: Type.String(), sha256: Type.String(), size: Type.Integer() });

/** A page of a version's file manifest (cursor style, SPEC §2.7). */
export const FileList = Type.Object({
  items: Type.Array(FileManifestEntry),
  next_cursor: Nullable(Type.String({ description: "Pass back as `cursor` for the next page" })),
});
export type FileList = Static<typeof FileList>;

const FlagDefinition = Type.Object({ description: Type.String(), default: Type.Boolean() });

const summaryFields = {
  id: Uuid,
  name: Type.String({ description: "`owner/name` when another org owns it" }),
  version: Type.String(),
  description: Nullable(Type.String()),
  author_name: Nullable(Type.String()),
  license: Nullable(Type.String()),
  keywords: Type.Array(Type.String()),
  is_public: Type.Boolean(),
  status: VersionStatus,
  component_counts: ComponentCounts,
  created_at: Timestamp,
  updated_at: Timestamp,
  version_count: Type.Integer(),
  versions: Type.Array(Type.String(), { description: "Newest semver first; deleted versions left out" }),
};

export const ArtifactSummary = Type.Object(summaryFields);
export type ArtifactSummary = Static<typeof ArtifactSummary>;

export const ArtifactDetail = Type.Object({
  ...summaryFields,
  artifact_sha256: Type.String(),
  runtime_digest: Type.String(),
  size_bytes: Type.Integer(),
  file_manifest: Type.Array(FileManifestEntry),
  manifest: Type.Record(Type.String(), Type.Unknown(), { description: "capability.yaml as JSON" }),
  component_details: Type.Array(ComponentDetail),
  flags: Type.Record(Type.String(), FlagDefinition),
  warnings: Type.Array(ErrorItem),
  deprecation_message: Nullable(Type.String()),
  published_by: Nullable(Type.String({ description: "The publishing user's id" })),
  scan: ScanSummary,
  signatures: Type.Array(VersionSignature, {
    description: "Verified signatures by the org's non-revoked signing keys (SPEC §14)",
  }),
  tags: Type.Array(Type.String(), { description: "The distribution tags on this version (SPEC §13)" }),
});
export type ArtifactDetail = Static<typeof ArtifactDetail>;

export const ArtifactPage = pagedResponse("capabilities", ArtifactSummary);
export type ArtifactPage = Static<typeof ArtifactPage>;

const FacetCount = Type.Object({ value: Type.String(), count: Type.Integer() });

export const Facets = Type.Object({
  keywords: Type.Array(FacetCount),
  authors: Type.Array(FacetCount),
  licenses: Type.Array(FacetCount),
});
export type Facets = Static<typeof Facets>;

export const VersionListItem = Type.Object({
  id: Uuid,
  version: Type.String(),
  status: VersionStatus,
  deprecation_message: Nullable(Type.String()),
  runtime_digest: Type.String(),
  size_bytes: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
  tags: Type.Array(Type.String(), { description: "The distribution tags on this version" }),
});
export type VersionListItem = Static<typeof VersionListItem>;

export const VersionList = Type.Object({
  name: Type.String(),
  latest_version: Nullable(Type.String()),
  versions: Type.Array(VersionListItem),
});
export type VersionList = Static<typeof VersionList>;

export const StatusPatchBody = Type.Object(
  {
    status: VersionStatus,
    message: Type.Optional(
      Type.String({ minLength: 1, maxLength: 500, description: "Only with `deprecated`" }),
    ),
  },
  strict,
);
export type StatusPatchBody = Static<typeof StatusPatchBody>;

export const VisibilityBody = Type.Object({ is_public: Type.Boolean() }, strict);
export type VisibilityBody = Static<typeof VisibilityBody>;

export const VisibilityResult = Type.Object({ is_public: Type.Boolean(), message: Type.String() });
export type VisibilityResult = Static<typeof VisibilityResult>;

export const BundleLink = Type.Object({
  digest: Type.String({ description: "`sha256:<artifact_sha256>`" }),
  download_url: Type.String({ description: "Signed; needs no Authorization header" }),
  size_bytes: Type.Integer(),
  expires_at: Timestamp,
});
export type BundleLink = Static<typeof BundleLink>;

export const Readme = Type.Object({ content: Type.String(), path: Type.String() });
export type Readme = Static<typeof Readme>;

export const BlobParams = Type.Object(
  { sha256: Type.String({ pattern: "^[0-9a-fA-F]{64}$", description: "Hex SHA-256 of the blob" }) },
  strict,
);

export const BlobQuery = Type.Object(
  {
    exp: Type.Optional(Type.String({ maxLength: 20, description: "Expiry, Unix seconds" })),
    sig: Type.Optional(Type.String({ maxLength: 128, description: "Hex HMAC-SHA256" })),
  },
  strict,
);
export type BlobQuery = Static<typeof BlobQuery>;

// --- distribution tags (SPEC §13) ----------------------------------------------------------------

const TagName = Type.String({
  pattern: TAG_PATTERN,
  description: "A tag: a lower-case letter, then up to 31 of `a-z`, `0-9`, `-`; never `latest`",
});

export const TagParams = Type.Object({ org: Slug, name: CapabilityRef, tag: TagName }, strict);

export const TagBody = Type.Object({ version: ReleaseVersion }, strict);
export type TagBody = Static<typeof TagBody>;

export const TagMap = Type.Record(Type.String(), Type.String(), {
  description: "`latest` (computed; absent when nothing is installable) and every tag → its version",
  examples: [{ latest: "1.2.0", beta: "1.3.0-beta.1" }],
});
export type TagMap = Static<typeof TagMap>;
