// Events (SPEC §15): an org's changes in commit order, numbered by `seq` without gaps, read as a
// cursor list or a Server-Sent Events stream; and the audit chain's verification.
import { Type } from "typebox";
import { Nullable, Slug, Timestamp, Uuid } from "./common.js";

/** The largest `seq` a client may send back (JSON numbers stay exact up to here). */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export const EventSubject = Type.Object({
  kind: Type.String({ description: 'What changed: "binding", "runtime", "capability_version", "secret", …' }),
  id: Type.String(),
  name: Type.Optional(Type.String()),
});

export const Event = Type.Object({
  seq: Type.Integer({ minimum: 1, description: "Gap-free per org, in commit order" }),
  id: Uuid,
  type: Type.String({ description: 'e.g. "binding.updated", "capability.published", "secret.changed"' }),
  occurred_at: Timestamp,
  actor: Nullable(
    Type.Object({ user_id: Nullable(Uuid), api_key_id: Nullable(Uuid) }, { description: "null: the system" }),
  ),
  org: Slug,
  workspace: Type.Optional(Slug),
  workspace_id: Type.Optional(Uuid),
  subject: EventSubject,
  data: Type.Object({}, { additionalProperties: true }),
});

export const EVENT_TYPES_DESCRIPTION =
  "Comma-separated: exact types (`binding.updated`), prefixes (`binding.*`) or `*`; at most 20";
/** One pattern: a dotted lower-case type, optionally ending in `.*`, or `*`. */
export const TYPE_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;
export const MAX_TYPE_PATTERNS = 20;

export const EventListQuery = Type.Object(
  {
    after: Type.Optional(
      Type.Integer({ minimum: 0, maximum: MAX_SEQ, description: "Events with a greater seq (default 0)" }),
    ),
    types: Type.Optional(Type.String({ maxLength: 2000, description: EVENT_TYPES_DESCRIPTION })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

export const EventPage = Type.Object({
  items: Type.Array(Event),
  next_after: Type.Integer({
    minimum: 0,
    description:
      "Pass back as `after`: the last seq this read covered (past filtered-out events too); equal to `after` when nothing is new",
  }),
  has_more: Type.Boolean({ description: "More events follow now: read again at once" }),
});

export const EventStreamQuery = Type.Object(
  {
    after: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_SEQ,
        description: "Start after this seq (the `Last-Event-ID` header wins); default: only new events",
      }),
    ),
    types: Type.Optional(Type.String({ maxLength: 2000, description: EVENT_TYPES_DESCRIPTION })),
  },
  { additionalProperties: false },
);

export const AuditChainVerification = Type.Object({
  ok: Type.Boolean(),
  records: Type.Integer({
    minimum: 0,
    description: "Records checked before the first broken link (all when ok)",
  }),
  head: Type.Object({
    chain_seq: Type.Integer({ minimum: 0 }),
    hash: Type.String({ description: "The chain's last hash as the head stores it (genesis: 64 zeros)" }),
  }),
  broken: Type.Optional(
    Type.Object({
      id: Nullable(Type.String({ description: "The record at or after the break (null past the last one)" })),
      chain_seq: Type.Integer({ minimum: 0, description: "The position where the chain breaks" }),
      reason: Type.Union([
        Type.Literal("hash_mismatch"),
        Type.Literal("missing"),
        Type.Literal("duplicate"),
        Type.Literal("unchained"),
        Type.Literal("truncated"),
        Type.Literal("head_mismatch"),
      ]),
    }),
  ),
});
