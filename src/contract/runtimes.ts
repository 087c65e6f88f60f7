// Runtimes and their v2 config (SPEC §6). The config schema is strict at every level: a misspelt
// key in a declarative file must fail the apply, not be silently dropped.
import { type Static, Type } from "typebox";
import {
  CAPABILITY_REF_MAX_LENGTH,
  CAPABILITY_REF_PATTERN,
  SLUG_PATTERN,
  UUID_PATTERN,
  VERSION_SELECTOR_PATTERN,
} from "../domain/names.js";
import { SecretMapping } from "./bindings.js";
import { CursorQuery, Description, DisplayName, Nullable, Slug, Timestamp, Uuid } from "./common.js";

const strict = { additionalProperties: false } as const;
const StringMap = Type.Record(Type.String(), Type.String());

const CapabilityName = Type.String({
  pattern: CAPABILITY_REF_PATTERN,
  maxLength: CAPABILITY_REF_MAX_LENGTH,
  description: "`name` for the org's own capability, `owner/name` for another org's public one",
});
const CapabilityVersion = Type.String({
  pattern: VERSION_SELECTOR_PATTERN,
  description:
    "`x.y.z`, `latest` or a tag (the binding then tracks it); when left out, a bound capability keeps its version and a new one is installed at latest",
});

export const DesiredCapability = Type.Object(
  {
    name: CapabilityName,
    version: Type.Optional(CapabilityVersion),
    enabled: Type.Optional(Type.Boolean({ default: true })),
    secrets: Type.Optional(SecretMapping),
    auto_update: Type.Optional(
      Type.Boolean({
        description:
          "Follow the tracked tag or latest (SPEC §13); not with a fixed version (422 `binding.auto_update`). Left out, a new binding does not and a bound one keeps its setting (off when the entry pins a version)",
      }),
    ),
  },
  strict,
);

export const ConfigCapability = Type.Object({
  name: Type.String(),
  version: Type.String(),
  enabled: Type.Boolean(),
});

/** Every config field except `capabilities`: what `runtimes.config` stores. */
const configSettings = {
  policy: Type.Optional(
    Type.Object(
      {
        require_signed: Type.Optional(
          Type.Boolean({
            description:
              "Refuse to bind, upgrade or reconcile to a version without a signature by a current signing key of its org (SPEC §14)",
          }),
        ),
      },
      strict,
    ),
  ),
  defaults: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  metadata: Type.Optional(Type.Object({ labels: Type.Optional(StringMap) }, strict)),
  resources: Type.Optional(
    Type.Object(
      {
        cpu_cores: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
        // Every integer has a maximum: JSON's 1e309 parses to Infinity, which `integer` lets through.
        memory_mb: Type.Optional(
          Type.Integer({ minimum: 1, maximum: 1_048_576, description: "At most 1 TiB" }),
        ),
      },
      strict,
    ),
  ),
  runtime_server: Type.Optional(Type.Object({ env: Type.Optional(StringMap) }, strict)),
  sandbox: Type.Optional(
    Type.Object(
      {
        exposed_ports: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }))),
        timeout_seconds: Type.Optional(
          Type.Integer({ minimum: 1, maximum: 2_592_000, description: "At most 30 days" }),
        ),
        workspace_mount: Type.Optional(Type.String()),
      },
      strict,
    ),
  ),
  build: Type.Optional(
    Type.Object(
      {
        profile: Type.Optional(Type.String()),
        provider: Type.Optional(
          Type.Union([Type.Literal("auto"), Type.Literal("docker"), Type.Literal("e2b")]),
        ),
        source: Type.Optional(Type.Object({ kind: Type.String(), ref: Type.String() }, strict)),
      },
      strict,
    ),
  ),
};

export const RuntimeConfigInput = Type.Object(
  {
    version: Type.Literal("v2"),
    capabilities: Type.Optional(Type.Array(DesiredCapability)),
    ...configSettings,
  },
  strict,
);

/** The config as read back: `capabilities` always present, taken from the current bindings. */
export const RuntimeConfigView = Type.Object({
  version: Type.Literal("v2"),
  capabilities: Type.Array(ConfigCapability),
  ...configSettings,
});

/** What the runtime last reported about its sync (SPEC §12), compared with its current resolved set. */
export const RuntimeSync = Type.Object({
  last_seen_at: Nullable(Timestamp),
  applied_digest: Nullable(Type.String()),
  in_sync: Type.Boolean({
    description:
      "The applied digest equals the current resolved set's runtime_digest (false before any report)",
  }),
  checks_failed: Type.Integer({ description: "Checks reported failing in the last report" }),
});

export const Runtime = Type.Object({
  id: Uuid,
  key: Slug,
  name: Type.String(),
  description: Nullable(Type.String()),
  project_id: Uuid,
  workspace_id: Uuid,
  status: Type.String({ description: "`idle`" }),
  config_version: Type.Literal("v2"),
  config_digest: Type.String({ description: "`sha256:` of the canonical JSON of `GET RT/config`'s config" }),
  capability_count: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
  sync: RuntimeSync,
});

export const RuntimeList = Type.Object({ items: Type.Array(Runtime), next_cursor: Nullable(Type.String()) });

export const RuntimeListQuery = Type.Object(
  {
    ...CursorQuery.properties,
    project_id: Type.Optional(Uuid),
    status: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { maxItems: 20 })),
    in_sync: Type.Optional(
      Type.Boolean({
        description: "`sync.in_sync` equals this (runtimes that never reported are not in sync)",
      }),
    ),
    stale: Type.Optional(
      Type.Boolean({
        description: "true: not seen for 5 minutes, or never; false: seen within 5 minutes",
      }),
    ),
  },
  strict,
);

