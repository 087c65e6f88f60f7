// Organizations (SPEC §3): create (the caller becomes owner), read, update.
import type { Static } from "typebox";
import { errorResponses, OrgParams } from "../contract/common.js";
import { Org, OrgCreateBody, OrgUpdateBody } from "../contract/orgs.js";
import type { OrgAccess } from "../services/access.js";
import { createOrg, getOrg, updateOrg } from "../services/org-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

/** An org as the caller sees it: the row plus the caller's role. */
export function presentOrg({ org, role }: OrgAccess): Static<typeof Org> {
  return {
    id: org.id,
    key: org.key,
    name: org.name,
    description: org.description,
    created_at: org.created_at,
    updated_at: org.updated_at,
    role,
  };
}

export default async function orgRoutes(app: RouteApp): Promise<void> {
  app.post(
    "/orgs",
    {
      schema: {
        operationId: "createOrganization",
        tags: ["orgs"],
        summary: "Create an organization; the caller becomes its owner",
        body: OrgCreateBody,
        response: { 201: Org, ...errorResponses },
      },
    },
    async (request, reply) => {
      const access = await createOrg(app.deps, scopeOf(request), request.body);
      return reply.code(201).send(presentOrg(access));
    },
  );

  app.get(
    "/org/:org",
    {
      schema: {
        operationId: "getOrganization",
        tags: ["orgs"],
        summary: "An organization",
        params: OrgParams,
        response: { 200: Org, ...errorResponses },
      },
    },
    async (request) => presentOrg(await getOrg(app.deps, scopeOf(request).actor, request.params.org)),
  );

  app.patch(
    "/org/:org",
    {
      schema: {
        operationId: "updateOrganization",
        tags: ["orgs"],
        summary: "Update an organization's name or description (owner)",
        params: OrgParams,
        body: OrgUpdateBody,
        response: { 200: Org, ...errorResponses },
      },
    },
    async (request) =>
      presentOrg(await updateOrg(app.deps, scopeOf(request), request.params.org, request.body)),
  );
}
