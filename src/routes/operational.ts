// Unauthenticated operational endpoints (SPEC §1). They are listed in the OpenAPI document like
// every other route, with no security requirement.

import { Type } from "typebox";
import { errorResponses } from "../contract/common.js";
import { packageVersion } from "../lib/package-version.js";
import { requireDatabaseReachable } from "../services/health-service.js";
import type { RouteApp } from "./route-app.js";

const Status = Type.Object({ status: Type.String() });
/** What any public route can answer besides success: an outdated CLI, or a crash. */
const failures = { 426: errorResponses[426], 500: errorResponses[500] };
const operational = { tags: ["operational"], security: [] };
/** The server's version, for `capstan --version`; a header, so that the body stays `{status}`. */
const VERSION_HEADER = "x-capstan-version";

export default async function operationalRoutes(app: RouteApp): Promise<void> {
  app.get(
    "/healthz",
    {
      config: { public: true },
      schema: {
        operationId: "checkHealth",
        ...operational,
        summary: "The process is up",
        description: `The server's version is in the \`${VERSION_HEADER}\` response header.`,
        response: { 200: Status, ...failures },
      },
    },
    async (_request, reply) => {
      reply.header(VERSION_HEADER, packageVersion());
      return { status: "ok" };
    },
  );

  app.get(
    "/readyz",
    {
      config: { public: true },
      schema: {
        operationId: "checkReadiness",
        ...operational,
        summary: "The database is reachable (500 database_error when it is not)",
        response: { 200: Status, ...failures },
      },
    },
    async () => {
      await requireDatabaseReachable(app.deps);
      return { status: "ready" };
    },
  );

  app.get(
    "/metrics",
    {
      config: { public: true },
      schema: {
        operationId: "getMetrics",
        ...operational,
        summary: "Prometheus metrics (text exposition format)",
        response: {
          200: {
            description: "Prometheus text format",
            content: { "text/plain": { schema: Type.String() } },
          },
          ...failures,
        },
      },
    },
    async (_request, reply) => {
      reply.type(app.metrics.contentType);
      return app.metrics.metrics();
    },
  );

  app.get(
    "/openapi.json",
    {
      config: { public: true },
      schema: {
        operationId: "getOpenApiDocument",
        ...operational,
        summary: "This document: OpenAPI 3.1 of every route",
        response: { 200: Type.Object({}, { additionalProperties: true }), ...failures },
      },
    },
    async () => app.swagger(),
  );
}
