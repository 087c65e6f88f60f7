// Reading the audit log (SPEC §3): an org's events, newest first, keyset-paginated on the UUIDv7 id.
import type { Row } from "../db/schema.js";
import { validationIssue } from "../http/errors.js";
import { UUID_PATTERN } from "../lib/ids.js";
import { requireOrgRole } from "./access.js";
import type { Actor, ServiceDeps } from "./deps.js";

export interface AuditPage {
  items: Row<"audit_events">[];
  nextCursor: string | null;
}

const UUID = new RegExp(UUID_PATTERN);

/** Cursors are opaque to clients: the base64url of the last id they saw. */
function encodeCursor(id: string): string {
  return Buffer.from(id, "utf8").toString("base64url");
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  if (!UUID.test(id))
    throw validationIssue(["query", "cursor"], "cursor is not one this server issued", "value_error.cursor");
  return id.toLowerCase();
}

export async function listAuditEvents(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  page: { limit: number; cursor?: string },
): Promise<AuditPage> {
  const before = page.cursor === undefined ? null : decodeCursor(page.cursor);
  const { org } = await requireOrgRole(deps, actor, orgKey, "owner");
  let query = deps.db.selectFrom("audit_events").selectAll().where("org_id", "=", org.id);
  if (before !== null) query = query.where("id", "<", before);
  // One extra row tells whether another page follows, without a count.
  const rows = await query
    .orderBy("id", "desc")
    .limit(page.limit + 1)
    .execute();
  const items = rows.slice(0, page.limit);
  const hasMore = rows.length > page.limit;
  return { items, nextCursor: hasMore ? encodeCursor(items[items.length - 1].id) : null };
}
