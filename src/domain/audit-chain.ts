// The tamper-evident audit log (SPEC §15): each org's records form a hash chain. A record's hash
// covers the previous record's hash and the record itself in a canonical form, so editing,
// deleting or reordering any stored record breaks every link after it, and verification names
// the first record that no longer matches.
import { createHash } from "node:crypto";

/** The hash before an org's first record. */
export const GENESIS_HASH = "0".repeat(64);

/** The fields a record's hash covers: everything stored about it except the hash itself. */
export interface ChainedAuditRecord {
  id: string;
  org_id: string | null;
  chain_seq: number;
  at: string;
  actor_user_id: string | null;
  api_key_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  request_id: string | null;
  /** The stored JSON text, hashed as stored (re-serializing could reorder its keys). */
  data: string;
}

/**
 * The canonical form is a JSON array in a fixed field order: unambiguous (no field can bleed into
 * the next) and the same in every JavaScript runtime. Changing it breaks every existing chain.
 */
export function canonicalAuditRecord(record: ChainedAuditRecord): string {
  return JSON.stringify([
    record.chain_seq,
    record.id,
    record.org_id,
    record.at,
    record.actor_user_id,
    record.api_key_id,
    record.action,
    record.target_type,
    record.target_id,
    record.request_id,
    record.data,
  ]);
}

/** `sha256(prev_hash ‖ canonical record)` as lowercase hex. */
export function chainHash(previousHash: string, record: ChainedAuditRecord): string {
  return createHash("sha256").update(previousHash).update(canonicalAuditRecord(record)).digest("hex");
}
