// The audit log (SPEC §3): one event per mutation, written in the mutation's transaction.
import { Type } from "typebox";
import { UUID_PATTERN } from "../domain/names.js";
import { NO_NUL, Nullable, Timestamp, Uuid } from "./common.js";

export const AuditEvent = Type.Object({
  id: Uuid,
  at: Timestamp,
  actor_user_id: Nullable(Uuid),
  api_key_id: Nullable(Uuid),
  action: Type.String({ description: 'Dotted, e.g. "member.added", "capability.version.published"' }),
  target_type: Type.String(),
  target_id: Nullable(Type.String()),
  request_id: Nullable(Type.String()),
  data: Type.Object({}, { additionalProperties: true }),
});

export const AuditPage = Type.Object({
  items: Type.Array(AuditEvent),
  next_cursor: Nullable(Type.String({ description: "Pass back as `cursor` for the next (older) page" })),
});

const TIME = "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2})$";

/** The audit list's filters (all optional, combined with AND) next to the cursor. */
export const AuditQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    actor_user_id: Type.Optional(
      Type.String({ pattern: UUID_PATTERN, description: "Only events by this user" }),
    ),
    action: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        pattern: NO_NUL,
        description: 'An exact action, or a prefix ending in "." (e.g. "runtime.")',
      }),
    ),
    target_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        pattern: NO_NUL,
        description: "Only events about this object",
      }),
    ),
    since: Type.Optional(
      Type.String({ pattern: TIME, maxLength: 40, description: "ISO 8601: events at or after this time" }),
    ),
    until: Type.Optional(
      Type.String({ pattern: TIME, maxLength: 40, description: "ISO 8601: events before this time" }),
    ),
  },
  { additionalProperties: false },
);
