// API keys and runtime tokens (one table: a runtime token is a read-only key limited to a runtime).
// Only the SHA-256 of a key is stored; its row is built here, once, for every way a key is minted.
import type { Db, Row } from "../schema.js";

export interface NewApiKey {
  id: string;
  userId: string;
  name: string;
  /** What generateApiKey() returns (or the bootstrap token's parts): never the plaintext. */
  key: { prefix: string; hash: string };
  readOnly: boolean;
  /** The only runtime a runtime token may read; null for every other key. */
  runtimeId: string | null;
  /** The org the key is limited to, or null. */
  orgId: string | null;
  expiresAt: string | null;
  at: string;
}

/** The stored row of a freshly minted key: unrevoked and never used. */
export function newApiKeyRow(key: NewApiKey): Row<"api_keys"> {
  return {
    id: key.id,
    user_id: key.userId,
    name: key.name,
    prefix: key.key.prefix,
    key_hash: key.key.hash,
    read_only: key.readOnly ? 1 : 0,
    runtime_id: key.runtimeId,
    org_id: key.orgId,
    expires_at: key.expiresAt,
    revoked_at: null,
    last_used_at: null,
    created_at: key.at,
  };
}

export async function insertApiKey(db: Db, row: Row<"api_keys">): Promise<void> {
  await db.insertInto("api_keys").values(row).execute();
}

/** What authentication needs of a key, found by the SHA-256 of its plaintext; undefined when unknown. */
export async function findKeyForAuthentication(
  db: Db,
  keyHash: string,
): Promise<
  | Pick<
      Row<"api_keys">,
      "id" | "user_id" | "read_only" | "runtime_id" | "org_id" | "expires_at" | "revoked_at"
    >
  | undefined
> {
  return db
    .selectFrom("api_keys")
    .select(["id", "user_id", "read_only", "runtime_id", "org_id", "expires_at", "revoked_at"])
    .where("key_hash", "=", keyHash)
    .executeTakeFirst();
}

/** Stamps the key's `last_used_at` (the caller throttles how often). */
export async function recordKeyUse(db: Db, keyId: string, at: string): Promise<void> {
  await db.updateTable("api_keys").set({ last_used_at: at }).where("id", "=", keyId).execute();
}

/** The user's keys that are not revoked, by id; only those limited to `onlyOrgId` when given. */
export async function listUnrevokedKeysOfUser(
  db: Db,
  userId: string,
  onlyOrgId: string | null,
): Promise<Row<"api_keys">[]> {
  let query = db.selectFrom("api_keys").where("user_id", "=", userId).where("revoked_at", "is", null);
  if (onlyOrgId !== null) query = query.where("org_id", "=", onlyOrgId);
  return query.selectAll().orderBy("id").execute();
}

/** Whether `keyId` is one of the user's unrevoked keys (limited to `onlyOrgId` when given). */
export async function isUnrevokedKeyOfUser(
  db: Db,
  userId: string,
  onlyOrgId: string | null,
  keyId: string,
): Promise<boolean> {
  let query = db.selectFrom("api_keys").where("user_id", "=", userId).where("revoked_at", "is", null);
  if (onlyOrgId !== null) query = query.where("org_id", "=", onlyOrgId);
  return (await query.select("id").where("id", "=", keyId).executeTakeFirst()) !== undefined;
}

/** Revokes the user's key and returns its row; undefined when it is not theirs or already revoked. */
export async function revokeKeyOfUser(
  db: Db,
  userId: string,
  keyId: string,
  at: string,
): Promise<Row<"api_keys"> | undefined> {
  return db
    .updateTable("api_keys")
    .set({ revoked_at: at })
    .where("id", "=", keyId)
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .returningAll()
    .executeTakeFirst();
}

/** Whether an unrevoked key has this SHA-256 (the bootstrap token, once it has been used). */
export async function isUnrevokedKeyHash(db: Db, keyHash: string): Promise<boolean> {
  const existing = await db
    .selectFrom("api_keys")
    .select("id")
    .where("key_hash", "=", keyHash)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return existing !== undefined;
}

/** Whether a key (by id) may still be used: not revoked, and not expired at `at`. */
export async function isUsableKeyId(db: Db, keyId: string, at: string): Promise<boolean> {
  const row = await db
    .selectFrom("api_keys")
    .select(["revoked_at", "expires_at"])
    .where("id", "=", keyId)
    .executeTakeFirst();
  return row !== undefined && row.revoked_at === null && (row.expires_at === null || row.expires_at > at);
}
