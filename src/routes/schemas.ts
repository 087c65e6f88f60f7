// Public JSON Schemas for authoring tools: editors fetch the capability.yaml schema through the
// `# yaml-language-server: $schema=…` line `capstan capability init` writes. No auth: the schema
// is the same for everyone and says nothing about what the server holds.
import { createHash } from "node:crypto";
import type { FastifyReply } from "fastify";
import { Type } from "typebox";
import { errorResponses } from "../contract/common.js";
import { capabilityJsonSchema } from "../domain/manifest-schema.js";
import type { RouteApp } from "./route-app.js";

export const CAPABILITY_SCHEMA_PATH = "/schemas/capability.schema.json";

// It changes only with the server's code: an hour in caches, then a cheap revalidation by ETag.
const CACHE_CONTROL = "public, max-age=3600";
const failures = { 426: errorResponses[426], 500: errorResponses[500] };

export default async function schemaRoutes(app: RouteApp): Promise<void> {
  const body = `${JSON.stringify(capabilityJsonSchema(), null, 2)}\n`;
  const etag = `"${createHash("sha256").update(body).digest("hex")}"`;

  app.get(
    CAPABILITY_SCHEMA_PATH,
    {
      config: { public: true },
      schema: {
        operationId: "getCapabilitySchema",
        tags: ["operational"],
        security: [],
        summary: "JSON Schema of capability.yaml, for editors (draft-07)",
        description:
          "Cacheable; the strong ETag changes with the schema, and If-None-Match with it answers 304.",
        response: {
          200: Type.Object({}, { additionalProperties: true }),
          304: Type.Null({ description: "Not modified" }),
          ...failures,
        },
      },
    },
    async (request, reply) => {
      sendSchema(reply, body, etag, matchesEtag(request.headers["if-none-match"], etag));
      return reply;
    },
  );
}

function sendSchema(reply: FastifyReply, body: string, etag: string, notModified: boolean): void {
  reply.header("cache-control", CACHE_CONTROL).header("etag", etag);
  // A 304 carries no body: `send()` without a payload, or Fastify would write `null` and its length.
  if (notModified) reply.code(304).send();
  else reply.type("application/json; charset=utf-8").send(body);
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(",").some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, "");
    return tag === "*" || tag === etag;
  });
}
