// Verifying the tamper-evident audit log (SPEC §15). A chain (an org's id, or "" for the
// instance's own records) is walked in chain_seq order, a page at a time, recomputing every hash
// from the one before: an edited record fails its own link, a deleted one leaves a gap, a
// reordered pair fails the first swapped link, a forged extra record shows as a duplicate
// position, and a chain cut short no longer reaches the head that log_heads keeps.
//
// The head is read first: every record up to it has committed (a writer moves the head and adds
// its records in one transaction), so verification runs while others write, checking what existed
// when it began. What it cannot see is an attacker who rewrites every later record and the head
// too: the head is the anchor, and it lives in the same database (export it elsewhere to guard
// against that; docs/decisions.md).
import { countUnchainedAuditRecords, listChainAuditRecords } from "../db/repositories/audit-repository.js";
import { findLogHead } from "../db/repositories/event-repository.js";
import type { Db, Row } from "../db/schema.js";
import { chainHash, GENESIS_HASH } from "../domain/audit-chain.js";
import { requireOrgRole } from "./access.js";
import type { Actor, ServiceDeps } from "./deps.js";

export type ChainBreak =
  | "hash_mismatch"
  | "missing"
  | "duplicate"
  | "unchained"
  | "truncated"
  | "head_mismatch";

export interface ChainVerification {
  ok: boolean;
  /** Records that verified before the first broken link (all of them when ok). */
  records: number;
  head: { chain_seq: number; hash: string };
  broken?: { id: string | null; chain_seq: number; reason: ChainBreak };
}

const PAGE_SIZE = 1000;

/** Verifies one chain (an org id, or "" for the instance) from its first record to its head. */
export async function verifyAuditChain(
  db: Db,
  chain: string,
  options: { pageSize?: number } = {},
): Promise<ChainVerification> {
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const headRow = await findLogHead(db, chain);
  const head = { chain_seq: Number(headRow?.audit_seq ?? 0), hash: headRow?.audit_hash ?? GENESIS_HASH };
  const fail = (records: number, broken: ChainVerification["broken"]): ChainVerification => ({
    ok: false,
    records,
    head,
    broken,
  });

  let position = 0;
  let hash = GENESIS_HASH;
  let lastId: string | null = null;
  for (;;) {
    const page = await listChainAuditRecords(db, chain, {
      after: { chainSeq: position, id: lastId ?? "" },
      until: head.chain_seq,
      limit: pageSize,
    });
    for (const record of page) {
      const seq = Number(record.chain_seq);
      if (seq === position) return fail(position - 1, { id: record.id, chain_seq: seq, reason: "duplicate" });
      if (seq !== position + 1)
        return fail(position, { id: record.id, chain_seq: position + 1, reason: "missing" });
      if (record.hash === null || linkOf(hash, record) !== record.hash)
        return fail(position, { id: record.id, chain_seq: seq, reason: "hash_mismatch" });
      position = seq;
      hash = record.hash;
      lastId = record.id;
    }
    if (page.length < pageSize) break;
  }
  if (position < head.chain_seq)
    return fail(position, { id: null, chain_seq: position + 1, reason: "truncated" });
  if (hash !== head.hash) return fail(position, { id: lastId, chain_seq: position, reason: "head_mismatch" });
  if ((await countUnchainedAuditRecords(db, chain)) > 0)
    return fail(position, { id: null, chain_seq: position + 1, reason: "unchained" });
  return { ok: true, records: position, head };
}

/** The owner's check of their org's chain (`GET /org/{org}/audit/verify`). */
export async function verifyOrgAuditChain(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
): Promise<ChainVerification> {
  const { org } = await requireOrgRole(deps, actor, orgKey, "owner");
  return verifyAuditChain(deps.db, org.id);
}

function linkOf(previous: string, record: Row<"audit_events">): string {
  return chainHash(previous, {
    id: record.id,
    org_id: record.org_id,
    chain_seq: Number(record.chain_seq),
    at: record.at,
    actor_user_id: record.actor_user_id,
    api_key_id: record.api_key_id,
    action: record.action,
    target_type: record.target_type,
    target_id: record.target_id,
    request_id: record.request_id,
    data: record.data,
  });
}