/** Sizes of a status report: a report is small and frequent, and is stored as it is sent. */
export const STATUS_LIMITS = {
  maxChecks: 200,
  maxOutputBytes: 4096,
  maxErrors: 50,
  maxErrorBytes: 4096,
} as const;

const Digest = Type.String({ pattern: "^sha256:[0-9a-f]{64}$", description: "`sha256:` + 64 hex" });

export const RuntimeStatusBody = Type.Object(
  {
    applied_digest: Nullable(
      Type.String({
        ...Digest,
        description: "The runtime_digest the runtime has applied; null before its first successful apply",
      }),
    ),
    agent: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 64, examples: ["capstan-cli"] }),
        version: Type.String({ minLength: 1, maxLength: 64, examples: ["0.1.0"] }),
      },
      strict,
    ),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    checks: Type.Optional(
      Type.Array(
        Type.Object(
          {
            capability: Type.String({
              pattern: CAPABILITY_REF_PATTERN,
              maxLength: CAPABILITY_REF_MAX_LENGTH,
            }),
            name: Type.String({ minLength: 1, maxLength: 128 }),
            ok: Type.Boolean(),
            duration_ms: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
            output: Type.Optional(
              Type.String({
                maxLength: STATUS_LIMITS.maxOutputBytes,
                description: `At most ${STATUS_LIMITS.maxOutputBytes} bytes (UTF-8)`,
              }),
            ),
          },
          strict,
        ),
        { maxItems: STATUS_LIMITS.maxChecks },
      ),
    ),
    errors: Type.Optional(
      Type.Array(
        Type.String({
          minLength: 1,
          maxLength: STATUS_LIMITS.maxErrorBytes,
          description: `At most ${STATUS_LIMITS.maxErrorBytes} bytes (UTF-8)`,
        }),
        { maxItems: STATUS_LIMITS.maxErrors },
      ),
    ),
  },
  strict,
);

export const RuntimeStatusReport = Type.Object({
  sync: RuntimeSync,
  agent: Type.Object({ name: Type.String(), version: Type.String() }),
  host: Nullable(Type.String()),
  checks: Type.Array(
    Type.Object({
      capability: Type.String(),
      name: Type.String(),
      ok: Type.Boolean(),
      duration_ms: Type.Integer(),
      output: Type.Optional(Type.String()),
    }),
  ),
  errors: Type.Array(Type.String()),
});

export const CreateRuntimeBody = Type.Object(
  {
    key: Slug,
    name: DisplayName,
    project: Type.Optional(
      Type.String({
        pattern: `${SLUG_PATTERN}|${UUID_PATTERN}`,
        description: "Project key or id in this workspace (the default project when absent)",
      }),
    ),
    description: Type.Optional(Nullable(Description)),
    config: Type.Optional(RuntimeConfigInput),
  },
  strict,
);

export const UpdateRuntimeBody = Type.Object(
  { name: Type.Optional(DisplayName), description: Type.Optional(Nullable(Description)) },
  { ...strict, minProperties: 1 },
);

export const RuntimeConfigEnvelope = Type.Object({ config: RuntimeConfigView });

export const PutRuntimeConfigBody = Type.Object({ config: RuntimeConfigInput }, strict);

export const PutRuntimeConfigQuery = Type.Object(
  { dry_run: Type.Optional(Type.Boolean({ default: false })) },
  strict,
);

/** What the planned version requires (SPEC §13), present only when it requires something. */
const PlanRequires = Type.Optional(
  Type.Record(Type.String(), Type.String(), {
    description: "Requirements of the planned version: name → range",
  }),
);

/** What the binding tracks after the apply (SPEC §13). */
const PlanTracking = {
  track: Nullable(Type.String({ description: "`latest`, a tag, or null for a pinned version" })),
  auto_update: Type.Boolean({ description: "Whether the binding will follow its track" }),
};

export const ReconciliationPlan = Type.Object({
  install: Type.Array(
    Type.Object({
      name: Type.String(),
      version: Type.String(),
      enabled: Type.Boolean(),
      ...PlanTracking,
      requires: PlanRequires,
    }),
  ),
  update: Type.Array(
    Type.Object({
      name: Type.String(),
      from: Type.String(),
      to: Type.String(),
      enabled: Type.Boolean(),
      ...PlanTracking,
      requires: PlanRequires,
    }),
  ),
  remove: Type.Array(Type.Object({ name: Type.String(), version: Type.String() })),
});

/** `PUT RT/config` without `dry_run`: the stored config, the runtime and what the apply changed. */
export const AppliedRuntimeConfig = Type.Object({
  config: RuntimeConfigView,
  runtime: Runtime,
  plan: ReconciliationPlan,
});

export type RuntimeView = Static<typeof Runtime>;
export type RuntimeConfigInputValue = Static<typeof RuntimeConfigInput>;
export type RuntimeConfigViewValue = Static<typeof RuntimeConfigView>;
export type CreateRuntimeInput = Static<typeof CreateRuntimeBody>;
export type UpdateRuntimeInput = Static<typeof UpdateRuntimeBody>;
export type RuntimeSyncView = Static<typeof RuntimeSync>;
export type RuntimeStatusInput = Static<typeof RuntimeStatusBody>;
export type RuntimeStatusView = Static<typeof RuntimeStatusReport>;
