// The audit log: appended inside the transaction of the change it describes, read newest first.
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

/** Up to `limit` of `orgId`'s events with an id below `before` (all when null), newest first. */
export async function listOrgAuditEvents(
  db: Db,
  orgId: string,
  page: { before: string | null; limit: number },
): Promise<Row<"audit_events">[]> {
  let query = db.selectFrom("audit_events").selectAll().where("org_id", "=", orgId);
  if (page.before !== null) query = query.where("id", "<", page.before);
  return query.orderBy("id", "desc").limit(page.limit).execute();
}
