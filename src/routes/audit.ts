// The audit log of an organization (SPEC §3): owners only, newest first, cursor-paginated.
import type { Static } from "typebox";
import { type AuditEvent, AuditPage, AuditQuery } from "../contract/audit.js";
import { errorResponses, OrgParams } from "../contract/common.js";
import { AuditChainVerification } from "../contract/events.js";
import type { Row } from "../db/schema.js";
import { verifyOrgAuditChain } from "../services/audit-chain-service.js";
import { listAuditEvents } from "../services/audit-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

const DEFAULT_LIMIT = 50;

function presentAuditEvent(row: Row<"audit_events">): Static<typeof AuditEvent> {
  return {
    id: row.id,
    at: row.at,
    actor_user_id: row.actor_user_id,
    api_key_id: row.api_key_id,
    action: row.action,
    target_type: row.target_type,
    target_id: row.target_id,
    request_id: row.request_id,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

export default async function auditRoutes(app: RouteApp): Promise<void> {
  app.get(
    "/org/:org/audit",
    {
      schema: {
        operationId: "listAuditEvents",
        tags: ["audit"],
        summary: "The organization's audit events, newest first (owner)",
        params: OrgParams,
        querystring: AuditQuery,
        response: { 200: AuditPage, ...errorResponses },
      },
    },
    async (request) => {
      const { limit = DEFAULT_LIMIT, cursor, actor_user_id, action, target_id, since, until } = request.query;
      const page = await listAuditEvents(
        app.deps,
        scopeOf(request).actor,
        request.params.org,
        { limit, cursor },
        { actorUserId: actor_user_id, action, targetId: target_id, since, until },
      );
      return { items: page.items.map(presentAuditEvent), next_cursor: page.nextCursor };
    },
  );

  app.get(
    "/org/:org/audit/verify",
    {
      schema: {
        operationId: "verifyAuditChain",
        tags: ["audit"],
        summary: "Verify the organization's audit hash chain; names the first broken link (owner)",
        params: OrgParams,
        response: { 200: AuditChainVerification, ...errorResponses },
      },
    },
    async (request) => verifyOrgAuditChain(app.deps, scopeOf(request).actor, request.params.org),
  );
}
