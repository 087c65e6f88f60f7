// Members of an organization (SPEC §3). Keys are never minted for a member: a person gets keys
// from an instance admin or mints their own, an org's automation uses service accounts.
import { Type } from "typebox";
import { errorResponses, NoContent, OrgParams } from "../contract/common.js";
import { Member, MemberCreateBody, MemberParams, MemberUpdateBody } from "../contract/orgs.js";
import { addMember, listMembers, removeMember, updateMemberRole } from "../services/member-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

export default async function memberRoutes(app: RouteApp): Promise<void> {
  app.get(
    "/org/:org/members",
    {
      schema: {
        operationId: "listMembers",
        tags: ["members"],
        summary: "The organization's members",
        params: OrgParams,
        response: { 200: Type.Array(Member), ...errorResponses },
      },
    },
    async (request) => listMembers(app.deps, scopeOf(request).actor, request.params.org),
  );

  app.post(
    "/org/:org/members",
    {
      schema: {
        operationId: "addMember",
        tags: ["members"],
        summary: "Add a member, creating the user when the email is unknown (owner)",
        params: OrgParams,
        body: MemberCreateBody,
        response: { 201: Member, ...errorResponses },
      },
    },
    async (request, reply) => {
      const member = await addMember(app.deps, scopeOf(request), request.params.org, request.body);
      return reply.code(201).send(member);
    },
  );

  app.put(
    "/org/:org/members/:user_id",
    {
      schema: {
        operationId: "updateMember",
        tags: ["members"],
        summary: "Change a member's role (owner); the last owner cannot be demoted",
        params: MemberParams,
        body: MemberUpdateBody,
        response: { 200: Member, ...errorResponses },
      },
    },
    async (request) =>
      updateMemberRole(
        app.deps,
        scopeOf(request),
        request.params.org,
        request.params.user_id.toLowerCase(),
        request.body.role,
      ),
  );

  app.delete(
    "/org/:org/members/:user_id",
    {
      schema: {
        operationId: "removeMember",
        tags: ["members"],
        summary: "Remove a member (owner); the last owner cannot be removed",
        params: MemberParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await removeMember(
        app.deps,
        scopeOf(request),
        request.params.org,
        request.params.user_id.toLowerCase(),
      );
      return reply.code(204).send(null);
    },
  );
}
