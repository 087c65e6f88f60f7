// Audit records and events are written inside the transaction of the change they describe (SPEC
// §3, §15). Services call appendAudit (or appendEvent for an event nothing audits) while they work;
// inTransaction (./transaction.ts) holds the entries and writes them as the transaction's last
// statements: one head update per org chain reserves the event seqs and links the audit records
// into the org's hash chain. Taking the head's row lock last, in a fixed order, keeps it held for
// the shortest time and rules out deadlocks between writers that lock it.

import type { Kysely } from "kysely";
import { insertAuditEvents } from "../db/repositories/audit-repository.js";
import { insertEvents, reserveLogNumbers, setAuditHead } from "../db/repositories/event-repository.js";
import type { Database, Db, NewRow } from "../db/schema.js";
import { chainHash, GENESIS_HASH } from "../domain/audit-chain.js";
import { eventTypeOfAction } from "../domain/events.js";
import { newId } from "../lib/ids.js";
import type { RequestScope } from "./deps.js";

export interface AuditEntry {
  orgId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  data?: Record<string, unknown>;
  /** The workspace the change happened in, for the event (else `data.workspace_id` when set). */
  workspaceId?: string | null;
}

/** An event that no audit record describes (a runtime reporting its sync status). */
export interface EventEntry {
  orgId: string;
  type: string;
  workspaceId: string | null;
  subject: { kind: string; id: string; name?: string };
  data: Record<string, unknown>;
}

/**
 * Whether audited changes also append their events. Always on in the product; the outbox benchmark
 * (bench/events.ts) turns it off to measure what the events cost on a write path.
 */
let deriveEvents = true;

/** For bench/events.ts only: see `deriveEvents`. */
export function setEventDerivation(enabled: boolean): void {
  deriveEvents = enabled;
}

/** The instance's own chain: audit records that belong to no org. */
export const INSTANCE_CHAIN = "";

/** What a transaction has appended so far, per chain, in call order. */
export class PendingLog {
  readonly audits = new Map<string, NewRow<"audit_events">[]>();
  readonly events = new Map<string, NewRow<"events">[]>();

  isEmpty(): boolean {
    return this.audits.size === 0 && this.events.size === 0;
  }
}

const pendingLogs = new WeakMap<Db, PendingLog>();

/** Used by inTransaction: entries appended through `trx` wait in `log` until it flushes. */
export function attachPendingLog(trx: Db, log: PendingLog): void {
  pendingLogs.set(trx, log);
}

export async function appendAudit(
  trx: Db,
  scope: RequestScope | null,
  entry: AuditEntry,
  at: string,
): Promise<void> {
  await appendAuditBatch(trx, scope, [entry], at);
}

/**
 * appendAudit for many entries at once, in order: a change that fans out (an auto-update moving
 * thousands of bindings) writes its records in a few statements instead of one per record.
 */
export async function appendAuditBatch(
  trx: Db,
  scope: RequestScope | null,
  entries: AuditEntry[],
  at: string,
): Promise<void> {
  const { log, flushNow } = pendingLogOf(trx);
  for (const entry of entries) {
    const chain = entry.orgId ?? INSTANCE_CHAIN;
    const data = entry.data ?? {};
    const record: NewRow<"audit_events"> = {
      id: newId(),
      org_id: entry.orgId,
      at,
      actor_user_id: scope?.actor.userId ?? null,
      api_key_id: scope?.actor.apiKeyId ?? null,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      request_id: scope?.requestId ?? null,
      data: JSON.stringify(data),
    };
    pushTo(log.audits, chain, record);
    const type = eventTypeOfAction(entry.action);
    if (!deriveEvents || type === null || entry.orgId === null) continue;
    const workspaceId =
      entry.workspaceId ?? (typeof data.workspace_id === "string" ? data.workspace_id : null);
    const name = typeof data.name === "string" ? data.name : undefined;
    pushTo(
      log.events,
      entry.orgId,
      eventRow(
        scope,
        at,
        {
          orgId: entry.orgId,
          type,
          workspaceId,
          subject: { kind: entry.targetType, id: entry.targetId ?? "", ...(name ? { name } : {}) },
          data,
        },
        record.data,
      ),
    );
  }
  if (flushNow) await flushAlone(trx, log);
}

