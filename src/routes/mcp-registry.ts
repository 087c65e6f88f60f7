// The MCP registry API (SPEC §13) under /v0, as the official registry's generic read API. Callers
// need no key (public capabilities); with one they also see their orgs' private capabilities.
import { errorResponses } from "../contract/common.js";
import {
  IncludeDeletedQuery,
  McpServerEntry,
  McpServerList,
  ServerListQuery,
  ServerNameParams,
  ServerVersionParams,
} from "../contract/mcp-registry.js";
import { validationIssue } from "../errors.js";
import { getServerVersion, listServers, listServerVersions } from "../services/mcp-registry-service.js";
import type { RouteApp } from "./route-app.js";

const DEFAULT_LIMIT = 30;
/** No key, or either of the API's credentials: an empty requirement makes the key optional. */
const security: { [label: string]: string[] }[] = [{}, { bearer: [] }, { apiKey: [] }];
const registry = { tags: ["mcp-registry"], security };
const optionalKey = { optionalKey: true };

/** RFC 3339 → the stored ISO form (UTC, milliseconds), so text comparison is time comparison. */
function isoInstant(value: string): string {
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) {
    throw validationIssue(
      ["query", "updated_since"],
      "Not a valid RFC 3339 date-time",
      "value_error.datetime",
    );
  }
  return at.toISOString();
}

export default async function mcpRegistryRoutes(app: RouteApp): Promise<void> {
  app.get(
    "/v0/servers",
    {
      config: optionalKey,
      schema: {
        operationId: "listMcpServers",
        ...registry,
        summary: "MCP servers of the visible capability versions, one entry per server and version",
        querystring: ServerListQuery,
        response: { 200: McpServerList, ...errorResponses },
      },
    },
    async (request) => {
      const query = request.query;
      return listServers(app.deps, request.actor, {
        limit: query.limit ?? DEFAULT_LIMIT,
        includeDeleted: query.include_deleted ?? false,
        ...(query.cursor !== undefined && { cursor: query.cursor }),
        ...(query.search !== undefined && query.search !== "" && { search: query.search }),
        ...(query.updated_since !== undefined && { updatedSince: isoInstant(query.updated_since) }),
        ...(query.version !== undefined && { version: query.version }),
      });
    },
  );

  app.get(
    "/v0/servers/:serverName/versions",
    {
      config: optionalKey,
      schema: {
        operationId: "listMcpServerVersions",
        ...registry,
        summary: "Every visible version of one MCP server, newest first",
        params: ServerNameParams,
        querystring: IncludeDeletedQuery,
        response: { 200: McpServerList, ...errorResponses },
      },
    },
    async (request) =>
      listServerVersions(
        app.deps,
        request.actor,
        request.params.serverName,
        request.query.include_deleted ?? false,
      ),
  );

  app.get(
    "/v0/servers/:serverName/versions/:version",
    {
      config: optionalKey,
      schema: {
        operationId: "getMcpServerVersion",
        ...registry,
        summary: "One version of an MCP server (`latest` allowed)",
        params: ServerVersionParams,
        querystring: IncludeDeletedQuery,
        response: { 200: McpServerEntry, ...errorResponses },
      },
    },
    async (request) =>
      getServerVersion(
        app.deps,
        request.actor,
        request.params.serverName,
        request.params.version,
        request.query.include_deleted ?? false,
      ),
  );
}
