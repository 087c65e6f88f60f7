// The caller's own account: profile, organizations, API keys (SPEC §3).
import { type Static, Type } from "typebox";
import { errorResponses, NoContent } from "../contract/common.js";
import { Org } from "../contract/orgs.js";
import { ApiKeyCreateBody, ApiKeyCreated, ApiKeyParams, ApiKeySummary, User } from "../contract/users.js";
import type { Row } from "../db/schema.js";
import {
  createOwnApiKey,
  listOwnApiKeys,
  type MintedApiKey,
  revokeOwnApiKey,
} from "../services/api-key-service.js";
import { listActorOrgs } from "../services/org-service.js";
import { currentUser } from "../services/user-service.js";
import { presentOrg } from "./orgs.js";
import { type RouteApp, scopeOf } from "./route-app.js";

/** The creation response: the only place the plaintext key is ever shown. */
export function presentCreatedApiKey({ row, plaintext }: MintedApiKey): Static<typeof ApiKeyCreated> {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    key: plaintext,
    read_only: row.read_only === 1,
    expires_at: row.expires_at,
    created_at: row.created_at,
  };
}

export function presentApiKey(row: Row<"api_keys">): Static<typeof ApiKeySummary> {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    read_only: row.read_only === 1,
    runtime_id: row.runtime_id,
    org_id: row.org_id,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    created_at: row.created_at,
  };
}

export default async function userRoutes(app: RouteApp): Promise<void> {
  app.get(
    "/user/me",
    {
      schema: {
        operationId: "getCurrentUser",
        tags: ["users"],
        summary: "The caller",
        response: { 200: User, ...errorResponses },
      },
    },
    async (request) => currentUser(app.deps, scopeOf(request).actor),
  );

  app.get(
    "/user/organizations",
    {
      schema: {
        operationId: "listCurrentUserOrganizations",
        tags: ["users"],
        summary: "The organizations the caller belongs to, with the caller's role",
        description: "With a key limited to one org, only that org.",
        response: { 200: Type.Array(Org), ...errorResponses },
      },
    },
    async (request) => (await listActorOrgs(app.deps, scopeOf(request).actor)).map(presentOrg),
  );

  app.post(
    "/user/api-keys",
    {
      schema: {
        operationId: "createCurrentUserApiKey",
        tags: ["users"],
        summary: "Create an API key for the caller; the key is shown only in this response",
        description:
          "With `org`, the key is limited to that org. A key minted with a limited key is limited to the same org.",
        body: ApiKeyCreateBody,
        response: { 201: ApiKeyCreated, ...errorResponses },
      },
    },
    async (request, reply) => {
      const minted = await createOwnApiKey(app.deps, scopeOf(request), request.body);
      return reply.code(201).send(presentCreatedApiKey(minted));
    },
  );

  app.get(
    "/user/api-keys",
    {
      schema: {
        operationId: "listCurrentUserApiKeys",
        tags: ["users"],
        summary: "The caller's API keys that are not revoked (no secrets)",
        description: "With a key limited to one org, only the keys limited to that org.",
        response: { 200: Type.Array(ApiKeySummary), ...errorResponses },
      },
    },
    async (request) => (await listOwnApiKeys(app.deps, scopeOf(request))).map(presentApiKey),
  );

  app.delete(
    "/user/api-keys/:key_id",
    {
      schema: {
        operationId: "revokeCurrentUserApiKey",
        tags: ["users"],
        summary: "Revoke one of the caller's API keys, effective immediately",
        params: ApiKeyParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await revokeOwnApiKey(app.deps, scopeOf(request), request.params.key_id.toLowerCase());
      return reply.code(204).send(null);
    },
  );
}
