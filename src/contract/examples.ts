// Examples of the main request and response bodies, shown by /docs and read by client generators.
// Keyed by operationId and attached to the document only (src/http/openapi.ts): the routes' schemas
// stay as they are. `npm run lint:openapi` checks every example against its schema, so an example
// that no longer matches the contract fails the check instead of misleading a reader.

const ORG_ID = "01938f4e-7a10-7c3a-9d2e-5b6f0a1c2d3e";
const WORKSPACE_ID = "01938f4e-7a11-7b42-8e13-6c7d8e9f0a1b";
const PROJECT_ID = "01938f4e-7a12-7d53-9f24-7d8e9f0a1b2c";
const RUNTIME_ID = "01938f4e-9b20-7e61-a035-8e9f0a1b2c3d";
const USER_ID = "01938f4e-7a0f-7a21-8c1d-4a5b6c7d8e9f";
const WEB_SEARCH_120 = "01938f4e-8c30-7f72-b146-9f0a1b2c3d4e";
const CODE_REVIEW_201 = "01938f4e-8d40-7083-8257-0a1b2c3d4e5f";
const WEB_SEARCH_DIGEST = "3b2d277956ce126407d3cd8e58da11de0aa11ad5cf7540248c56633a2f4f8214";
const CREATED = "2026-03-02T09:15:00.000Z";
const UPDATED = "2026-03-04T16:40:12.345Z";

const counts = (agents: number, tools: number, skills: number, mcpServers: number, workers: number) => ({
  agents,
  tools,
  skills,
  mcp_servers: mcpServers,
  workers,
});

/** SPEC §7.1: a binding as GET RT/capabilities lists it. */
const webSearchBinding = {
  id: "01938f4e-a150-7194-9368-1b2c3d4e5f60",
  artifact_id: WEB_SEARCH_120,
  capability_name: "web-search",
  version: "1.2.0",
  latest_version: "1.3.0",
  enabled: true,
  flags: { "safe-search": false },
  description: "Search the web and cite sources",
  source: "org",
  component_counts: counts(1, 2, 0, 1, 0),
  status: "active",
  upgrade_available: true,
  track: "latest",
  auto_update: false,
  revision: 3,
  created_at: CREATED,
  updated_at: UPDATED,
  secrets: { SEARCH_API_KEY: "SEARCH_API_KEY_PROD" },
  missing_secrets: [],
};

const codeReviewBinding = {
  id: "01938f4e-a260-72a5-a479-2c3d4e5f6071",
  artifact_id: CODE_REVIEW_201,
  capability_name: "acme/code-review",
  version: "2.0.1",
  latest_version: "2.0.1",
  enabled: false,
  flags: {},
  description: "Reviews pull requests against the team's conventions",
  source: "public",
  component_counts: counts(1, 0, 2, 0, 0),
  status: "deprecated",
  upgrade_available: false,
  track: null,
  auto_update: false,
  revision: 1,
  created_at: CREATED,
  updated_at: CREATED,
  secrets: {},
  missing_secrets: ["GITHUB_TOKEN"],
};

const webSearchSummary = {
  id: "01938f4e-8e50-7194-9368-1b2c3d4e5f60",
  name: "web-search",
  version: "1.3.0",
  description: "Search the web and cite sources",
  author_name: "Acme Tools",
  license: "Apache-2.0",
  keywords: ["search", "web"],
  is_public: false,
  status: "active",
  component_counts: counts(1, 2, 0, 1, 0),
  created_at: UPDATED,
  updated_at: UPDATED,
  version_count: 2,
  versions: ["1.3.0", "1.2.0"],
};

