// The one way services open a write transaction. Audit records and events appended during `work`
// (./audit.ts) are written as the transaction's last statements, and once it commits, listeners
// are told which orgs have new events (event streams and webhook delivery wake on that; in scale
// mode the change feed carries it to the other instances).

import type { Transaction } from "kysely";
import type { Database } from "../db/schema.js";
import { attachPendingLog, flushPendingLog, PendingLog } from "./audit.js";
import type { ServiceDeps } from "./deps.js";

export async function inTransaction<T>(
  deps: Pick<ServiceDeps, "db" | "changes">,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  let appended = new Map<string, number>();
  const result = await deps.db.transaction().execute(async (trx) => {
    const log = new PendingLog();
    attachPendingLog(trx, log);
    const value = await work(trx);
    if (!log.isEmpty()) appended = await flushPendingLog(trx, log);
    return value;
  });
  for (const [orgId, seq] of appended) deps.changes.publish({ kind: "events", orgId, seq });
  return result;
}
