// Service accounts of an organization and their keys (SPEC §3): owners only.
import { Type } from "typebox";
import { errorResponses, NoContent, OrgParams } from "../contract/common.js";
import {
  MemberParams,
  ServiceAccount,
  ServiceAccountCreateBody,
  ServiceAccountKeyParams,
} from "../contract/orgs.js";
import { ApiKeyCreateBody, ApiKeyCreated, ApiKeySummary } from "../contract/users.js";
import {
  createServiceAccountApiKey,
  listServiceAccountApiKeys,
  revokeServiceAccountApiKey,
} from "../services/api-key-service.js";
import { createServiceAccount, listServiceAccounts } from "../services/service-account-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";
import { presentApiKey, presentCreatedApiKey } from "./users.js";

const tags = ["service-accounts"];
const KEYS = "/org/:org/service-accounts/:user_id/api-keys";

export default async function serviceAccountRoutes(app: RouteApp): Promise<void> {
  app.get(
    "/org/:org/service-accounts",
    {
      schema: {
        operationId: "listServiceAccounts",
        tags,
        summary: "The organization's service accounts (owner)",
        params: OrgParams,
        response: { 200: Type.Array(ServiceAccount), ...errorResponses },
      },
    },
    async (request) => listServiceAccounts(app.deps, scopeOf(request).actor, request.params.org),
  );

  app.post(
    "/org/:org/service-accounts",
    {
      schema: {
        operationId: "createServiceAccount",
        tags,
        summary: "Create an automation user that belongs to this organization alone (owner)",
        params: OrgParams,
        body: ServiceAccountCreateBody,
        response: { 201: ServiceAccount, ...errorResponses },
      },
    },
    async (request, reply) => {
      const account = await createServiceAccount(
        app.deps,
        scopeOf(request),
        request.params.org,
        request.body,
      );
      return reply.code(201).send(account);
    },
  );

  app.post(
    KEYS,
    {
      schema: {
        operationId: "createServiceAccountApiKey",
        tags,
        summary: "Mint a key for a service account, limited to this organization (owner)",
        description: "Only for service accounts of this organization, never for a person.",
        params: MemberParams,
        body: ApiKeyCreateBody,
        response: { 201: ApiKeyCreated, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, user_id } = request.params;
      const minted = await createServiceAccountApiKey(
        app.deps,
        scopeOf(request),
        org,
        user_id.toLowerCase(),
        request.body,
      );
      return reply.code(201).send(presentCreatedApiKey(minted));
    },
  );

  app.get(
    KEYS,
    {
      schema: {
        operationId: "listServiceAccountApiKeys",
        tags,
        summary: "A service account's keys that are not revoked, runtime tokens included (owner)",
        params: MemberParams,
        response: { 200: Type.Array(ApiKeySummary), ...errorResponses },
      },
    },
    async (request) => {
      const { org, user_id } = request.params;
      const keys = await listServiceAccountApiKeys(
        app.deps,
        scopeOf(request).actor,
        org,
        user_id.toLowerCase(),
      );
      return keys.map(presentApiKey);
    },
  );

  app.delete(
    `${KEYS}/:key_id`,
    {
      schema: {
        operationId: "revokeServiceAccountApiKey",
        tags,
        summary: "Revoke a service account's key, effective immediately (owner)",
        params: ServiceAccountKeyParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, user_id, key_id } = request.params;
      await revokeServiceAccountApiKey(
        app.deps,
        scopeOf(request),
        org,
        user_id.toLowerCase(),
        key_id.toLowerCase(),
      );
      return reply.code(204).send(null);
    },
  );
}
