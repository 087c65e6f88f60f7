// The MCP registry API (SPEC §13), shaped as the official MCP registry's generic API: a list
// `{servers: [{server, _meta}], metadata: {nextCursor?, count}}` whose `server` objects follow the
// committed server.json schema (openapi/mcp-registry/server.schema.json, version 2025-12-11).
import { type Static, Type } from "typebox";
import { NO_NUL } from "./common.js";

/** RFC 3339 date-time, as upstream's `updated_since` takes it (an offset or `Z` is required). */
const RFC3339 = "^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,9})?(?:[Zz]|[+-]\\d{2}:\\d{2})$";

const IncludeDeleted = Type.Optional(
  Type.Boolean({
    default: false,
    description: "Also list yanked versions (status `deleted`); always on when `updated_since` is given",
  }),
);

// Unknown query parameters are ignored, as upstream does: aggregators send their own.
export const ServerListQuery = Type.Object({
  cursor: Type.Optional(
    Type.String({ maxLength: 512, description: "`metadata.nextCursor` of the previous page" }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 30 })),
  search: Type.Optional(
    Type.String({ maxLength: 200, pattern: NO_NUL, description: "Substring of the server name (any case)" }),
  ),
  updated_since: Type.Optional(
    Type.String({ pattern: RFC3339, description: "Versions updated after this RFC 3339 time" }),
  ),
  version: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 256,
      pattern: NO_NUL,
      description: "`latest` or an exact version",
    }),
  ),
  include_deleted: IncludeDeleted,
});

export const ServerNameParams = Type.Object({
  serverName: Type.String({
    minLength: 3,
    maxLength: 200,
    description: "URL-encoded server name, e.g. io.capstan.acme%2Fweb-tools-proxy",
  }),
});

export const ServerVersionParams = Type.Object({
  ...ServerNameParams.properties,
  version: Type.String({
    minLength: 1,
    maxLength: 256,
    pattern: NO_NUL,
    description: "`latest` or an exact version",
  }),
});

export const IncludeDeletedQuery = Type.Object({ include_deleted: IncludeDeleted });

export const McpServerEntry = Type.Object({
  server: Type.Object(
    {},
    {
      additionalProperties: true,
      description:
        "A server.json document (https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json)",
    },
  ),
  _meta: Type.Object(
    {},
    {
      additionalProperties: true,
      description:
        'Registry metadata: "io.modelcontextprotocol.registry/official" {status, statusMessage?, publishedAt, updatedAt, isLatest} and "io.capstan/capability" (the capability version behind the server)',
    },
  ),
});
export type McpServerEntry = Static<typeof McpServerEntry>;

export const McpServerList = Type.Object({
  servers: Type.Array(McpServerEntry),
  metadata: Type.Object({
    nextCursor: Type.Optional(Type.String({ description: "Absent on the last page" })),
    count: Type.Integer({ description: "Entries in this page" }),
  }),
});
export type McpServerList = Static<typeof McpServerList>;
