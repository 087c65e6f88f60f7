// The caller's own account: profile and API keys (SPEC §3).
import { type Static, Type } from "typebox";
import { DisplayName, KeyName, Nullable, Slug, Timestamp, Uuid } from "./common.js";
import { Email } from "./orgs.js";

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
    /** Limits the key to this org (by key); a key minted by a limited key is always limited. */
    org: Type.Optional(Slug),
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
  /** The org the key is limited to (SPEC §3); null when it reaches all of its user's orgs. */
  org_id: Nullable(Uuid),
  expires_at: Nullable(Timestamp),
  last_used_at: Nullable(Timestamp),
  created_at: Timestamp,
});

export const ApiKeyParams = Type.Object({ key_id: Uuid }, { additionalProperties: false });

/** A user as instance admins see it (SPEC §3). */
export const AdminUser = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  is_admin: Type.Boolean(),
  /** Set for service accounts: the org the user belongs to alone. */
  service_org_id: Nullable(Uuid),
  created_at: Timestamp,
});

export const AdminUserPage = Type.Object({
  items: Type.Array(AdminUser),
  next_cursor: Nullable(Type.String()),
});

export const AdminUserCreateBody = Type.Object(
  { email: Email, name: DisplayName },
  { additionalProperties: false },
);
export type AdminUserCreateBody = Static<typeof AdminUserCreateBody>;

export const AdminUserUpdateBody = Type.Object({ is_admin: Type.Boolean() }, { additionalProperties: false });

export const UserParams = Type.Object({ user_id: Uuid }, { additionalProperties: false });
