// Workspace secrets (SPEC §11): metadata for readers, writes for contributors, values only for a
// runtime's own token (or an owner) at `GET RT/secrets`, and the instance admin's re-encryption.
import { errorResponses, NoContent, RuntimeParams, WorkspaceParams } from "../contract/common.js";
import {
  RuntimeSecretValues,
  Secret,
  SecretList,
  SecretParams,
  SecretPutBody,
  SecretRotation,
} from "../contract/secrets.js";
import { type RouteApp, scopeOf } from "./route-app.js";

const tags = ["secrets"];
const WS = "/org/:org/ws/:workspace";

export default async function secretRoutes(app: RouteApp): Promise<void> {
  const { secrets } = app.services;

  app.get(
    `${WS}/secrets`,
    {
      schema: {
        operationId: "listWorkspaceSecrets",
        tags,
        summary: "The workspace's secrets by name: metadata only, never values (reader)",
        params: WorkspaceParams,
        response: { 200: SecretList, ...errorResponses },
      },
    },
    async (request) => {
      const { org, workspace } = request.params;
      return { items: await secrets.list(scopeOf(request).actor, org, workspace) };
    },
  );

  app.put(
    `${WS}/secrets/:name`,
    {
      schema: {
        operationId: "putWorkspaceSecret",
        tags,
        summary:
          "Create (201) or change (200) a secret; its version goes up by one on every change (contributor)",
        params: SecretParams,
        body: SecretPutBody,
        response: { 200: Secret, 201: Secret, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, workspace, name } = request.params;
      const result = await secrets.put(scopeOf(request), org, workspace, name, request.body);
      return reply.code(result.created ? 201 : 200).send(result.secret);
    },
  );

  app.delete(
    `${WS}/secrets/:name`,
    {
      schema: {
        operationId: "deleteWorkspaceSecret",
        tags,
        summary: "Delete a secret (contributor)",
        params: SecretParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, workspace, name } = request.params;
      await secrets.remove(scopeOf(request), org, workspace, name);
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${WS}/runtimes/:runtime_id/secrets`,
    {
      config: { runtimeToken: true },
      schema: {
        operationId: "getRuntimeSecrets",
        tags,
        summary:
          "The values of the runtime's enabled bindings' secrets (its runtime token, or an owner); audited",
        params: RuntimeParams,
        response: { 200: RuntimeSecretValues, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, workspace, runtime_id } = request.params;
      const path = { org, workspace, runtimeId: runtime_id.toLowerCase() };
      const values = await secrets.readForRuntime(scopeOf(request), path);
      // Values must not linger in any cache between here and the runtime.
      return reply.header("cache-control", "no-store").send(values);
    },
  );

  app.post(
    "/admin/secrets/rotate",
    {
      schema: {
        operationId: "rotateSecretsKey",
        tags,
        summary: "Re-encrypt every secret under the first key of CAPSTAN_SECRETS_KEY (instance admin)",
        response: { 200: SecretRotation, ...errorResponses },
      },
    },
    async (request) => secrets.rotate(scopeOf(request)),
  );
}
