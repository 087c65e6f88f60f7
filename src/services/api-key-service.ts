// API keys (SPEC §2.2, §3): minted for oneself, by an instance admin for a user, or by an org owner
// for one of the org's service accounts, never for another person; listed without secrets;
// revoked at once. Only the SHA-256 of a key is stored. A key may be limited to one org, and a key
// minted by a limited key is limited to the same org, so a limited key can never widen itself.

import type { Transaction } from "kysely";
import type { ApiKeyCreateBody } from "../contract/users.js";
import {
  insertApiKey,
  isUnrevokedKeyOfUser,
  listUnrevokedKeysOfUser,
  newApiKeyRow,
  revokeKeyOfUser,
} from "../db/repositories/api-key-repository.js";
import { findServiceAccountId, findUserServiceOrg } from "../db/repositories/user-repository.js";
import type { Database, Row } from "../db/schema.js";
import { notFound, validationIssue } from "../errors.js";
import { generateApiKey } from "../lib/api-key-format.js";
import { newId } from "../lib/ids.js";
import { findOrgMembership, requireInstanceAdmin, requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import { inTransaction } from "./transaction.js";

/** The body of every key-minting route: `{name, expires_in_days?, read_only?, org?}`. */
export type ApiKeyInput = ApiKeyCreateBody;

/** A freshly minted key: the stored row plus the plaintext, which is never available again. */
export interface MintedApiKey {
  row: Row<"api_keys">;
  plaintext: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

async function mintApiKey(
  trx: Transaction<Database>,
  scope: RequestScope,
  target: { userId: string; orgId: string | null },
  input: ApiKeyInput,
  at: Date,
): Promise<MintedApiKey> {
  const generated = generateApiKey();
  const row = newApiKeyRow({
    id: newId(),
    userId: target.userId,
    name: input.name,
    key: generated,
    readOnly: input.read_only === true,
    runtimeId: null,
    orgId: target.orgId,
    expiresAt: input.expires_in_days
      ? new Date(at.getTime() + input.expires_in_days * DAY_MS).toISOString()
      : null,
    at: at.toISOString(),
  });
  await insertApiKey(trx, row);
  await appendAudit(
    trx,
    scope,
    {
      orgId: row.org_id,
      action: "api_key.created",
      targetType: "api_key",
      targetId: row.id,
      data: keyAuditData(row),
    },
    at.toISOString(),
  );
  return { row, plaintext: generated.key };
}

function keyAuditData(row: Row<"api_keys">): Record<string, unknown> {
  return {
    user_id: row.user_id,
    name: row.name,
    prefix: row.prefix,
    read_only: row.read_only === 1,
    org_id: row.org_id,
  };
}

const bodyOrgNotReachable = (orgKey: string) =>
  validationIssue(["body", "org"], `The key's user is not a member of '${orgKey}'`, "value_error.org");

/**
 * A key for the caller, limited to `input.org` when given (the caller must be a member: 404
 * otherwise, as for any org the caller cannot see) and always to the caller's own key's org.
 */
export async function createOwnApiKey(
  deps: ServiceDeps,
  scope: RequestScope,
  input: ApiKeyInput,
): Promise<MintedApiKey> {
  const { actor } = scope;
  const orgId =
    input.org === undefined
      ? actor.keyOrgId
      : (await requireOrgRole(deps, actor, input.org, "reader")).org.id;
  const at = deps.now();
  return inTransaction(deps, (trx) => mintApiKey(trx, scope, { userId: actor.userId, orgId }, input, at));
}

/**
 * The caller's keys that still exist: revoked keys are gone for good, so they are not listed. A
 * caller's key sees all the user's keys, or only those limited to the key's own org.
 */
export async function listOwnApiKeys(deps: ServiceDeps, scope: RequestScope): Promise<Row<"api_keys">[]> {
  return listUnrevokedKeysOfUser(deps.db, scope.actor.userId, scope.actor.keyOrgId);
}

/**
 * Revokes one of the caller's own keys; anyone else's key (or an already revoked one) is 404, and
 * so is a key outside the org the caller's key is limited to.
 */
export async function revokeOwnApiKey(deps: ServiceDeps, scope: RequestScope, keyId: string): Promise<void> {
  const { actor } = scope;
  if (!(await isUnrevokedKeyOfUser(deps.db, actor.userId, actor.keyOrgId, keyId)))
    throw notFound(`API key '${keyId}'`);
  await revokeKey(deps, scope, scope.actor.userId, keyId);
}

async function revokeKey(
  deps: ServiceDeps,
  scope: RequestScope,
  userId: string,
  keyId: string,
): Promise<void> {
  const at = deps.now().toISOString();
  await inTransaction(deps, async (trx) => {
    const revoked = await revokeKeyOfUser(trx, userId, keyId, at);
    if (!revoked) throw notFound(`API key '${keyId}'`);
    await appendAudit(
      trx,
      scope,
      {
        orgId: revoked.org_id,
        action: "api_key.revoked",
        targetType: "api_key",
        targetId: keyId,
        data: keyAuditData(revoked),
      },
      at,
    );
  });
  deps.changes.publish({ kind: "api_key", keyId });
}

/**
 * An instance admin gives a user a key (SPEC §3: how a new person gets their first key). A service
 * account's key is always limited to its org; `input.org` must be an org the user belongs to.
 */
export async function createUserApiKeyAsAdmin(
  deps: ServiceDeps,
  scope: RequestScope,
  userId: string,
  input: ApiKeyInput,
): Promise<MintedApiKey> {
  await requireInstanceAdmin(deps, scope.actor);
  const user = await findUserServiceOrg(deps.db, userId);
  if (!user) throw notFound(`User '${userId}'`);
  let orgId = user.service_org_id;
  if (input.org !== undefined) {
    const access = await findOrgMembership(deps.db, user.id, input.org);
    if (!access || (orgId !== null && access.org.id !== orgId)) throw bodyOrgNotReachable(input.org);
    orgId = access.org.id;
  }
  const at = deps.now();
  return inTransaction(deps, (trx) => mintApiKey(trx, scope, { userId: user.id, orgId }, input, at));
}

/** The org (owner only) and one of its service accounts; 404 for anyone else, people included. */
async function requireServiceAccount(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  userId: string,
): Promise<{ orgId: string; userId: string }> {
  const { org } = await requireOrgRole(deps, actor, orgKey, "owner");
  const accountId = await findServiceAccountId(deps.db, org.id, userId);
  if (accountId === undefined) throw notFound(`Service account '${userId}'`);
  return { orgId: org.id, userId: accountId };
}

/** An owner mints a key for one of the org's service accounts, limited to that org. */
export async function createServiceAccountApiKey(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  userId: string,
  input: ApiKeyInput,
): Promise<MintedApiKey> {
  const account = await requireServiceAccount(deps, scope.actor, orgKey, userId);
  if (input.org !== undefined && input.org !== orgKey) throw bodyOrgNotReachable(input.org);
  const at = deps.now();
  return inTransaction(deps, (trx) => mintApiKey(trx, scope, account, input, at));
}

/** A service account's keys that are not revoked (its runtime tokens included). */
export async function listServiceAccountApiKeys(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  userId: string,
): Promise<Row<"api_keys">[]> {
  const account = await requireServiceAccount(deps, actor, orgKey, userId);
  return listUnrevokedKeysOfUser(deps.db, account.userId, null);
}

export async function revokeServiceAccountApiKey(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  userId: string,
  keyId: string,
): Promise<void> {
  const account = await requireServiceAccount(deps, scope.actor, orgKey, userId);
  await revokeKey(deps, scope, account.userId, keyId);
}
