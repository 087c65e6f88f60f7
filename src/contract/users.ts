// The caller's own account: profile and API keys (SPEC §3).
import { type Static, Type } from "typebox";
import { KeyName, Nullable, Timestamp, Uuid } from "./common.js";

export const User = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  created_at: Timestamp,
});

export const ApiKeyCreateBody = Type.Object(
  {
    name: KeyName,
    expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    read_only: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ApiKeyCreateBody = Static<typeof ApiKeyCreateBody>;

/** The only response that ever carries the plaintext `key`. */
export const ApiKeyCreated = Type.Object({
  id: Uuid,
  name: Type.String(),
  prefix: Type.String(),
  key: Type.String(),
  read_only: Type.Boolean(),
  expires_at: Nullable(Timestamp),
  created_at: Timestamp,
});

export const ApiKeySummary = Type.Object({
  id: Uuid,
  name: Type.String(),
  prefix: Type.String(),
  read_only: Type.Boolean(),
  /** Set for runtime tokens (SPEC §7.6). */
  runtime_id: Nullable(Uuid),
  expires_at: Nullable(Timestamp),
  last_used_at: Nullable(Timestamp),
  created_at: Timestamp,
});

export const ApiKeyParams = Type.Object({ key_id: Uuid }, { additionalProperties: false });
