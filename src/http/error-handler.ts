// The one place that writes error envelopes (SPEC §2.4). Every failure — thrown AppErrors, schema
// failures, Fastify's own errors, crashes, unknown routes — leaves here in the same shape.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "./errors.js";
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

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply) => {
    // A request to no route (e.g. a wrong method) is a 404 even when its body failed to parse first.
    if (request.routeOptions.url === undefined && !(raw instanceof AppError)) {
      return send(reply, new AppError("not_found_error", `No route ${request.method} ${request.url.split("?")[0]}`));
    }
    const known = raw instanceof AppError ? raw : fromFastifyError(raw);
    if (known) {
      if (known.status >= 500) request.log.error({ err: known.cause ?? known, type: known.type }, known.detail);
      return send(reply, known);
    }
    // Unexpected: the detail stays generic (no stack, SQL or path); the log has everything.
    request.log.error({ err: raw }, "unhandled error");
    return send(reply, new AppError("server_error", `Internal server error (request ${request.id})`));
  });

  app.setNotFoundHandler((request, reply) =>
    send(reply, new AppError("not_found_error", `No route ${request.method} ${request.url.split("?")[0]}`)),
  );
}
