// Audit events are written inside the transaction of the change they describe (SPEC §3).
import { insertAuditEvent, insertAuditEvents } from "../db/repositories/audit-repository.js";
import type { Db } from "../db/schema.js";
import { newId } from "../lib/ids.js";
import type { RequestScope } from "./deps.js";

export interface AuditEntry {
  orgId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  data?: Record<string, unknown>;
}

export async function appendAudit(
  trx: Db,
  scope: RequestScope | null,
  entry: AuditEntry,
  at: string,
): Promise<void> {
  await insertAuditEvent(trx, {
    id: newId(),
    org_id: entry.orgId,
    at,
    actor_user_id: scope?.actor.userId ?? null,
    api_key_id: scope?.actor.apiKeyId ?? null,
    action: entry.action,
    target_type: entry.targetType,
    target_id: entry.targetId,
    request_id: scope?.requestId ?? null,
    data: JSON.stringify(entry.data ?? {}),
  });
}

/**
 * appendAudit for many entries at once, in insertion order: a change that fans out (an auto-update
 * moving thousands of bindings) writes its events in a few statements instead of one per event.
 * Anything appendAudit adds to an event must be added here too.
 */
export async function appendAuditBatch(
  trx: Db,
  scope: RequestScope | null,
  entries: AuditEntry[],
  at: string,
): Promise<void> {
  await insertAuditEvents(
    trx,
    entries.map((entry) => ({
      id: newId(),
      org_id: entry.orgId,
      at,
      actor_user_id: scope?.actor.userId ?? null,
      api_key_id: scope?.actor.apiKeyId ?? null,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      request_id: scope?.requestId ?? null,
      data: JSON.stringify(entry.data ?? {}),
    })),
  );
}
