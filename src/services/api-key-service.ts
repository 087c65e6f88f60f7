// API keys of users (SPEC §2.2, §3): minted for oneself or, by an org owner, for a member; listed
// without secrets; revoked at once. Only the SHA-256 of a key is stored.
import type { Transaction } from "kysely";
import type { ApiKeyCreateBody } from "../contract/users.js";
import type { Database, Row } from "../db/schema.js";
import { notFound } from "../http/errors.js";
import { generateApiKey } from "../lib/api-key-format.js";
import { newId } from "../lib/ids.js";
import { requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import type { RequestScope, ServiceDeps } from "./deps.js";

/** The body of both key-minting routes: `{name, expires_in_days?, read_only?}`. */
export type ApiKeyInput = ApiKeyCreateBody;

/** A freshly minted key: the stored row plus the plaintext, which is never available again. */
export interface MintedApiKey {
  row: Row<"api_keys">;
  plaintext: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

async function insertApiKey(
  trx: Transaction<Database>,
  userId: string,
  input: ApiKeyInput,
  at: Date,
): Promise<MintedApiKey> {
  const generated = generateApiKey();
  const row: Row<"api_keys"> = {
    id: newId(),
    user_id: userId,
    name: input.name,
    prefix: generated.prefix,
    key_hash: generated.hash,
    read_only: input.read_only ? 1 : 0,
    runtime_id: null,
    expires_at: input.expires_in_days
      ? new Date(at.getTime() + input.expires_in_days * DAY_MS).toISOString()
      : null,
    revoked_at: null,
    last_used_at: null,
    created_at: at.toISOString(),
  };
  await trx.insertInto("api_keys").values(row).execute();
  return { row, plaintext: generated.key };
}

function keyAuditData(row: Row<"api_keys">): Record<string, unknown> {
  return { user_id: row.user_id, name: row.name, prefix: row.prefix, read_only: row.read_only === 1 };
}

/** A key for the caller. Not tied to an org, so its audit event has no org. */
export async function createOwnApiKey(
  deps: ServiceDeps,
  scope: RequestScope,
  input: ApiKeyInput,
): Promise<MintedApiKey> {
  const at = deps.now();
  return deps.db.transaction().execute(async (trx) => {
    const minted = await insertApiKey(trx, scope.actor.userId, input, at);
    await appendAudit(
      trx,
      scope,
      {
        orgId: null,
        action: "api_key.created",
        targetType: "api_key",
        targetId: minted.row.id,
        data: keyAuditData(minted.row),
      },
      at.toISOString(),
    );
    return minted;
  });
}

/** An org owner mints a key for a member (automation users); 404 when the user is not a member. */
export async function createMemberApiKey(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  userId: string,
  input: ApiKeyInput,
): Promise<MintedApiKey> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "owner");
  const at = deps.now();
  return deps.db.transaction().execute(async (trx) => {
    const membership = await trx
      .selectFrom("memberships")
      .select("user_id")
      .where("org_id", "=", org.id)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    if (!membership) throw notFound(`Member '${userId}'`);
    const minted = await insertApiKey(trx, userId, input, at);
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        action: "api_key.created",
        targetType: "api_key",
        targetId: minted.row.id,
        data: keyAuditData(minted.row),
      },
      at.toISOString(),
    );
    return minted;
  });
}

/** The caller's keys that still exist: revoked keys are gone for good, so they are not listed. */
export async function listOwnApiKeys(deps: ServiceDeps, scope: RequestScope): Promise<Row<"api_keys">[]> {
  return deps.db
    .selectFrom("api_keys")
    .selectAll()
    .where("user_id", "=", scope.actor.userId)
    .where("revoked_at", "is", null)
    .orderBy("id")
    .execute();
}

/** Revokes one of the caller's own keys; anyone else's key (or an already revoked one) is 404. */
export async function revokeOwnApiKey(deps: ServiceDeps, scope: RequestScope, keyId: string): Promise<void> {
  const at = deps.now().toISOString();
  await deps.db.transaction().execute(async (trx) => {
    const revoked = await trx
      .updateTable("api_keys")
      .set({ revoked_at: at })
      .where("id", "=", keyId)
      .where("user_id", "=", scope.actor.userId)
      .where("revoked_at", "is", null)
      .returningAll()
      .executeTakeFirst();
    if (!revoked) throw notFound(`API key '${keyId}'`);
    await appendAudit(
      trx,
      scope,
      {
        orgId: null,
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
