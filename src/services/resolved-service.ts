// What a runtime consumes (SPEC §7.6): its enabled bindings, resolved to artifacts, signed download
// URLs and effective flags, with a digest of the content that is also the strong ETag. Runtimes
// poll this with If-None-Match, so the digest and the serialized body are cached per runtime.
import { type BindingJoinedRow, listJoinedBindings } from "../db/repositories/binding-repository.js";
import { findRuntimeLocation } from "../db/repositories/runtime-repository.js";
import { workspaceSecretVersions } from "../db/repositories/secret-repository.js";
import { listActiveSigningKeys } from "../db/repositories/signing-key-repository.js";
import { canonicalDigest } from "../domain/digests.js";
import { notFound } from "../errors.js";
import {
  cachedViewFor,
  type RuntimeView,
  RuntimeViewCache,
  readViewFor,
  type SerializedBody,
  serialized,
} from "./binding-cache.js";
import {
  type DeclaredFlags,
  displayName,
  effectiveFlags,
  type FlagOverrides,
  parseJsonObject,
} from "./binding-views.js";
import type { Actor, ServiceDeps } from "./deps.js";
import type { OrgRoleCache } from "./org-role-cache.js";
import type { RuntimePath } from "./runtime-path.js";
import {
  type DeclaredSecrets,
  type SecretMapping,
  type SecretReference,
  secretReferences,
} from "./secret-views.js";
import { signBlobUrl } from "./signed-urls.js";
import { countedSignaturesOf, requiresSigned } from "./signing-service.js";

/**
 * Signed URLs live 15 minutes; a cached body is re-signed once its URLs have less than this left,
 * so a runtime always gets at least this long to start its downloads.
 */
const RESIGN_MARGIN_MS = 5 * 60_000;

interface ResolvedEntry {
  /** The bound version's id: its signatures are looked up by it. */
  version_id: string;
  name: string;
  version: string;
  artifact_sha256: string;
  artifact_s3_prefix: string;
  flags: FlagOverrides;
  effective_flags: FlagOverrides;
  runtime_digest: string;
  /** References to workspace secrets, never values (SPEC §11). */
  secrets: SecretReference[];
  /** Stored DSSE envelopes (JSON text) that count for the version. */
  signatures: string[];
}

/** What the runtime needs to verify signatures itself (SPEC §14). */
interface TrustSection {
  trusted_keys: { id: string; org: string; name: string; public_key: string; fingerprint: string }[];
  policy: { require_signed: boolean };
}

/** The serialized response with its signed URLs, and when to sign them again. */
interface SignedBody extends SerializedBody {
  resignAt: number;
}

interface ResolvedView extends RuntimeView, SignedBody {
  digest: string;
  /** The digest in quotes: the strong ETag. */
  etag: string;
  entries: ResolvedEntry[];
  trust: TrustSection;
}

export type ResolvedResponse = { etag: string } & (SerializedBody | { body: null });

