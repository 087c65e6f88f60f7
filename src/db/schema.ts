// Kysely table types. Portable column choices so one migration runs on SQLite and PostgreSQL:
// timestamps are ISO-8601 text (they sort lexically), booleans are 0/1 integers, JSON is text.
import type { Generated, Insertable, Kysely, Selectable, Transaction, Updateable } from "kysely";

export type Flag = 0 | 1;

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  /** Instance admins manage users and give people their keys (SPEC §3). */
  is_admin: Generated<Flag>;
  /** Set for service accounts: the one org that created the user and that it belongs to. */
  service_org_id: Generated<string | null>;
  created_at: string;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  /** Hex SHA-256 of the whole key; the plaintext is never stored. */
  key_hash: string;
  read_only: Flag;
  /** Set for runtime tokens (SPEC §7.6): the key may only read this runtime. */
  runtime_id: string | null;
  /** The org the key is limited to (always set for service accounts and runtime tokens). */
  org_id: Generated<string | null>;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  created_at: string;
}

export interface OrgsTable {
  id: string;
  key: string;
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: "owner" | "contributor" | "reader";
  created_at: string;
}

export interface WorkspacesTable {
  id: string;
  org_id: string;
  key: string;
  name: string;
  description: string | null;
  is_default: Flag;
  created_at: string;
  updated_at: string;
}

export interface ProjectsTable {
  id: string;
  org_id: string;
  workspace_id: string;
  key: string;
  name: string;
  description: string | null;
  is_default: Flag;
  created_at: string;
  updated_at: string;
}

export interface RuntimesTable {
  id: string;
  org_id: string;
  workspace_id: string;
  project_id: string;
  key: string;
  name: string;
  description: string | null;
  status: string;
  /** JSON of the stored config without `capabilities` (those live in `bindings`). */
  config: string;
  created_at: string;
  updated_at: string;
}

/** What a runtime last reported about its sync (SPEC §12); one row per runtime. */
export interface RuntimeSyncStatusTable {
  runtime_id: string;
  last_seen_at: string;
  applied_digest: string | null;
  agent_name: string;
  agent_version: string;
  host: string | null;
  /** JSON array of the reported checks. */
  checks: string;
  checks_failed: number;
  /** JSON array of the reported error strings. */
  errors: string;
  reported_by_key_id: string | null;
}

export interface CapabilitiesTable {
  id: string;
  org_id: string;
  name: string;
  is_public: Flag;
  /** Kept up to date in the same transaction as every publish/status change/delete (SPEC §5). */
  latest_version_id: string | null;
  latest_version: string | null;
  created_at: string;
  updated_at: string;
}

export interface CapabilityVersionsTable {
  id: string;
  capability_id: string;
  org_id: string;
  version: string;
  status: "active" | "deprecated" | "yanked" | "deleted";
  deprecation_message: string | null;
  description: string | null;
  author_name: string | null;
  license: string | null;
  /** JSON array of strings. */
  keywords: string;
  /** JSON: the parsed capability.yaml. */
  manifest: string;
  component_counts: string;
  component_details: string;
  flags: string;
  warnings: string;
  file_manifest: string;
  readme_path: string | null;
  artifact_sha256: string;
  runtime_digest: string;
  size_bytes: number;
  published_by: string | null;
  created_at: string;
  updated_at: string;
  /** JSON NAME → {description, required}: the secrets the manifest declares (SPEC §11). */
  secrets: Generated<string>;
  /** JSON of the publish-time scan's summary (SPEC §14); null for versions published before scanning. */
  scan_summary: Generated<string | null>;
}

/** One publish-time scan finding of a version (SPEC §14), in the scanner's order (`seq`). */
export interface ScanFindingsTable {
  version_id: string;
  seq: number;
  org_id: string;
  rule: string;
  severity: "high" | "medium" | "low";
  path: string;
  line: number;
  message: string;
  /** The reason of the `capstan-scan: ignore` comment that suppressed it; null when it stands. */
  suppressed_reason: string | null;
}

/** An org's settings for what a publish must pass (SPEC §14); no row means the defaults. */
export interface OrgPoliciesTable {
  org_id: string;
  block_severity: "none" | "high" | "medium";
  updated_at: string;
}

