// Runtime capability bindings, the resolved set and runtime tokens (SPEC §7).
import { type Static, Type } from "typebox";
import {
  CAPABILITY_REF_MAX_LENGTH,
  CAPABILITY_REF_PATTERN,
  SECRET_NAME_PATTERN,
  VERSION_MAX_LENGTH,
  VERSION_SELECTOR_PATTERN,
} from "../domain/names.js";
import { ComponentCounts, KeyName, Nullable, Slug, Timestamp, Uuid } from "./common.js";
import { DsseEnvelopeBody } from "./signing.js";

const strict = { additionalProperties: false } as const;

const CapabilityName = Type.String({
  pattern: CAPABILITY_REF_PATTERN,
  maxLength: CAPABILITY_REF_MAX_LENGTH,
  description: "`name` for the runtime org's own capability, `owner/name` for another org's public one",
});

export const VersionSelector = Type.String({
  pattern: VERSION_SELECTOR_PATTERN,
  maxLength: VERSION_MAX_LENGTH,
  description: "`x.y.z`, `latest`, or a tag (the binding then tracks it)",
});

const FlagOverrides = Type.Record(Type.String(), Type.Boolean(), { description: "Persisted overrides only" });

/**
 * Any JSON value per flag: a non-boolean must be reported as `invalid_flag_error` by the service,
 * not as a generic schema `validation_error`.
 */
const FlagChanges = Type.Record(Type.String(), Type.Unknown());

const SecretName = Type.String({ pattern: SECRET_NAME_PATTERN, description: "A workspace secret's name" });

/** Declared secret name → workspace secret name; only explicit mappings (the default is the same name). */
export const SecretMapping = Type.Record(Type.String({ pattern: SECRET_NAME_PATTERN }), SecretName, {
  maxProperties: 64,
  description: "Declared secret → workspace secret (default: the same name)",
});

/** On PATCH, null restores the default mapping. */
const SecretMappingChanges = Type.Record(
  Type.String({ pattern: SECRET_NAME_PATTERN }),
  Type.Union([SecretName, Type.Null()]),
  {
    maxProperties: 64,
    description: "Declared secret → workspace secret; null restores the default (same name)",
  },
);

export const RuntimeCapabilityBinding = Type.Object({
  id: Uuid,
  artifact_id: Uuid,
  capability_name: Type.String(),
  version: Type.String(),
  latest_version: Nullable(Type.String()),
  enabled: Type.Boolean(),
  flags: FlagOverrides,
  description: Nullable(Type.String()),
  source: Type.Union([Type.Literal("org"), Type.Literal("public")]),
  component_counts: ComponentCounts,
  status: Type.Union([Type.Literal("active"), Type.Literal("deprecated"), Type.Literal("yanked")]),
  upgrade_available: Type.Boolean(),
  track: Nullable(
    Type.String({
      description:
        'The tag the binding follows ("latest" when made from latest); null for an explicit version',
    }),
  ),
  auto_update: Type.Boolean({ description: "Whether the binding moves when its tracked target moves" }),
  revision: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
  secrets: SecretMapping,
  missing_secrets: Type.Array(Type.String(), {
    description: "Required declared secrets whose workspace secret does not exist",
  }),
});
export type RuntimeCapabilityBinding = Static<typeof RuntimeCapabilityBinding>;

export const BindingList = Type.Object({ items: Type.Array(RuntimeCapabilityBinding) });

export const BindingParams = Type.Object(
  { org: Slug, workspace: Slug, runtime_id: Uuid, binding_id: Uuid },
  { additionalProperties: false },
);

export const BindingCreateBody = Type.Object(
  {
    name: CapabilityName,
    version: Type.Optional(VersionSelector),
    enabled: Type.Optional(Type.Boolean()),
    flags: Type.Optional(FlagChanges),
    secrets: Type.Optional(SecretMapping),
    auto_update: Type.Optional(
      Type.Boolean({
        description: "Follow the tracked tag or latest (default false); not with an explicit version",
      }),
    ),
    with_dependencies: Type.Optional(
      Type.Boolean({
        description:
          "Also bind the highest visible version satisfying each unmet requirement (default false)",
      }),
    ),
  },
  strict,
);
export type BindingCreateBody = Static<typeof BindingCreateBody>;

export const BindingPatchBody = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    flags: Type.Optional(FlagChanges),
    version: Type.Optional(VersionSelector),
    secrets: Type.Optional(SecretMappingChanges),
    auto_update: Type.Optional(Type.Boolean()),
  },
  {
    ...strict,
    minProperties: 1,
    description: "At least one of enabled, flags, version, secrets, auto_update",
  },
);
export type BindingPatchBody = Static<typeof BindingPatchBody>;