/** Appends an event that no audit record describes. */
export async function appendEvent(
  trx: Db,
  scope: RequestScope | null,
  entry: EventEntry,
  at: string,
): Promise<void> {
  const { log, flushNow } = pendingLogOf(trx);
  pushTo(log.events, entry.orgId, eventRow(scope, at, entry));
  if (flushNow) await flushAlone(trx, log);
}

/**
 * Writes what `log` holds: per chain in a fixed (sorted) order, reserve the numbers, number and
 * link the rows, insert them, store the new chain head. Returns each org's last event seq.
 */
export async function flushPendingLog(trx: Db, log: PendingLog): Promise<Map<string, number>> {
  const lastSeqs = new Map<string, number>();
  const chains = [...new Set([...log.audits.keys(), ...log.events.keys()])].sort();
  for (const chain of chains) {
    const audits = log.audits.get(chain) ?? [];
    const events = log.events.get(chain) ?? [];
    const reserved = await reserveLogNumbers(
      trx,
      chain,
      { events: events.length, audits: audits.length },
      GENESIS_HASH,
    );
    let hash = reserved.auditHashBefore;
    audits.forEach((record, index) => {
      record.chain_seq = reserved.auditSeqBefore + index + 1;
      record.hash = hash = chainHash(hash, {
        id: record.id,
        org_id: record.org_id ?? null,
        chain_seq: record.chain_seq,
        at: record.at,
        actor_user_id: record.actor_user_id ?? null,
        api_key_id: record.api_key_id ?? null,
        action: record.action,
        target_type: record.target_type,
        target_id: record.target_id ?? null,
        request_id: record.request_id ?? null,
        data: record.data,
      });
    });
    events.forEach((event, index) => {
      event.seq = reserved.eventSeqBefore + index + 1;
    });
    if (audits.length > 0) {
      await insertAuditEvents(trx, audits);
      await setAuditHead(trx, chain, hash);
    }
    if (events.length > 0) {
      await insertEvents(trx, events);
      lastSeqs.set(chain, reserved.eventSeqBefore + events.length);
    }
  }
  log.audits.clear();
  log.events.clear();
  return lastSeqs;
}

/**
 * The log of the transaction `trx` was opened by inTransaction with; any other handle (a
 * transaction opened elsewhere, or the pool) writes its entries at once instead.
 */
function pendingLogOf(trx: Db): { log: PendingLog; flushNow: boolean } {
  const log = pendingLogs.get(trx);
  return log ? { log, flushNow: false } : { log: new PendingLog(), flushNow: true };
}

/** Outside inTransaction: numbering and linking still happen atomically, in a transaction. */
async function flushAlone(db: Db, log: PendingLog): Promise<void> {
  if (db.isTransaction) await flushPendingLog(db, log);
  else await (db as Kysely<Database>).transaction().execute((trx) => flushPendingLog(trx, log));
}

/** `dataJson`: the data already serialized (the audit record's), so it is not serialized twice. */
function eventRow(
  scope: RequestScope | null,
  at: string,
  entry: EventEntry,
  dataJson = JSON.stringify(entry.data),
): NewRow<"events"> {
  return {
    org_id: entry.orgId,
    seq: 0,
    id: newId(),
    type: entry.type,
    occurred_at: at,
    actor: JSON.stringify({
      user_id: scope?.actor.userId ?? null,
      api_key_id: scope?.actor.apiKeyId ?? null,
    }),
    workspace_id: entry.workspaceId,
    subject: JSON.stringify(entry.subject),
    data: dataJson,
  };
}

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
