// Runtimes of a workspace and their declarative config (SPEC §6).
import { Type } from "typebox";
import { errorResponses, NoContent, RuntimeParams, WorkspaceParams } from "../contract/common.js";
import {
  AppliedRuntimeConfig,
  CreateRuntimeBody,
  PutRuntimeConfigBody,
  PutRuntimeConfigQuery,
  ReconciliationPlan,
  Runtime,
  RuntimeConfigEnvelope,
  RuntimeList,
  RuntimeListQuery,
  UpdateRuntimeBody,
} from "../contract/runtimes.js";
import {
  createRuntime,
  deleteRuntime,
  getRuntime,
  getRuntimeConfig,
  listRuntimes,
  planRuntimeConfig,
  replaceRuntimeConfig,
  updateRuntime,
} from "../services/runtime-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

const WS = "/org/:org/ws/:workspace/runtimes";
const RT = `${WS}/:runtime_id`;
const tags = ["runtimes"];

export default async function runtimeRoutes(app: RouteApp): Promise<void> {
  app.get(
    WS,
    {
      schema: {
        operationId: "listRuntimes",
        tags,
        summary: "List runtimes (cursor pagination, newest last)",
        description:
          "`in_sync` and `stale` filter on the runtimes' sync reports (SPEC §12). With `in_sync`, one request " +
          "examines at most 1,000 runtimes: a page may then be short, with a `next_cursor` to go on from.",
        params: WorkspaceParams,
        querystring: RuntimeListQuery,
        response: { 200: RuntimeList, ...errorResponses },
      },
    },
    async (request) => {
      const { limit, cursor, project_id, status, in_sync, stale } = request.query;
      return listRuntimes(app.deps, scopeOf(request).actor, request.params, {
        limit: limit ?? 50,
        cursor,
        projectId: project_id,
        statuses: status,
        inSync: in_sync,
        stale,
      });
    },
  );

  app.post(
    WS,
    {
      schema: {
        operationId: "createRuntime",
        tags,
        summary: "Create a runtime (idempotent by key: an existing key answers 200 with that runtime)",
        params: WorkspaceParams,
        body: CreateRuntimeBody,
        response: { 200: Runtime, 201: Runtime, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { runtime, created } = await createRuntime(
        app.deps,
        scopeOf(request),
        request.params,
        request.body,
      );
      return reply.code(created ? 201 : 200).send(runtime);
    },
  );

  app.get(
    RT,
    {
      schema: {
        operationId: "getRuntime",
        tags,
        summary: "Read a runtime",
        params: RuntimeParams,
        response: { 200: Runtime, ...errorResponses },
      },
    },
    async (request) => getRuntime(app.deps, scopeOf(request).actor, runtimeRef(request.params)),
  );

  app.patch(
    RT,
    {
      schema: {
        operationId: "updateRuntime",
        tags,
        summary: "Update a runtime's name or description",
        params: RuntimeParams,
        body: UpdateRuntimeBody,
        response: { 200: Runtime, ...errorResponses },
      },
    },
    async (request) => updateRuntime(app.deps, scopeOf(request), runtimeRef(request.params), request.body),
  );

  app.delete(
    RT,
    {
      schema: {
        operationId: "deleteRuntime",
        tags,
        summary: "Delete a runtime and its bindings",
        params: RuntimeParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await deleteRuntime(app.deps, scopeOf(request), runtimeRef(request.params));
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${RT}/config`,
    {
      schema: {
        operationId: "getRuntimeConfig",
        tags,
        summary: "The runtime's config; `capabilities` are its current bindings",
        params: RuntimeParams,
        response: { 200: RuntimeConfigEnvelope, ...errorResponses },
      },
    },
    async (request) => ({
      config: await getRuntimeConfig(app.deps, scopeOf(request).actor, runtimeRef(request.params)),
    }),
  );

  app.put(
    `${RT}/config`,
    {
      schema: {
        operationId: "replaceRuntimeConfig",
        tags,
        summary: "Replace the config and reconcile the bindings to `config.capabilities`",
        description:
          "Without `dry_run`: `{config, runtime, plan}` after the change. With `dry_run=true`: the plan " +
          "`{install, update, remove}` only; nothing changes.",
        params: RuntimeParams,
        querystring: PutRuntimeConfigQuery,
        body: PutRuntimeConfigBody,
        response: { 200: Type.Union([AppliedRuntimeConfig, ReconciliationPlan]), ...errorResponses },
      },
    },
    async (request) => {
      const ref = runtimeRef(request.params);
      const scope = scopeOf(request);
      if (request.query.dry_run) return planRuntimeConfig(app.deps, scope, ref, request.body.config);
      return replaceRuntimeConfig(app.deps, scope, ref, request.body.config);
    },
  );
}

function runtimeRef(params: { org: string; workspace: string; runtime_id: string }) {
  return { org: params.org, workspace: params.workspace, runtimeId: params.runtime_id };
}
