// Runtime capability bindings, the resolved set and runtime tokens (SPEC §7).
import type { IncomingMessage } from "node:http";
import type { FastifyReply } from "fastify";
import { Type } from "typebox";
import {
  BindingCreateBody,
  BindingList,
  BindingParams,
  BindingPatchBody,
  IfMatchHeaders,
  ResolvedHeaders,
  ResolvedSet,
  RuntimeCapabilityBinding,
  RuntimeTokenBody,
  RuntimeTokenCreated,
  UpgradePreview,
  UpgradePreviewQuery,
} from "../contract/bindings.js";
import { errorResponses, NoContent, RuntimeParams } from "../contract/common.js";
import { JSON_UTF8, RESOLVED_CACHE_CONTROL } from "../http/fast-lane.js";
import type { Actor } from "../services/deps.js";
import type { ResolvedResponse } from "../services/resolved-service.js";
import { preferredWaitSeconds } from "../services/resolved-watch.js";
import type { RuntimePath } from "../services/runtime-path.js";
import { createRuntimeToken } from "../services/runtime-token-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

const RT = "/org/:org/ws/:workspace/runtimes/:runtime_id";
const BINDING = `${RT}/capabilities/:binding_id`;
const tags = ["bindings"];

/** Path UUIDs arrive in any letter case (SPEC §2.1). */
function runtimePath(params: { org: string; workspace: string; runtime_id: string }): RuntimePath {
  return { org: params.org, workspace: params.workspace, runtimeId: params.runtime_id.toLowerCase() };
}

const etagOf = (binding: { revision: number }): string => `"${binding.revision}"`;

// These send and return nothing: a handler that is not async must not hand the reply back to Fastify.

/** Sends an already serialized JSON body as is. */
function sendJson(reply: FastifyReply, body: Buffer): void {
  reply.type(JSON_UTF8).send(body);
}

function sendResolved(reply: FastifyReply, result: ResolvedResponse): void {
  reply.header("etag", result.etag).header("cache-control", RESOLVED_CACHE_CONTROL);
  // A 304 carries no body: `send()` without a payload, or Fastify would write `null` and its length.
  if (result.body === null) reply.code(304).send();
  else sendJson(reply, result.body);
}