const webSearchDetail = {
  ...webSearchSummary,
  id: WEB_SEARCH_120,
  version: "1.2.0",
  created_at: CREATED,
  updated_at: CREATED,
  version_count: 1,
  versions: ["1.2.0"],
  artifact_sha256: WEB_SEARCH_DIGEST,
  runtime_digest: "sha256:03080d6df0f719d129849289b75faf673d668c4860f316e84394da920593d619",
  size_bytes: 2841,
  file_manifest: [
    {
      path: "README.md",
      sha256: "613ceb02e2dd660d96c4a71203216a49cd6d9795683b5d8af159f7b6a83723ac",
      size: 412,
    },
    {
      path: "agents/researcher.md",
      sha256: "b4028fefa96d3a31dd1bda87221229cef910420359ba9a74bf677c700876cd9e",
      size: 655,
    },
    {
      path: "capability.yaml",
      sha256: "729e075976e59ad1d9f441fd6bb1c5bac039f52d10dc73a97a3ae7da651c4ceb",
      size: 318,
    },
  ],
  manifest: {
    schema: 1,
    name: "web-search",
    version: "1.2.0",
    description: "Search the web and cite sources",
    author: "Acme Tools",
    license: "Apache-2.0",
    keywords: ["search", "web"],
    flags: { "safe-search": { description: "Filter explicit results", default: true } },
  },
  component_details: [
    {
      type: "agent",
      name: "researcher",
      path: "agents/researcher.md",
      description: "Finds and cites sources.",
    },
  ],
  flags: { "safe-search": { description: "Filter explicit results", default: true } },
  warnings: [],
  deprecation_message: null,
  published_by: USER_ID,
  scan: { status: "passed", counts: { high: 0, medium: 0, low: 0 }, suppressed: 0, complete: true },
  signatures: [],
  tags: ["stable"],
};

const runtime = {
  id: RUNTIME_ID,
  key: "support-bot",
  name: "Support bot",
  description: "Answers customer tickets",
  project_id: PROJECT_ID,
  workspace_id: WORKSPACE_ID,
  status: "idle",
  config_version: "v2",
  config_digest: "sha256:5f4b186cb95b79249f203df65afdc7a62b7d5cbcdd9dbedcf65c951b033c1e02",
  capability_count: 2,
  created_at: CREATED,
  updated_at: UPDATED,
  sync: {
    last_seen_at: UPDATED,
    applied_digest: "sha256:9a2c0e1d7f4b3a5c6e8d0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e",
    in_sync: true,
    checks_failed: 0,
  },
};

const signedUrl = (digest: string) =>
  `https://capstan.example.com/api/v1/blobs/${digest}?exp=1772640000&sig=7037df33f2be87927ba7692a6dd73f171bfe0785603d4a2402d06ae23a3d6821`;

export interface OperationExamples {
  /** The request body. */
  body?: unknown;
  /** Response bodies by status code. */
  responses?: Record<number, unknown>;
}