export class ResolvedService {
  private readonly views: RuntimeViewCache<ResolvedView>;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly roles: OrgRoleCache,
  ) {
    this.views = new RuntimeViewCache(deps.changes);
  }

  /**
   * The resolved set, or `body: null` when `If-None-Match` already names its digest (→ 304).
   * Synchronous when the caller's role and the set are in memory and its URLs are fresh.
   */
  resolve(
    actor: Actor,
    path: RuntimePath,
    ifNoneMatch: string | undefined,
  ): ResolvedResponse | Promise<ResolvedResponse> {
    return this.cachedAnswer(actor, path, ifNoneMatch) ?? this.readResolved(actor, path, ifNoneMatch);
  }

  /**
   * The answer from memory when the caller may read it, the set is cached and its URLs are fresh;
   * undefined in every other case (see cachedViewFor).
   */
  cachedAnswer(
    actor: Actor,
    path: RuntimePath,
    ifNoneMatch: string | undefined,
  ): ResolvedResponse | undefined {
    const view = cachedViewFor(this.views, this.roles, actor, path);
    return view && this.answer(view, ifNoneMatch);
  }

  /**
   * Whether the runtime's cached set binds the capability; undefined when it is not cached (a
   * watcher then cannot rule the change out).
   */
  showsCapability(runtimeId: string, capabilityId: string): boolean | undefined {
    return this.views.peek(runtimeId)?.capabilityIds.includes(capabilityId);
  }

  /**
   * Whether the runtime's cached set carries the org's signing keys; undefined when it is not cached.
   */
  showsTrustOf(runtimeId: string, orgId: string): boolean | undefined {
    const view = this.views.peek(runtimeId);
    return view && (view.trustOrgIds?.includes(orgId) ?? false);
  }

  /** The org of a runtime whose set is cached; undefined when it is not. */
  orgOf(runtimeId: string): string | undefined {
    return this.views.peek(runtimeId)?.orgId;
  }

  private async readResolved(
    actor: Actor,
    path: RuntimePath,
    ifNoneMatch: string | undefined,
  ): Promise<ResolvedResponse> {
    const view = await readViewFor(this.deps, this.views, this.roles, actor, path, () =>
      this.load(path.runtimeId),
    );
    return this.answer(view, ifNoneMatch) ?? this.resignAndAnswer(view);
  }

  /** The answer from the view as it is; undefined when its signed URLs must be renewed first. */
  private answer(view: ResolvedView, ifNoneMatch: string | undefined): ResolvedResponse | undefined {
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, view.etag))
      return { etag: view.etag, body: null };
    if (this.deps.now().getTime() >= view.resignAt) return undefined;
    return { etag: view.etag, body: view.body, contentLength: view.contentLength };
  }

  private async resignAndAnswer(view: ResolvedView): Promise<ResolvedResponse> {
    Object.assign(view, await this.sign(view.entries, view.digest, view.trust));
    return { etag: view.etag, body: view.body, contentLength: view.contentLength };
  }

  private async load(runtimeId: string): Promise<ResolvedView> {
    const location = await findRuntimeLocation(this.deps.db, runtimeId);
    if (!location) throw notFound("Runtime");
    const rows = await listJoinedBindings(this.deps.db, runtimeId);
    const secrets = await workspaceSecretVersions(this.deps.db, location.workspace_id);
    const enabled = rows.filter((row) => row.enabled === 1);
    // Two queries whatever the number of bindings: signatures of every bound version, and the
    // owners' keys. Trust never moves the digest (SPEC §7.6 fixes what it covers); it moves the ETag.
    const signatures = await countedSignaturesOf(
      this.deps.db,
      enabled.map((row) => row.version_id),
    );
    const owners = new Map(enabled.map((row) => [row.capability_org_id, row.owner_key]));
    const keys = await listActiveSigningKeys(this.deps.db, [...owners.keys()]);
    const trust: TrustSection = {
      trusted_keys: keys.map((key) => ({
        id: key.id,
        org: owners.get(key.org_id) ?? "",
        name: key.name,
        public_key: key.public_key,
        fingerprint: key.fingerprint,
      })),
      policy: { require_signed: requiresSigned(location.config) },
    };
    const entries = enabled
      .map((row) => toResolvedEntry(row, secrets, signatures.get(row.version_id) ?? []))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const digest = digestOfEntries(entries);
    const trustTag = trustTagOf(trust, entries);
    return {
      orgId: location.org_id,
      workspaceKey: location.workspace_key,
      capabilityIds: rows.map((row) => row.capability_id),
      trustOrgIds: [...owners.keys()],
      digest,
      etag: trustTag === null ? `"${digest}"` : `"${digest}+${trustTag}"`,
      entries,
      trust,
      ...(await this.sign(entries, digest, trust)),
    };
  }

  private async sign(entries: ResolvedEntry[], digest: string, trust: TrustSection): Promise<SignedBody> {
    let expiresAt = Number.POSITIVE_INFINITY;
    const capabilities = [];
    for (const entry of entries) {
      const signed = await signBlobUrl(this.deps, entry.artifact_sha256);
      expiresAt = Math.min(expiresAt, Date.parse(signed.expiresAt));
      capabilities.push({
        name: entry.name,
        version: entry.version,
        artifact_digest: `sha256:${entry.artifact_sha256}`,
        artifact_s3_prefix: entry.artifact_s3_prefix,
        download_url: signed.url,
        flags: entry.flags,
        effective_flags: entry.effective_flags,
        runtime_digest: entry.runtime_digest,
        secrets: entry.secrets,
        signatures: entry.signatures.map((text) => JSON.parse(text) as unknown),
      });
    }
    return {
      ...serialized({ capabilities, runtime_digest: digest, ...trust }),
      resignAt: expiresAt - RESIGN_MARGIN_MS,
    };
  }
}