export interface BindingsTable {
  id: string;
  org_id: string;
  runtime_id: string;
  capability_id: string;
  version_id: string;
  enabled: Flag;
  /** JSON object name → boolean: persisted overrides only. */
  flags: string;
  revision: number;
  /** The tag (or "latest") the binding follows; null for an explicit version (SPEC §13). */
  track: Generated<string | null>;
  /** Whether moving the tracked target re-points the binding in the same transaction. */
  auto_update: Generated<Flag>;
  created_at: string;
  updated_at: string;
  /** JSON NAME → workspace secret name: explicit mappings only (SPEC §11). */
  secrets: Generated<string>;
}

/** Distribution tags (SPEC §13); `latest` is computed, never stored. */
export interface CapabilityTagsTable {
  capability_id: string;
  tag: string;
  version_id: string;
  created_at: string;
  updated_at: string;
}

export interface AuditEventsTable {
  id: string;
  org_id: string | null;
  at: string;
  actor_user_id: string | null;
  api_key_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  request_id: string | null;
  data: string;
  /** Position in the org's audit chain (SPEC §15); the instance's records form their own chain. */
  chain_seq: number | null;
  /** `sha256(previous hash ‖ canonical record)`: see src/domain/audit-chain.ts. */
  hash: string | null;
}

/** Per chain (an org id, or "" for the instance): the last event seq and audit link. */
export interface LogHeadsTable {
  chain: string;
  event_seq: number;
  audit_seq: number;
  audit_hash: string;
}

/** An org's event (SPEC §15), appended in the transaction of the change it describes. */
export interface EventsTable {
  org_id: string;
  /** Gap-free per org: 1, 2, 3… in commit order. */
  seq: number;
  id: string;
  type: string;
  occurred_at: string;
  /** JSON `{user_id, api_key_id}` (both null for the system). */
  actor: string;
  workspace_id: string | null;
  /** JSON `{kind, id, name?}`. */
  subject: string;
  data: string;
}

/** A workspace secret (SPEC §11): the value only as AES-256-GCM ciphertext. */
export interface WorkspaceSecretsTable {
  id: string;
  org_id: string;
  workspace_id: string;
  name: string;
  description: string | null;
  version: number;
  /** The id of the master key that encrypted the value. */
  key_id: string;
  /** base64 of nonce ‖ ciphertext ‖ tag. */
  ciphertext: string;
  created_at: string;
  updated_at: string;
  /** The user who last set it. */
  updated_by: string | null;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface BlobsTable {
  sha256: string;
  size_bytes: number;
  created_at: string;
}

export interface BlobChunksTable {
  sha256: string;
  seq: number;
  data: Buffer;
}

/** An org's Ed25519 public key for capability signatures (SPEC §14). */
export interface SigningKeysTable {
  id: string;
  org_id: string;
  name: string;
  /** SPKI PEM, as re-exported after parsing (never the text as sent). */
  public_key: string;
  /** Hex SHA-256 of the SPKI DER: the DSSE `keyid` the CLI writes. */
  fingerprint: string;
  created_by: string | null;
  created_at: string;
  /** Set on revocation; the key's signatures stop counting from then on. */
  revoked_at: string | null;
}

/** A DSSE envelope verified against one signing key of the version's org. */
export interface CapabilitySignaturesTable {
  id: string;
  org_id: string;
  version_id: string;
  key_id: string;
  /** The envelope JSON as received (re-serialized). */
  envelope: string;
  verified_at: string;
  created_by: string | null;
}

export interface Database {
  users: UsersTable;
  api_keys: ApiKeysTable;
  orgs: OrgsTable;
  memberships: MembershipsTable;
  workspaces: WorkspacesTable;
  projects: ProjectsTable;
  runtimes: RuntimesTable;
  runtime_sync_status: RuntimeSyncStatusTable;
  capabilities: CapabilitiesTable;
  capability_versions: CapabilityVersionsTable;
  bindings: BindingsTable;
  capability_tags: CapabilityTagsTable;
  audit_events: AuditEventsTable;
  settings: SettingsTable;
  blobs: BlobsTable;
  blob_chunks: BlobChunksTable;
  scan_findings: ScanFindingsTable;
  org_policies: OrgPoliciesTable;
  workspace_secrets: WorkspaceSecretsTable;
  signing_keys: SigningKeysTable;
  capability_signatures: CapabilitySignaturesTable;
  log_heads: LogHeadsTable;
  events: EventsTable;
}

export type Row<T extends keyof Database> = Selectable<Database[T]>;
export type NewRow<T extends keyof Database> = Insertable<Database[T]>;
export type RowUpdate<T extends keyof Database> = Updateable<Database[T]>;

/** A database handle: the pool, or a transaction a caller holds. Repositories take either. */
export type Db = Kysely<Database> | Transaction<Database>;
