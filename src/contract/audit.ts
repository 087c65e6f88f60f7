// The audit log (SPEC §3): one event per mutation, written in the mutation's transaction.
import { Type } from "typebox";
import { Nullable, Timestamp, Uuid } from "./common.js";

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
