// Unauthenticated operational endpoints (SPEC §1).
import { sql } from "kysely";
import { Type } from "typebox";
import { AppError } from "../http/errors.js";
import type { RouteApp } from "./route-app.js";

export default async function operationalRoutes(app: RouteApp): Promise<void> {
  const hidden = { hide: true };
  app.get(
    "/healthz",
    { config: { public: true }, schema: { ...hidden, response: { 200: Type.Object({ status: Type.String() }) } } },
    async () => ({ status: "ok" }),
  );

  app.get(
    "/readyz",
    { config: { public: true }, schema: { ...hidden, response: { 200: Type.Object({ status: Type.String() }) } } },
    async () => {
      try {
        await sql`select 1`.execute(app.deps.db);
      } catch (cause) {
        throw new AppError("database_error", "Database is not reachable", undefined, { cause });
      }
      return { status: "ready" };
    },
  );

  app.get("/metrics", { config: { public: true }, schema: hidden }, async (_request, reply) => {
    reply.type(app.metrics.contentType);
    return app.metrics.metrics();
  });

  app.get("/openapi.json", { config: { public: true }, schema: hidden }, async () => app.swagger());
}
