// The one place that writes error envelopes (SPEC §2.4). Every failure — thrown AppErrors, schema
// failures, Fastify's own errors, database outages, crashes, unknown routes, malformed URLs and
// unparseable HTTP — leaves here in the same shape.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { fromDriverError } from "../db/driver-errors.js";
import { AppError } from "../errors.js";
import { validationIssues } from "./validation.js";

/** Fastify's own client errors, mapped to the statuses the contract allows. */
function fromFastifyError(error: FastifyError): AppError | null {
  if (error.validation) {
    const issues = validationIssues(error.validation, error.validationContext ?? "body");
    return new AppError("validation_error", "Request validation failed", issues);
  }
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AppError("invalid_error", "Request body is too large");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new AppError("invalid_error", "Unsupported content type");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new AppError("invalid_error", "Body cannot be empty when content-type is application/json");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new AppError("invalid_error", "Malformed request body");
  }
  if (error instanceof SyntaxError || (error as { type?: string }).type === "entity.parse.failed") {
    return new AppError("invalid_error", "Malformed JSON body");
  }
  const status = error.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    // Any other client error Fastify raises (bad headers, aborted uploads, …).
    if (status === 404 || status === 405) return new AppError("not_found_error", "Not found");
    return new AppError("invalid_error", error.message || "Bad request");
  }
  return null;
}

function send(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.headers) reply.headers(error.headers);
  return reply.code(error.status).type("application/json; charset=utf-8").send(error.toEnvelope());
}

const routeNotFound = (request: FastifyRequest): AppError =>
  new AppError("not_found_error", `No route ${request.method} ${request.url.split("?")[0]}`);

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply) => {
    // A request to no route (e.g. a wrong method) is a 404 even when its body failed to parse first.
    if (request.routeOptions.url === undefined && !(raw instanceof AppError))
      return send(reply, routeNotFound(request));
    const known = raw instanceof AppError ? raw : (fromFastifyError(raw) ?? fromDriverError(raw, request.id));
    if (known) {
      if (known.status >= 500)
        request.log.error({ err: known.cause ?? known, type: known.type }, known.detail);
      return send(reply, known);
    }
    // Unexpected: the detail stays generic (no stack, SQL or path); the log has everything.
    request.log.error({ err: raw }, "unhandled error");
    return send(reply, new AppError("server_error", `Internal server error (request ${request.id})`));
  });

  // The web console answers the GETs no API route matched (src/http/console.ts).
  app.setNotFoundHandler(
    (request, reply) =>
      (app.hasDecorator("consoleFallback") ? app.consoleFallback(request, reply) : null) ??
      send(reply, routeNotFound(request)),
  );
}

/**
 * Fastify's `frameworkErrors` option: failures found while routing (an undecodable URL, an
 * over-long path segment), before any hook runs — so the request id header is set here.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  reply.header("X-Request-Id", request.id);
  if (error.code === "FST_ERR_BAD_URL") {
    send(reply, new AppError("invalid_error", "The URL is not validly percent-encoded"));
  } else if (error.code === "FST_ERR_MAX_PARAM_LENGTH") {
    send(reply, new AppError("invalid_error", "A path segment is too long"));
  } else {
    request.log.error({ err: error }, "routing failed");
    send(reply, new AppError("server_error", `Internal server error (request ${request.id})`));
  }
}

/**
 * Fastify's `clientErrorHandler` option: bytes Node's HTTP parser could not read as a request
 * (garbage, oversized headers, a request that never finished). Node would answer 408 or 431; the
 * contract allows only 400 here.
 */
export function clientErrorHandler(
  this: FastifyInstance,
  error: NodeJS.ErrnoException,
  socket: Socket,
): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const detail =
    error.code === "HPE_HEADER_OVERFLOW"
      ? "Request headers are too large"
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "The request was not received in time"
        : "Malformed HTTP request";
  // Only what went wrong: Node attaches the raw bytes it could not parse (`rawPacket`), and those
  // hold whatever the client sent, its Authorization header included.
  this.log.debug({ code: error.code, reason: error.message }, "client error");
  answerOnSocket(socket, "400 Bad Request", new AppError("invalid_error", detail));
  socket.destroy(error);
}

/**
 * `CONNECT host:port`: Node hands such a request to the server's `connect` event, not to the
 * request handler, and closes the socket silently when nothing listens. No route takes CONNECT, so
 * it gets the 404 any unknown method gets.
 */
export function answerConnect(request: IncomingMessage, socket: Socket): void {
  answerOnSocket(socket, "404 Not Found", new AppError("not_found_error", `No route CONNECT ${request.url}`));
  socket.destroy();
}

/** An envelope written straight to a socket that no response object owns, closing the connection. */
export function answerOnSocket(
  socket: Socket,
  statusLine: string,
  error: AppError,
  headers: Record<string, string> = {},
): void {
  if (!socket.writable) return;
  const body = JSON.stringify(error.toEnvelope());
  socket.write(
    `HTTP/1.1 ${statusLine}\r\n` +
      "Content-Type: application/json; charset=utf-8\r\n" +
      Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join("") +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${randomUUID()}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}
