// Organizations and their members (SPEC §3).
import { type Static, Type } from "typebox";
import { Description, DisplayName, Nullable, Slug, Timestamp, Uuid } from "./common.js";

export const Role = Type.Union([Type.Literal("owner"), Type.Literal("contributor"), Type.Literal("reader")]);

export const Org = Type.Object({
  id: Uuid,
  key: Slug,
  name: Type.String(),
  description: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  /** The caller's role in this org. */
  role: Role,
});

export const OrgCreateBody = Type.Object(
  { key: Slug, name: DisplayName, description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false },
);
export type OrgCreateBody = Static<typeof OrgCreateBody>;

export const OrgUpdateBody = Type.Object(
  { name: Type.Optional(DisplayName), description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false, minProperties: 1 },
);
export type OrgUpdateBody = Static<typeof OrgUpdateBody>;

export const Member = Type.Object({
  user_id: Uuid,
  email: Type.String(),
  name: Type.String(),
  role: Role,
  /** When the user joined this org. */
  created_at: Timestamp,
});

// Deliberately loose: `admin@localhost` (the bootstrap user) has no dot in its domain.
export const Email = Type.String({ pattern: "^[^\\s@]+@[^\\s@]+$", maxLength: 254 });

export const MemberCreateBody = Type.Object(
  { email: Email, role: Role, name: Type.Optional(DisplayName) },
  { additionalProperties: false },
);
export type MemberCreateBody = Static<typeof MemberCreateBody>;

export const MemberUpdateBody = Type.Object({ role: Role }, { additionalProperties: false });

export const MemberParams = Type.Object({ org: Slug, user_id: Uuid }, { additionalProperties: false });

/** An automation user of one org alone (SPEC §3); also listed among the members. */
export const ServiceAccount = Type.Object({
  user_id: Uuid,
  name: Type.String(),
  role: Role,
  created_at: Timestamp,
});

export const ServiceAccountCreateBody = Type.Object(
  { name: DisplayName, role: Role },
  { additionalProperties: false },
);
export type ServiceAccountCreateBody = Static<typeof ServiceAccountCreateBody>;

export const ServiceAccountKeyParams = Type.Object(
  { org: Slug, user_id: Uuid, key_id: Uuid },
  { additionalProperties: false },
);