/**
 * Content only: signed URLs (which change with every signing) never move the digest. A
 * capability's secret references count too (SPEC §11), so a new value makes runtimes re-sync;
 * without any, an entry is digested exactly as before secrets existed. The capability's own
 * runtime_digest stays its files' digest: the sync checks what it unpacks against it.
 */
function digestOfEntries(entries: ResolvedEntry[]): string {
  return canonicalDigest(
    entries.map(({ name, version, runtime_digest, effective_flags, secrets }) => ({
      name,
      version,
      runtime_digest,
      effective_flags,
      ...(secrets.length === 0 ? {} : { secrets }),
    })),
  );
}

/**
 * What the ETag adds to the digest when trust is in play: the policy, the trusted keys and which
 * envelopes each capability carries. `runtime_digest` stays what SPEC §7.6 says it covers, but two
 * bodies must never share an ETag: a revoked key or a new policy has to reach a runtime that
 * already synced (its If-None-Match no longer matches, and a held watch wakes with the new set).
 * Null without keys, signatures or policy, so such sets keep ETag = quoted digest.
 */
function trustTagOf(trust: TrustSection, entries: ResolvedEntry[]): string | null {
  const signed = entries.filter((entry) => entry.signatures.length > 0);
  if (!trust.policy.require_signed && trust.trusted_keys.length === 0 && signed.length === 0) return null;
  return canonicalDigest({
    policy: trust.policy,
    keys: trust.trusted_keys.map((key) => key.id).sort(),
    signatures: signed.map((entry) => [entry.name, [...entry.signatures].sort()]),
  })
    .replace(/^sha256:/, "")
    .slice(0, 16);
}

/**
 * The resolved set's digest from a runtime's joined binding rows and its workspace's secret
 * versions, without signing anything: what the runtime list compares a runtime's reported
 * `applied_digest` with (SPEC §12 `in_sync`). The same functions as the resolved set itself, so
 * the two can never disagree (signatures never move the digest).
 */
export function resolvedDigestOf(rows: BindingJoinedRow[], secrets: ReadonlyMap<string, number>): string {
  const entries = rows
    .filter((row) => row.enabled === 1)
    .map((row) => toResolvedEntry(row, secrets, []))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return digestOfEntries(entries);
}

function toResolvedEntry(
  row: BindingJoinedRow,
  available: ReadonlyMap<string, number>,
  signatures: { envelope: string }[],
): ResolvedEntry {
  const overrides = parseJsonObject<FlagOverrides>(row.flags);
  const secrets = secretReferences(
    parseJsonObject<DeclaredSecrets>(row.declared_secrets),
    parseJsonObject<SecretMapping>(row.secrets),
    available,
  );
  return {
    version_id: row.version_id,
    // One envelope may be stored once per key it verified against: send each once.
    signatures: [...new Set(signatures.map((s) => s.envelope))],
    name: displayName(row.capability_name, row.owner_key, row.capability_org_id === row.runtime_org_id),
    version: row.version,
    artifact_sha256: row.artifact_sha256,
    artifact_s3_prefix: `/api/v1/org/${row.owner_key}/capabilities/${row.capability_name}/${row.version}/files/`,
    flags: overrides,
    effective_flags: effectiveFlags(parseJsonObject<DeclaredFlags>(row.declared_flags), overrides),
    runtime_digest: row.runtime_digest,
    secrets,
  };
}

/**
 * Weak comparison, as RFC 9110 asks of If-None-Match: `W/` is ignored, `*` matches anything. The
 * digest without its quotes matches too: SPEC §7.6 has clients send "it", the runtime_digest,
 * and one read from the body arrives bare.
 */
function etagMatches(header: string, etag: string): boolean {
  // The common case, a runtime sending back exactly the ETag it got, needs no parsing.
  if (header === etag) return true;
  if (header.trim() === "*") return true;
  return header.split(",").some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, "");
    return tag === etag || `"${tag}"` === etag;
  });
}
