// What the OpenAPI document says beyond the routes' own schemas: who serves it, under which licence,
// what each tag means, and how routes whose Fastify path is not valid OpenAPI are written there.
// Client generators and linters read this document (`npm run lint:openapi`), so it must be valid
// OpenAPI 3.1, not just what Fastify happens to accept.
import type { FastifyDynamicSwaggerOptions } from "@fastify/swagger";
import type { FastifySchema } from "fastify";
import type { Config } from "../config.js";
import { OPERATION_EXAMPLES } from "../contract/examples.js";

/** One tag per resource, in the order /docs lists them. Every route's `tags` names one of these. */
export const OPENAPI_TAGS = [
  {
    name: "users",
    description: "The caller: who the key belongs to, their organizations and their own API keys.",
  },
  {
    name: "orgs",
    description:
      "Organizations own capabilities, workspaces and members. A caller who is not a member gets 404 for everything under `/org/{org}`.",
  },
  {
    name: "members",
    description: "Who belongs to an organization, with which role (`owner` ⊃ `contributor` ⊃ `reader`).",
  },
  {
    name: "service-accounts",
    description: "Automation users that belong to one organization, and the keys its owners mint for them.",
  },
  { name: "admin", description: "Instance administration: users and their keys (instance admins only)." },
  { name: "workspaces", description: "Workspaces group an organization's projects and runtimes." },
  {
    name: "projects",
    description: "Projects group a workspace's runtimes; every workspace has a default project.",
  },
  {
    name: "runtimes",
    description: "Runtimes are the agents' hosts: each has a config and binds capability versions.",
  },
  {
    name: "bindings",
    description:
      "A binding attaches one version of one capability to one runtime, with its flag overrides. The runtime reads its bindings, and what it consumes (the resolved set), with a runtime token.",
  },
  {
    name: "capabilities",
    description:
      "The registry: capability bundles (.tar.gz with a `capability.yaml`) published as immutable versions, their files, READMEs and signed bundle downloads.",
  },
  {
    name: "secrets",
    description:
      "Workspace secrets: values encrypted at rest, listed as metadata only, delivered to a runtime's own token with GET RT/secrets (audited).",
  },
  { name: "audit", description: "The organization's audit log: every change, who made it and when." },
  {
    name: "events",
    description:
      "The organization's events: every change in commit order, numbered by a gap-free seq; a cursor list and a Server-Sent Events stream resumable with Last-Event-ID.",
  },
  {
    name: "mcp-registry",
    description:
      "The MCP registry API: every MCP server of every visible capability version as a `server.json` entry, as the official MCP registry serves them. No key needed for public capabilities; a key also sees its orgs' private ones.",
  },
  {
    name: "operational",
    description: "Health, readiness, metrics and this document. No key needed.",
  },
  {
    name: "signing",
    description:
      "Org signing keys (Ed25519) and the DSSE signatures they verify on capability versions; runtimes can require signed versions.",
  },
  {
    name: "webhooks",
    description:
      "Webhooks (owner): the org's events POSTed to an endpoint, signed as the Standard Webhooks specification says (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried for 24 h, with a delivery log.",
  },
];

/** Fastify's wildcard segment, and the named parameter OpenAPI documents in its place. */
const WILDCARD = "*";
const WILDCARD_PARAMETER = "path";
const WILDCARD_DESCRIPTION =
  "The file's path inside the bundle. It may contain slashes, sent raw (`docs/guide.md`) or percent-encoded (`docs%2Fguide.md`).";

interface ParamsSchema {
  properties?: Record<string, Record<string, unknown>>;
  required?: string[];
  [keyword: string]: unknown;
}

/**
 * `/…/files/*` becomes `/…/files/{path}` in the document: a parameter named `*` is not valid
 * OpenAPI and generators reject or mangle it. Only the document changes; the route (and the
 * `request.params["*"]` its handler reads) stays as Fastify routes it.
 */
function namedWildcard(schema: FastifySchema, url: string): { schema: FastifySchema; url: string } {
  const params = (schema.params ?? {}) as ParamsSchema;
  if (!url.endsWith(`/${WILDCARD}`) || params.properties?.[WILDCARD] === undefined) return { schema, url };
  const { [WILDCARD]: wildcard, ...named } = params.properties;
  return {
    url: `${url.slice(0, -WILDCARD.length)}:${WILDCARD_PARAMETER}`,
    schema: {
      ...schema,
      params: {
        ...params,
        properties: { ...named, [WILDCARD_PARAMETER]: { ...wildcard, description: WILDCARD_DESCRIPTION } },
        required: [...(params.required ?? []).filter((name) => name !== WILDCARD), WILDCARD_PARAMETER],
      },
    },
  };
}

/** The operation's examples (src/contract/examples.ts) on its request and response bodies. */
function withExamples(schema: FastifySchema): FastifySchema {
  const examples = OPERATION_EXAMPLES[(schema as { operationId?: string }).operationId ?? ""];
  if (examples === undefined) return schema;
  const withExample = (body: unknown, example: unknown) => ({ ...(body as object), examples: [example] });
  const responses = { ...(schema.response as Record<number, unknown>) };
  // An example of a body the route does not declare is left out (and a test says so).
  for (const [status, example] of Object.entries(examples.responses ?? {})) {
    const response = responses[Number(status)];
    if (response !== undefined) responses[Number(status)] = withExample(response, example);
  }
  const hasBody = examples.body !== undefined && schema.body !== undefined;
  return {
    ...schema,
    ...(hasBody ? { body: withExample(schema.body, examples.body) } : {}),
    response: responses,
  };
}

/**
 * How a route appears in the document. The route's own schema is shared with the validator and
 * the serializer, so it is copied where it changes, never changed in place.
 */
export function documentRoute({ schema, url }: { schema: FastifySchema; url: string }): {
  schema: FastifySchema;
  url: string;
} {
  if (schema === undefined) return { schema, url };
  const named = namedWildcard(schema, url);
  return { schema: withExamples(named.schema), url: named.url };
}

/** The @fastify/swagger options: the document the app serves at /openapi.json. */
export function openapiOptions(config: Pick<Config, "publicUrl">): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Capstan API",
        version: "1.0.0",
        description:
          "Control plane for AI-agent capabilities: registry, runtimes and bindings.\n\n" +
          "Authenticate with `Authorization: Bearer <key>` (or `X-API-Key: <key>`). Every error, whatever the " +
          "route, is the JSON envelope `{code, detail, type, errors?}`.",
        license: { name: "Apache-2.0", identifier: "Apache-2.0" },
      },
      // Where clients reach the API: CAPSTAN_PUBLIC_URL when it is set (behind a proxy, the only
      // address that works from outside), else relative to wherever the document was fetched from.
      servers: [{ url: config.publicUrl ?? "/" }],
      tags: OPENAPI_TAGS,
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", description: "An API key: `cst_<prefix>_<secret>`" },
          apiKey: {
            type: "apiKey",
            in: "header",
            name: "X-API-Key",
            description: "The same API key, in a header",
          },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
    // The paths are where the server routes them; the public URL's path (a proxy's prefix) is not
    // part of them and must not be cut from them.
    stripBasePath: false,
    transform: documentRoute,
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  };
}
