// Schemas every resource shares: ids, slugs, the error envelope and the error responses each route
// declares (spread into its `response` so OpenAPI lists them).
import { type Static, type TArray, type TSchema, Type } from "typebox";
import { SLUG_PATTERN, UUID_PATTERN } from "../domain/names.js";
import { ERROR_STATUSES, ERROR_TYPES } from "./errors.js";

export const Uuid = Type.String({ pattern: UUID_PATTERN, description: "UUID (any letter case in paths)" });
export const Slug = Type.String({ pattern: SLUG_PATTERN });

/** Free text in a query: any character but NUL, which PostgreSQL cannot compare or store. */
export const NO_NUL = "^[^\\u0000]*$";
/** The pattern of a name that may not be blank: at least one character that is not white space. */
export const NOT_BLANK = "\\S";
/** The name of an org, workspace, project, runtime or member: free text, but never blank. */
export const DisplayName = Type.String({ minLength: 1, maxLength: 200, pattern: NOT_BLANK });
/** The name of an API key or runtime token. */
export const KeyName = Type.String({ minLength: 1, maxLength: 100, pattern: NOT_BLANK });
export const Description = Type.String({ maxLength: 4000 });
export const Timestamp = Type.String({ description: "ISO 8601, UTC, millisecond precision" });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ErrorItem = Type.Object({
  loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
  msg: Type.String(),
  type: Type.String(),
});

export const ErrorEnvelope = Type.Object(
  {
    code: Type.Union(ERROR_STATUSES.map((s) => Type.Literal(s))),
    detail: Type.String(),
    type: Type.Union(ERROR_TYPES.map((t) => Type.Literal(t))),
    errors: Type.Optional(Type.Array(ErrorItem)),
  },
  {
    $id: "ErrorEnvelope",
    additionalProperties: false,
    examples: [
      {
        code: 422,
        detail: "Request validation failed",
        type: "validation_error",
        errors: [{ loc: ["body", "enable"], msg: "unknown field", type: "value_error.extra" }],
      },
    ],
  },
);

/**
 * An error is always the JSON envelope, also on routes whose success is not JSON (raw files,
 * bundles): declaring the media type keeps OpenAPI from listing errors under the route's `produces`.
 */
const errorRef = {
  description: "Error envelope: {code, detail, type, errors?}",
  content: { "application/json": { schema: Type.Ref("ErrorEnvelope") } },
};

/** Error responses of every authenticated route; spread into `response`. */
export const errorResponses = {
  400: errorRef,
  401: errorRef,
  403: errorRef,
  404: errorRef,
  409: errorRef,
  422: errorRef,
  426: errorRef,
  429: errorRef,
  500: errorRef,
  504: errorRef,
} as const;

export const NoContent = Type.Null({ description: "No content" });

export const CursorQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type CursorQuery = Static<typeof CursorQuery>;

/** The largest page number accepted (2^31 - 1); beyond the last page a list is simply empty. */
const MAX_PAGE = 2_147_483_647;

export const PageQuery = {
  // Bounded so that (page - 1) × limit stays an exact integer the databases accept as an offset.
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
};

/** Page-style pagination (SPEC §2.7); the items sit beside it under a key named after the resource. */
export const PageInfo = Type.Object({
  total: Type.Integer(),
  page: Type.Integer(),
  limit: Type.Integer(),
  total_pages: Type.Integer(),
  has_next: Type.Boolean(),
  has_previous: Type.Boolean(),
});
export type PageInfo = Static<typeof PageInfo>;

export const pagedResponse = <K extends string, T extends TSchema>(itemsKey: K, item: T) =>
  Type.Object({ ...({ [itemsKey]: Type.Array(item) } as Record<K, TArray<T>>), ...PageInfo.properties });

/** One page of `items` under `itemsKey`, with the page envelope every paged list answers with. */
export function pageOf<K extends string, T>(
  itemsKey: K,
  items: T[],
  { total, page, limit }: { total: number; page: number; limit: number },
): Record<K, T[]> & PageInfo {
  const totalPages = Math.ceil(total / limit);
  const info: PageInfo = {
    total,
    page,
    limit,
    total_pages: totalPages,
    has_next: page < totalPages,
    has_previous: page > 1,
  };
  return { [itemsKey]: items, ...info } as Record<K, T[]> & PageInfo;
}

/** The number of components of each kind in a capability version. */
export const ComponentCounts = Type.Object({
  agents: Type.Integer(),
  tools: Type.Integer(),
  skills: Type.Integer(),
  mcp_servers: Type.Integer(),
  workers: Type.Integer(),
});

export const OrgParams = Type.Object({ org: Slug }, { additionalProperties: false });
export const WorkspaceParams = Type.Object({ org: Slug, workspace: Slug }, { additionalProperties: false });
export const RuntimeParams = Type.Object(
  { org: Slug, workspace: Slug, runtime_id: Uuid },
  { additionalProperties: false },
);
