// Events and the chain heads (SPEC §15). Writers reserve numbers by updating their chains' heads
// (one statement per chain, which on PostgreSQL also locks the head until commit); readers walk an
// org's events by `seq`.
import type { Db, NewRow, Row } from "../schema.js";

export interface ReservedNumbers {
  /** The last event seq before this reservation: the new events are last+1 … last+count. */
  eventSeqBefore: number;
  auditSeqBefore: number;
  /** The hash of the chain's last audit record before this reservation. */
  auditHashBefore: string;
}

/**
 * Adds `events` and `audits` to the chain's counters and returns the values before: the caller
 * numbers its rows from there and must then store the new hash with `setAuditHead`. The head row
 * is created on first use (org creation does not need to know about it).
 */
export async function reserveLogNumbers(
  trx: Db,
  chain: string,
  counts: { events: number; audits: number },
  genesisHash: string,
): Promise<ReservedNumbers> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const row = await trx
      .updateTable("log_heads")
      .set((eb) => ({
        event_seq: eb("event_seq", "+", counts.events),
        audit_seq: eb("audit_seq", "+", counts.audits),
      }))
      .where("chain", "=", chain)
      .returning(["event_seq", "audit_seq", "audit_hash"])
      .executeTakeFirst();
    if (row) {
      return {
        eventSeqBefore: Number(row.event_seq) - counts.events,
        auditSeqBefore: Number(row.audit_seq) - counts.audits,
        auditHashBefore: row.audit_hash,
      };
    }
    await trx
      .insertInto("log_heads")
      .values({ chain, event_seq: 0, audit_seq: 0, audit_hash: genesisHash })
      .onConflict((oc) => oc.column("chain").doNothing())
      .execute();
  }
  throw new Error(`the log head of chain "${chain}" could not be created`);
}

export async function setAuditHead(trx: Db, chain: string, hash: string): Promise<void> {
  await trx.updateTable("log_heads").set({ audit_hash: hash }).where("chain", "=", chain).execute();
}

/** Many events in few statements (200 rows of 9 columns each: far below parameter limits). */
export async function insertEvents(trx: Db, events: NewRow<"events">[]): Promise<void> {
  for (let start = 0; start < events.length; start += 200) {
    await trx
      .insertInto("events")
      .values(events.slice(start, start + 200))
      .execute();
  }
}

/**
 * Up to `limit` of the org's events after `afterSeq`, oldest first. `types` narrows them to exact
 * types; prefixes (`binding.*`) are matched by the caller's filter after reading, since an org's
 * event stream is read in order anyway.
 */
export async function listOrgEventsAfter(
  db: Db,
  orgId: string,
  afterSeq: number,
  limit: number,
  types?: readonly string[],
): Promise<Row<"events">[]> {
  let query = db.selectFrom("events").selectAll().where("org_id", "=", orgId).where("seq", ">", afterSeq);
  if (types !== undefined && types.length > 0) query = query.where("type", "in", types);
  return query.orderBy("seq").limit(limit).execute();
}

/** The org's last event seq (0 before its first event). */
export async function lastOrgEventSeq(db: Db, orgId: string): Promise<number> {
  const row = await db
    .selectFrom("log_heads")
    .select("event_seq")
    .where("chain", "=", orgId)
    .executeTakeFirst();
  return row ? Number(row.event_seq) : 0;
}
