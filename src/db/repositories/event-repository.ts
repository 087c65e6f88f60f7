// Events and the chain heads (SPEC §15). Writers reserve numbers by updating their chains' heads
// (one statement per chain, which on PostgreSQL also locks the head until commit); readers walk an
// org's events by `seq`.
import { sql } from "kysely";
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

/** An event row with its workspace's key (null when it names none, or the workspace is gone). */
export type EventRow = Row<"events"> & { workspace_key: string | null };

export interface EventRead {
  /** Events with a seq above this. */
  after: number;
  /** …and at most this (a head read before: everything up to it has committed). */
  until?: number;
  limit: number;
  /** Exact types, `prefix.*` or `*`; absent or empty: every type. */
  types?: readonly string[];
}

/** `!` escapes LIKE's wildcards so that a prefix is matched literally on both dialects. */
const likePrefix = (prefix: string) => `${prefix.replace(/[!%_]/g, (c) => `!${c}`)}%`;

/**
 * Up to `limit` of the org's events in (after, until], oldest first, through the (org_id, seq)
 * key. Type patterns become `type IN (…)` and `type LIKE 'prefix.%'` conditions, so a filtered read
 * returns only what matches (it still steps over the org's other events in the key range).
 */
export async function readOrgEvents(db: Db, orgId: string, read: EventRead): Promise<EventRow[]> {
  let query = db
    .selectFrom("events")
    .leftJoin("workspaces", "workspaces.id", "events.workspace_id")
    .selectAll("events")
    .select("workspaces.key as workspace_key")
    .where("events.org_id", "=", orgId)
    .where("events.seq", ">", read.after);
  if (read.until !== undefined) query = query.where("events.seq", "<=", read.until);
  const patterns = read.types ?? [];
  if (patterns.length > 0 && !patterns.includes("*")) {
    const exact = patterns.filter((pattern) => !pattern.endsWith(".*"));
    const prefixes = patterns.filter((pattern) => pattern.endsWith(".*")).map((p) => p.slice(0, -1));
    query = query.where((eb) =>
      eb.or([
        ...(exact.length > 0 ? [eb("events.type", "in", exact)] : []),
        ...prefixes.map(
          (prefix) => sql<boolean>`${sql.ref("events.type")} like ${likePrefix(prefix)} escape '!'`,
        ),
      ]),
    );
  }
  return query.orderBy("events.seq").limit(read.limit).execute();
}

/**
 * Up to `limit` of the org's events after `afterSeq`, oldest first. `types` narrows them: exact
 * types, `prefix.*` (matched in the query) or `*`.
 */
export async function listOrgEventsAfter(
  db: Db,
  orgId: string,
  afterSeq: number,
  limit: number,
  types?: readonly string[],
): Promise<EventRow[]> {
  return readOrgEvents(db, orgId, { after: afterSeq, limit, types });
}

/** A chain's head: the last event seq, audit chain_seq and audit hash; undefined before any record. */
export async function findLogHead(db: Db, chain: string): Promise<Row<"log_heads"> | undefined> {
  return db.selectFrom("log_heads").selectAll().where("chain", "=", chain).executeTakeFirst();
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