export const IfMatchHeaders = Type.Object({
  "if-match": Type.Optional(Type.String({ description: "The binding's revision, bare or quoted" })),
});

export const UpgradePreviewQuery = Type.Object({ version: Type.Optional(VersionSelector) }, strict);

const ComponentRef = Type.Object({ type: Type.String(), name: Type.String() });

export const UpgradePreview = Type.Object({
  from: Type.String(),
  to: Type.String(),
  upgrade_kind: Type.Union(
    ["major", "minor", "patch", "none", "downgrade"].map((kind) => Type.Literal(kind)),
  ),
  components: Type.Object({ added: Type.Array(ComponentRef), removed: Type.Array(ComponentRef) }),
  flags: Type.Object({ added: Type.Array(Type.String()), removed: Type.Array(Type.String()) }),
  dropped_overrides: Type.Array(Type.String()),
  mcp_servers_changed: Type.Array(Type.String()),
  workers_changed: Type.Array(Type.String()),
  dependencies_changed: Type.Boolean(),
  requires: Type.Object(
    {
      added: Type.Array(Type.String()),
      removed: Type.Array(Type.String()),
      changed: Type.Array(Type.Object({ name: Type.String(), from: Type.String(), to: Type.String() })),
    },
    { description: "Requirement changes (SPEC §13): `name` → range" },
  ),
});

export const ResolvedCapability = Type.Object({
  name: Type.String(),
  version: Type.String(),
  artifact_digest: Type.String({ description: "sha256:<hex of the bundle archive>" }),
  artifact_s3_prefix: Type.String({
    description: "Path (from the server root) under which the version's files are served",
  }),
  download_url: Type.String({ description: "Signed bundle URL; needs no auth header" }),
  flags: FlagOverrides,
  effective_flags: Type.Record(Type.String(), Type.Boolean()),
  runtime_digest: Type.String(),
  secrets: Type.Array(
    Type.Object({
      name: Type.String({ description: "The declared secret" }),
      secret: Type.String({ description: "The workspace secret it reads" }),
      version: Nullable(Type.Integer({ description: "null while the workspace secret does not exist" })),
    }),
    { description: "References to workspace secrets, never values (read them with GET RT/secrets)" },
  ),
  signatures: Type.Array(DsseEnvelopeBody, {
    description:
      "DSSE envelopes of this version by the owner org's non-revoked keys (SPEC §14); a runtime verifies them itself against `trusted_keys`",
  }),
});

export const TrustedKey = Type.Object({
  id: Uuid,
  org: Type.String({ description: "The org whose bundles this key vouches for" }),
  name: Type.String(),
  public_key: Type.String({ description: "Ed25519 SPKI PEM" }),
  fingerprint: Type.String(),
});

export const ResolvedSet = Type.Object({
  capabilities: Type.Array(ResolvedCapability),
  runtime_digest: Type.String({ description: "Also the strong ETag of this response" }),
  trusted_keys: Type.Array(TrustedKey, {
    description: "Non-revoked signing keys of the orgs that own the listed capabilities",
  }),
  policy: Type.Object({ require_signed: Type.Boolean() }),
});

export const IfNoneMatchHeaders = Type.Object({
  "if-none-match": Type.Optional(
    Type.String({
      description: "The ETag of an earlier answer (its runtime_digest): 304 while nothing changed",
    }),
  ),
});

/** The resolved set's request headers: If-None-Match, and the watch's `Prefer: wait=N` (SPEC §12). */
export const ResolvedHeaders = Type.Object({
  ...IfNoneMatchHeaders.properties,
  prefer: Type.Optional(
    Type.String({
      description:
        "`wait=N` (1..60 seconds; more is lowered to 60) with If-None-Match: the request is held until the " +
        "digest differs (200) or the wait ends (304); the answer then carries `Preference-Applied: wait=N`. " +
        "A server that cannot hold it answers at once without Preference-Applied, as if polled.",
      examples: ["wait=60"],
    }),
  ),
});

export const RuntimeTokenBody = Type.Object(
  {
    name: Type.Optional(KeyName),
    expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, description: "Default 30" })),
  },
  strict,
);
export type RuntimeTokenBody = Static<typeof RuntimeTokenBody>;

export const RuntimeTokenCreated = Type.Object({ id: Uuid, token: Type.String(), expires_at: Timestamp });
