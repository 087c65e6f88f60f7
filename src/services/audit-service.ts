// Reading the audit log (SPEC §3): an org's events, newest first, keyset-paginated on the UUIDv7 id.

import { listOrgAuditEvents } from "../db/repositories/audit-repository.js";
import type { Row } from "../db/schema.js";
import { decodeIdCursor, encodeIdCursor } from "../lib/id-cursor.js";
import { requireOrgRole } from "./access.js";
import type { Actor, ServiceDeps } from "./deps.js";

export interface AuditPage {
  items: Row<"audit_events">[];
  nextCursor: string | null;
}

export async function listAuditEvents(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  page: { limit: number; cursor?: string },
): Promise<AuditPage> {
  const before = page.cursor === undefined ? null : decodeIdCursor(page.cursor);
  const { org } = await requireOrgRole(deps, actor, orgKey, "owner");
  // One extra row tells whether another page follows, without a count.
  const rows = await listOrgAuditEvents(deps.db, org.id, { before, limit: page.limit + 1 });
  const items = rows.slice(0, page.limit);
  const hasMore = rows.length > page.limit;
  return { items, nextCursor: hasMore ? encodeIdCursor(items[items.length - 1].id) : null };
}