export const OPERATION_EXAMPLES: Record<string, OperationExamples> = {
  listRuntimeCapabilities: { responses: { 200: { items: [codeReviewBinding, webSearchBinding] } } },
  createRuntimeCapability: {
    body: { name: "web-search", version: "1.2.0", flags: { "safe-search": false } },
    responses: { 201: { ...webSearchBinding, revision: 1, updated_at: CREATED } },
  },
  getRuntimeCapability: { responses: { 200: webSearchBinding } },
  updateRuntimeCapability: {
    body: { version: "latest", flags: { "safe-search": null } },
    responses: {
      200: { ...webSearchBinding, version: "1.3.0", flags: {}, upgrade_available: false, revision: 4 },
    },
  },
  getResolvedRuntimeCapabilities: {
    responses: {
      200: {
        capabilities: [
          {
            name: "web-search",
            version: "1.2.0",
            artifact_digest: `sha256:${WEB_SEARCH_DIGEST}`,
            artifact_s3_prefix: "/api/v1/org/acme/capabilities/web-search/1.2.0/files/",
            download_url: signedUrl(WEB_SEARCH_DIGEST),
            flags: { "safe-search": false },
            effective_flags: { "safe-search": false },
            runtime_digest: "sha256:03080d6df0f719d129849289b75faf673d668c4860f316e84394da920593d619",
            secrets: [{ name: "SEARCH_API_KEY", secret: "SEARCH_API_KEY_PROD", version: 2 }],
            signatures: [],
          },
        ],
        runtime_digest: "sha256:769bc6f12bd4c0d41335ca9ae9daf00b38e1be322ad6e61618bd7e4d9ac5f950",
        trusted_keys: [],
        policy: { require_signed: false },
      },
    },
  },
  previewRuntimeCapabilityUpgrade: {
    responses: {
      200: {
        from: "1.2.0",
        to: "1.3.0",
        upgrade_kind: "minor",
        components: { added: [{ type: "tool", name: "fetch-page" }], removed: [] },
        flags: { added: ["max-results"], removed: [] },
        dropped_overrides: [],
        mcp_servers_changed: [],
        workers_changed: [],
        dependencies_changed: false,
        requires: { added: [], removed: [], changed: [] },
      },
    },
  },
  createRuntimeToken: {
    body: { name: "support-bot sync", expires_in_days: 30 },
    responses: {
      201: {
        id: "01938f4e-b370-73b6-b58a-3d4e5f607182",
        token: "cst_k7wq2m4xr5tp_Q3vN8sLz0aYc6hJ2eFbW9uKd1oXg4RtM",
        expires_at: "2026-04-03T16:40:12.345Z",
      },
    },
  },
  listCapabilities: {
    responses: {
      200: {
        capabilities: [webSearchSummary],
        total: 1,
        page: 1,
        limit: 20,
        total_pages: 1,
        has_next: false,
        has_previous: false,
      },
    },
  },
  publishCapability: { responses: { 201: webSearchDetail, 200: webSearchDetail } },
  getCapabilityVersion: { responses: { 200: webSearchDetail } },
  getCapabilityVersionBundle: {
    responses: {
      200: {
        digest: `sha256:${WEB_SEARCH_DIGEST}`,
        download_url: signedUrl(WEB_SEARCH_DIGEST),
        size_bytes: 2841,
        expires_at: "2026-03-04T16:55:12.345Z",
      },
    },
  },
  updateCapabilityVersion: {
    body: { status: "deprecated", message: "Use 1.3.0: it cites sources inline" },
  },
  createRuntime: {
    body: {
      key: "support-bot",
      name: "Support bot",
      description: "Answers customer tickets",
      config: {
        version: "v2",
        capabilities: [
          { name: "web-search", version: "1.2.0" },
          { name: "acme/code-review", enabled: false },
        ],
      },
    },
    responses: { 201: runtime, 200: runtime },
  },
  getRuntime: { responses: { 200: runtime } },
  replaceRuntimeConfig: {
    body: {
      config: {
        version: "v2",
        capabilities: [{ name: "web-search", version: "latest", auto_update: true }],
        resources: { cpu_cores: 2, memory_mb: 4096 },
        metadata: { labels: { team: "support" } },
      },
    },
  },
  getRuntimeConfig: {
    responses: {
      200: {
        config: {
          version: "v2",
          capabilities: [
            { name: "acme/code-review", version: "2.0.1", enabled: false },
            { name: "web-search", version: "1.2.0", enabled: true },
          ],
          resources: { cpu_cores: 2, memory_mb: 4096 },
        },
      },
    },
  },
  createOrganization: {
    body: { key: "acme", name: "Acme Corp", description: "Acme's agents and their capabilities" },
    responses: {
      201: {
        id: ORG_ID,
        key: "acme",
        name: "Acme Corp",
        description: "Acme's agents and their capabilities",
        created_at: CREATED,
        updated_at: CREATED,
        role: "owner",
      },
    },
  },
  createCurrentUserApiKey: {
    body: { name: "laptop", expires_in_days: 90, org: "acme" },
    responses: {
      201: {
        id: "01938f4e-c480-74c7-86ab-4e5f60718293",
        name: "laptop",
        prefix: "p3x7n2qk4m5w",
        key: "cst_p3x7n2qk4m5w_Zr4Tq8VwX2bN6mLc0sHd3fGj7kPa1yUe",
        read_only: false,
        expires_at: "2026-06-02T09:15:00.000Z",
        created_at: CREATED,
      },
    },
  },
};
