import type { IncomingMessage, ServerResponse } from "node:http";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawServerDefault } from "fastify";
import { actorOf } from "../http/auth.js";
import type { RequestScope } from "../services/deps.js";

/** The Fastify instance route modules receive, typed by TypeBox schemas. */
export type RouteApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** Who is calling and under which request id: what services need for checks and audit. */
export function scopeOf(request: FastifyRequest): RequestScope {
  return { actor: actorOf(request), requestId: request.id };
}
