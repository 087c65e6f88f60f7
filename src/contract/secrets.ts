// Workspace secrets and their delivery to runtimes (SPEC §11).
import { type Static, Type } from "typebox";
import { SECRET_NAME_PATTERN, SECRET_VALUE_MAX_BYTES } from "../domain/names.js";
import { Description, Nullable, Slug, Timestamp, Uuid } from "./common.js";

export const SecretName = Type.String({ pattern: SECRET_NAME_PATTERN, description: "e.g. GITHUB_TOKEN" });

export const SecretParams = Type.Object(
  { org: Slug, workspace: Slug, name: SecretName },
  { additionalProperties: false },
);

export const Secret = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Nullable(Type.String()),
  version: Type.Integer({ description: "1 when created, + 1 on every change" }),
  created_at: Timestamp,
  updated_at: Timestamp,
  updated_by: Nullable(Type.String({ description: "E-mail of whoever set it last" })),
});
export type SecretView = Static<typeof Secret>;

export const SecretList = Type.Object({ items: Type.Array(Secret) });

export const SecretPutBody = Type.Object(
  {
    // Characters here; the byte limit (UTF-8) is checked by the service.
    value: Type.String({
      minLength: 1,
      maxLength: SECRET_VALUE_MAX_BYTES,
      description: `1 to ${SECRET_VALUE_MAX_BYTES} bytes of UTF-8; never returned by any listing`,
    }),
    description: Type.Optional(Nullable(Description)),
  },
  { additionalProperties: false },
);
export type SecretPutBody = Static<typeof SecretPutBody>;

export const RuntimeSecretValues = Type.Object({
  values: Type.Record(Type.String(), Type.Record(Type.String(), Type.String()), {
    description: "capability → declared secret name → value, for the runtime's enabled bindings",
  }),
});

export const SecretRotation = Type.Object({
  key_id: Type.String({ description: "The key every value is now encrypted with" }),
  reencrypted: Type.Integer({ description: "Values re-encrypted by this call" }),
});
