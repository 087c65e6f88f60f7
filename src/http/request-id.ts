// X-Request-Id on every response: a well-formed incoming id is echoed, anything else is replaced.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { FastifyInstance } from "fastify";

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

export function newRequestId(request: IncomingMessage): string {
  const incoming = request.headers["x-request-id"];
  if (typeof incoming === "string" && WELL_FORMED.test(incoming)) return incoming;
  return randomUUID();
}

export function registerRequestId(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every request and needs no promise.
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("X-Request-Id", request.id);
    done();
  });
}