export default async function bindingRoutes(app: RouteApp): Promise<void> {
  const { bindings, resolved, watch } = app.services;
  // Held requests answer at once when the server starts closing, so it need not wait for them.
  app.addHook("preClose", (done) => {
    watch.close();
    done();
  });

  /** SPEC §12: held until the digest differs or the wait ends; a client that leaves is let go. */
  const watchResolved = async (
    raw: IncomingMessage,
    reply: FastifyReply,
    actor: Actor,
    path: RuntimePath,
    preference: { ifNoneMatch: string; waitSeconds: number },
  ): Promise<void> => {
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableEnded) gone.abort();
    };
    reply.raw.on("close", onClose);
    raw.socket?.once("close", onClose);
    try {
      const { response, applied } = await watch.watch(
        actor,
        path,
        preference.ifNoneMatch,
        preference.waitSeconds * 1000,
        gone.signal,
      );
      if (gone.signal.aborted) return;
      if (applied) reply.header("preference-applied", `wait=${preference.waitSeconds}`);
      sendResolved(reply, response);
    } finally {
      reply.raw.off("close", onClose);
      raw.socket?.off("close", onClose);
    }
  };
  app.fastLane.serveRuntimeReads({
    listRoute: `${app.prefix}${RT}/capabilities`,
    resolvedRoute: `${app.prefix}${RT}/capabilities/resolved`,
    cachedList: (actor, path) => bindings.cachedList(actor, path),
    cachedResolved: (actor, path, ifNoneMatch) => resolved.cachedAnswer(actor, path, ifNoneMatch),
  });

  app.get(
    `${RT}/capabilities`,
    {
      config: { runtimeToken: true },
      schema: {
        operationId: "listRuntimeCapabilities",
        tags,
        summary: "The runtime's capability bindings, sorted by name",
        params: RuntimeParams,
        response: { 200: BindingList, ...errorResponses },
      },
    },
    // Not async: a list served from memory is sent without a promise (see BindingService.listBody).
    (request, reply) => {
      const body = bindings.listBody(scopeOf(request).actor, runtimePath(request.params));
      if (!Buffer.isBuffer(body)) return body.then((bytes) => sendJson(reply, bytes));
      sendJson(reply, body);
    },
  );

  app.get(
    `${RT}/capabilities/resolved`,
    {
      config: { runtimeToken: true },
      schema: {
        operationId: "getResolvedRuntimeCapabilities",
        tags,
        summary: "What the runtime consumes: enabled bindings resolved to artifacts and effective flags",
        description:
          "The strong ETag is the top-level runtime_digest; If-None-Match with it answers 304. With " +
          "`Prefer: wait=N` as well, the request is held until the digest differs or N seconds pass.",
        params: RuntimeParams,
        headers: ResolvedHeaders,
        response: { 200: ResolvedSet, 304: Type.Null({ description: "Not modified" }), ...errorResponses },
      },
    },
    (request, reply) => {
      const ifNoneMatch = request.headers["if-none-match"];
      const waitSeconds = preferredWaitSeconds(request.headers.prefer);
      if (waitSeconds !== undefined && ifNoneMatch !== undefined) {
        return watchResolved(request.raw, reply, scopeOf(request).actor, runtimePath(request.params), {
          ifNoneMatch,
          waitSeconds,
        });
      }
      const result = resolved.resolve(scopeOf(request).actor, runtimePath(request.params), ifNoneMatch);
      if (result instanceof Promise) return result.then((answer) => sendResolved(reply, answer));
      sendResolved(reply, result);
    },
  );

  app.post(
    `${RT}/capabilities`,
    {
      schema: {
        operationId: "createRuntimeCapability",
        tags,
        summary: "Bind a capability version to the runtime",
        params: RuntimeParams,
        body: BindingCreateBody,
        response: { 201: RuntimeCapabilityBinding, ...errorResponses },
      },
    },
    async (request, reply) => {
      const binding = await bindings.create(scopeOf(request), runtimePath(request.params), request.body);
      return reply.code(201).header("etag", etagOf(binding)).send(binding);
    },
  );

  app.get(
    BINDING,
    {
      // One of the runtime's bindings: a runtime token may read it, as it reads the list.
      config: { runtimeToken: true },
      schema: {
        operationId: "getRuntimeCapability",
        tags,
        summary: "One binding (its revision is also the ETag)",
        params: BindingParams,
        response: { 200: RuntimeCapabilityBinding, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { binding_id } = request.params;
      const binding = await bindings.get(
        scopeOf(request).actor,
        runtimePath(request.params),
        binding_id.toLowerCase(),
      );
      return reply.header("etag", etagOf(binding)).send(binding);
    },
  );

  app.patch(
    BINDING,
    {
      schema: {
        operationId: "updateRuntimeCapability",
        tags,
        summary: "Enable/disable, merge flag overrides (null removes), or re-point to another version",
        params: BindingParams,
        headers: IfMatchHeaders,
        body: BindingPatchBody,
        response: { 200: RuntimeCapabilityBinding, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { binding_id } = request.params;
      const binding = await bindings.update(
        scopeOf(request),
        runtimePath(request.params),
        binding_id.toLowerCase(),
        request.body,
        request.headers["if-match"],
      );
      return reply.header("etag", etagOf(binding)).send(binding);
    },
  );

  app.delete(
    BINDING,
    {
      schema: {
        operationId: "deleteRuntimeCapability",
        tags,
        summary: "Remove the binding",
        params: BindingParams,
        headers: IfMatchHeaders,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { binding_id } = request.params;
      await bindings.remove(
        scopeOf(request),
        runtimePath(request.params),
        binding_id.toLowerCase(),
        request.headers["if-match"],
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${BINDING}/upgrade-preview`,
    {
      schema: {
        operationId: "previewRuntimeCapabilityUpgrade",
        tags,
        summary: "What re-pointing the binding to another version would change",
        params: BindingParams,
        querystring: UpgradePreviewQuery,
        response: { 200: UpgradePreview, ...errorResponses },
      },
    },
    async (request) => {
      const { binding_id } = request.params;
      const selector = request.query.version ?? "latest";
      return bindings.upgradePreview(
        scopeOf(request).actor,
        runtimePath(request.params),
        binding_id.toLowerCase(),
        selector,
      );
    },
  );

  app.post(
    `${RT}/tokens`,
    {
      // Every field is optional, so an empty POST is a valid request for a default token.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        operationId: "createRuntimeToken",
        tags,
        summary: "Mint a runtime token: reads only this runtime's bindings, resolved set and bound bundles",
        params: RuntimeParams,
        body: RuntimeTokenBody,
        response: { 201: RuntimeTokenCreated, ...errorResponses },
      },
    },
    async (request, reply) => {
      const token = await createRuntimeToken(
        app.deps,
        scopeOf(request),
        runtimePath(request.params),
        request.body,
      );
      return reply.code(201).send(token);
    },
  );
}
