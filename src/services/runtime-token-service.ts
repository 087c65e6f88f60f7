// Runtime tokens (SPEC §7.6): API keys bound to one runtime, read-only, that may call only the
// routes marked `runtimeToken` (its binding list, one binding, its resolved set) and fetch the bound
// versions' bundles and files. They are ordinary api_keys rows of the user who minted them, limited
// to the runtime's org, so listing and revoking keys covers them (a service account's tokens are
// listed and revoked by the org's owners with its other keys).
//
// What a token may read is decided in one place, `requireRuntimeTokenRead`, which every route a
// token may call goes through: a token reads only while its runtime exists and the user who minted
// it may still read that runtime's org, and only at its own runtime's paths. The fast lane and the
// cached views answer from memory only what this would allow (binding-cache.ts, cachedViewFor).

import { insertApiKey, newApiKeyRow } from "../db/repositories/api-key-repository.js";
import { findRuntimeInWorkspace, findRuntimeWithUserRole } from "../db/repositories/runtime-repository.js";
import { type AppError, forbidden, notFound } from "../errors.js";
import { generateApiKey } from "../lib/api-key-format.js";
import { newId } from "../lib/ids.js";
import { keyReachesOrg, requireOrgRole, roleAtLeast } from "./access.js";
import { appendAudit } from "./audit.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import type { RuntimePath } from "./runtime-path.js";
import { inTransaction } from "./transaction.js";

export const DEFAULT_RUNTIME_TOKEN_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface RuntimeTokenInput {
  name?: string;
  expires_in_days?: number;
}

export interface CreatedRuntimeToken {
  id: string;
  token: string;
  expires_at: string;
}

export async function createRuntimeToken(
  deps: ServiceDeps,
  scope: RequestScope,
  path: RuntimePath,
  input: RuntimeTokenInput,
): Promise<CreatedRuntimeToken> {
  const { org } = await requireOrgRole(deps, scope.actor, path.org, "contributor");
  const now = deps.now();
  const at = now.toISOString();
  const expiresAt = new Date(
    now.getTime() + (input.expires_in_days ?? DEFAULT_RUNTIME_TOKEN_DAYS) * DAY_MS,
  ).toISOString();
  const key = generateApiKey();
  const id = newId();
  await inTransaction(deps, async (trx) => {
    const runtime = await findRuntimeInWorkspace(trx, org.id, path.workspace, path.runtimeId);
    if (!runtime) throw notFound("Runtime");
    const name = input.name ?? `runtime ${runtime.key}`;
    await insertApiKey(
      trx,
      newApiKeyRow({
        id,
        userId: scope.actor.userId,
        name,
        key,
        readOnly: true,
        runtimeId: runtime.id,
        orgId: runtime.org_id,
        expiresAt,
        at,
      }),
    );
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        action: "runtime.token.created",
        targetType: "api_key",
        targetId: id,
        data: { runtime_id: runtime.id, name, prefix: key.prefix, expires_at: expiresAt },
      },
      at,
    );
  });
  return { id, token: key.key, expires_at: expiresAt };
}

/** The runtime a token reads, where it lives. */
export interface TokenRuntime {
  id: string;
  orgId: string;
  orgKey: string;
  workspaceId: string;
  workspaceKey: string;
}

/** What a token asks for: something at a runtime's path, or a capability version's files or bundle. */
export type TokenTarget =
  | { runtime: RuntimePath }
  /** `org` from the path; `ownerKey` the capability's owner (`org` itself for a bare name). */
  | { capability: { org: string; ownerKey: string } };

/** The same answer as for a non-member: the token no longer reaches anything. */
const tokenRuntimeGone = (): AppError => notFound("Runtime");

/**
 * 404 when the token's runtime is gone or the user who minted it may no longer read the runtime's
 * org (removed, or a key limited elsewhere); 403 for a path outside its runtime. A bound public
 * capability of another org is read under its owner's path (the resolved set's
 * `artifact_s3_prefix`), so there the path's org may be the owner; whether the version is bound to
 * the runtime is for the caller to check. Not cached: a removal takes effect on the next read.
 */
export async function requireRuntimeTokenRead(
  deps: ServiceDeps,
  actor: Actor,
  target: TokenTarget,
  /**
   * The role the token's creator must hold now. Reading what the runtime runs needs reader; reading
   * secret values needs owner (SPEC §11), or any contributor could mint a token to read them all.
   */
  creatorRole: "reader" | "owner" = "reader",
): Promise<TokenRuntime> {
  if (actor.runtimeId === null)
    throw new Error("requireRuntimeTokenRead called for a key that is not a runtime token");
  const row = await findRuntimeWithUserRole(deps.db, actor.runtimeId, actor.userId);
  if (!row || row.role === null || !roleAtLeast(row.role, "reader") || !keyReachesOrg(actor, row.org_id)) {
    throw tokenRuntimeGone();
  }
  if (!roleAtLeast(row.role, creatorRole)) {
    throw forbidden(
      "Secret values are delivered only to runtime tokens whose creator is an owner of the org",
    );
  }
  const runtime = {
    id: row.id,
    orgId: row.org_id,
    orgKey: row.org_key,
    workspaceId: row.workspace_id,
    workspaceKey: row.workspace_key,
  };
  if ("runtime" in target) {
    const path = target.runtime;
    if (path.runtimeId !== runtime.id) throw outsideItsRuntime();
    if (path.org !== runtime.orgKey || path.workspace !== runtime.workspaceKey) throw notFound("Runtime");
  } else {
    const { org, ownerKey } = target.capability;
    if (org !== runtime.orgKey && org !== ownerKey) throw outsideItsRuntime();
  }
  return runtime;
}

export const outsideItsRuntime = (): AppError =>
  forbidden("A runtime token can only read its own runtime's capabilities");
