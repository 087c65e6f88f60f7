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
