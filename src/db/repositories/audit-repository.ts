// The audit log: appended inside the transaction of the change it describes, read newest first.
import { sql } from "kysely";
import type { Db, NewRow, Row } from "../schema.js";

export async function insertAuditEvent(db: Db, event: NewRow<"audit_events">): Promise<void> {
  await db.insertInto("audit_events").values(event).execute();
}

/** Many events in few statements (500 rows each: far below both dialects' parameter limits). */
export async function insertAuditEvents(db: Db, events: NewRow<"audit_events">[]): Promise<void> {
  for (let start = 0; start < events.length; start += 500) {
    await db
      .insertInto("audit_events")
      .values(events.slice(start, start + 500))
      .execute();
  }
}

export interface AuditFilter {
  actorUserId?: string;
  /** An exact action, or a prefix when it ends in "." */
  action?: string;
  targetId?: string;
  /** ISO 8601 UTC timestamps in the stored form (`at` is text, so the comparison is lexical). */
  since?: string;
  until?: string;
}

/** `!` escapes LIKE's wildcards so that a prefix is matched literally on both dialects. */
const likePrefix = (prefix: string) => `${prefix.replace(/[!%_]/g, (c) => `!${c}`)}%`;

/**
 * Up to `limit` of `orgId`'s events with an id below `before` (all when null) that pass `filter`,
 * newest first. The keyset walk on (org_id, id) stays; the filters narrow it (owners' occasional
 * reads, so no index per filter).
 */
export async function listOrgAuditEvents(
  db: Db,
  orgId: string,
  page: { before: string | null; limit: number },
  filter: AuditFilter = {},
): Promise<Row<"audit_events">[]> {
  let query = db.selectFrom("audit_events").selectAll().where("org_id", "=", orgId);
  if (page.before !== null) query = query.where("id", "<", page.before);
  if (filter.actorUserId !== undefined) query = query.where("actor_user_id", "=", filter.actorUserId);
  if (filter.targetId !== undefined) query = query.where("target_id", "=", filter.targetId);
  if (filter.since !== undefined) query = query.where("at", ">=", filter.since);
  if (filter.until !== undefined) query = query.where("at", "<", filter.until);
  const action = filter.action;
  if (action !== undefined) {
    query = action.endsWith(".")
      ? query.where(sql<boolean>`${sql.ref("action")} like ${likePrefix(action)} escape '!'`)
      : query.where("action", "=", action);
  }
  return query.orderBy("id", "desc").limit(page.limit).execute();
}

/**
 * A page of one audit chain in chain order: the org's records (the instance's, org_id null, for
 * chain ""), after the key (chain_seq, id) and up to chain_seq `until`, through
 * audit_events_chain_idx. Ties (a forged duplicate chain_seq) come in id order, so a walk sees them
 * even across a page boundary.
 */
export async function listChainAuditRecords(
  db: Db,
  chain: string,
  page: { after: { chainSeq: number; id: string }; until: number; limit: number },
): Promise<Row<"audit_events">[]> {
  let query = db.selectFrom("audit_events").selectAll();
  query = chain === "" ? query.where("org_id", "is", null) : query.where("org_id", "=", chain);
  const { chainSeq, id } = page.after;
  return query
    .where("chain_seq", ">=", chainSeq)
    .where((eb) => eb.or([eb("chain_seq", ">", chainSeq), eb("id", ">", id)]))
    .where("chain_seq", "<=", page.until)
    .orderBy("chain_seq")
    .orderBy("id")
    .limit(page.limit)
    .execute();
}

/** Records of the chain that were never linked (chain_seq null): none unless rows were forged. */
export async function countUnchainedAuditRecords(db: Db, chain: string): Promise<number> {
  let query = db.selectFrom("audit_events").select((eb) => eb.fn.countAll<string | number>().as("n"));
  query = chain === "" ? query.where("org_id", "is", null) : query.where("org_id", "=", chain);
  const row = await query.where("chain_seq", "is", null).executeTakeFirst();
  return Number(row?.n ?? 0);
}
