// Reading the audit log (SPEC §3): an org's events, newest first, keyset-paginated on the UUIDv7 id.

import { type AuditFilter, listOrgAuditEvents } from "../db/repositories/audit-repository.js";
import type { Row } from "../db/schema.js";
import { validationIssue } from "../errors.js";
import { decodeIdCursor, encodeIdCursor } from "../lib/id-cursor.js";
import { requireOrgRole } from "./access.js";
import type { Actor, ServiceDeps } from "./deps.js";

export interface AuditPage {
  items: Row<"audit_events">[];
  nextCursor: string | null;
}

export interface AuditQueryFilter {
  actorUserId?: string;
  action?: string;
  targetId?: string;
  since?: string;
  until?: string;
}

/** A time filter in the stored form (UTC, milliseconds, `Z`), so that text comparison orders it. */
function storedTime(value: string | undefined, field: "since" | "until"): string | undefined {
  if (value === undefined) return undefined;
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) {
    throw validationIssue(["query", field], "Not a valid ISO 8601 time", "value_error.datetime");
  }
  return time.toISOString();
}

export async function listAuditEvents(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  page: { limit: number; cursor?: string },
  filter: AuditQueryFilter = {},
): Promise<AuditPage> {
  const before = page.cursor === undefined ? null : decodeIdCursor(page.cursor);
  const stored: AuditFilter = {
    actorUserId: filter.actorUserId?.toLowerCase(),
    action: filter.action,
    targetId: filter.targetId,
    since: storedTime(filter.since, "since"),
    until: storedTime(filter.until, "until"),
  };
  const { org } = await requireOrgRole(deps, actor, orgKey, "owner");
  // One extra row tells whether another page follows, without a count.
  const rows = await listOrgAuditEvents(deps.db, org.id, { before, limit: page.limit + 1 }, stored);
  const items = rows.slice(0, page.limit);
  const hasMore = rows.length > page.limit;
  return { items, nextCursor: hasMore ? encodeIdCursor(items[items.length - 1].id) : null };
}
