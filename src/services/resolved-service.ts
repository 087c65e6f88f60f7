// What a runtime consumes (SPEC §7.6): its enabled bindings, resolved to artifacts, signed download
// URLs and effective flags, with a digest of the content that is also the strong ETag. Runtimes
// poll this with If-None-Match, so the digest and the serialized body are cached per runtime.
import { type BindingJoinedRow, listJoinedBindings } from "../db/repositories/binding-repository.js";
import { findRuntimeLocation } from "../db/repositories/runtime-repository.js";
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
import { signBlobUrl } from "./signed-urls.js";

/**
 * Signed URLs live 15 minutes; a cached body is re-signed once its URLs have less than this left,
 * so a runtime always gets at least this long to start its downloads.
 */
const RESIGN_MARGIN_MS = 5 * 60_000;

interface ResolvedEntry {
  name: string;
  version: string;
  artifact_sha256: string;
  artifact_s3_prefix: string;
  flags: FlagOverrides;
  effective_flags: FlagOverrides;
  runtime_digest: string;
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
    Object.assign(view, await this.sign(view.entries, view.digest));
    return { etag: view.etag, body: view.body, contentLength: view.contentLength };
  }

  private async load(runtimeId: string): Promise<ResolvedView> {
    const location = await findRuntimeLocation(this.deps.db, runtimeId);
    if (!location) throw notFound("Runtime");
    const rows = await listJoinedBindings(this.deps.db, runtimeId);
    const entries = rows
      .filter((row) => row.enabled === 1)
      .map(toResolvedEntry)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // Content only: signed URLs (which change with every signing) never move the digest.
    const digest = canonicalDigest(
      entries.map(({ name, version, runtime_digest, effective_flags }) => ({
        name,
        version,
        runtime_digest,
        effective_flags,
      })),
    );
    return {
      orgId: location.org_id,
      workspaceKey: location.workspace_key,
      capabilityIds: rows.map((row) => row.capability_id),
      digest,
      etag: `"${digest}"`,
      entries,
      ...(await this.sign(entries, digest)),
    };
  }

  private async sign(entries: ResolvedEntry[], digest: string): Promise<SignedBody> {
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
      });
    }
    return {
      ...serialized({ capabilities, runtime_digest: digest }),
      resignAt: expiresAt - RESIGN_MARGIN_MS,
    };
  }
}

function toResolvedEntry(row: BindingJoinedRow): ResolvedEntry {
  const overrides = parseJsonObject<FlagOverrides>(row.flags);
  return {
    name: displayName(row.capability_name, row.owner_key, row.capability_org_id === row.runtime_org_id),
    version: row.version,
    artifact_sha256: row.artifact_sha256,
    artifact_s3_prefix: `/api/v1/org/${row.owner_key}/capabilities/${row.capability_name}/${row.version}/files/`,
    flags: overrides,
    effective_flags: effectiveFlags(parseJsonObject<DeclaredFlags>(row.declared_flags), overrides),
    runtime_digest: row.runtime_digest,
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
