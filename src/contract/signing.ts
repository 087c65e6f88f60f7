// Signing keys and capability signatures (SPEC §14). Signing keys are not API keys: they never
// authenticate a request, they only vouch for bundles.
import { type Static, Type } from "typebox";
import { KeyName, Nullable, OrgParams, Timestamp, Uuid } from "./common.js";

const strict = { additionalProperties: false } as const;

export const SigningKey = Type.Object({
  id: Uuid,
  name: Type.String(),
  public_key: Type.String({ description: "Ed25519 public key, SPKI PEM" }),
  fingerprint: Type.String({
    description: "Hex SHA-256 of the key's SPKI DER; the DSSE `keyid` Capstan writes",
  }),
  created_at: Timestamp,
  revoked_at: Nullable(Timestamp),
});
export type SigningKey = Static<typeof SigningKey>;

export const SigningKeyList = Type.Object({ items: Type.Array(SigningKey) });
export type SigningKeyList = Static<typeof SigningKeyList>;

export const SigningKeyCreateBody = Type.Object(
  {
    name: KeyName,
    public_key: Type.String({ minLength: 1, maxLength: 4096, description: "Ed25519 public key in PEM" }),
  },
  strict,
);
export type SigningKeyCreateBody = Static<typeof SigningKeyCreateBody>;

export const SigningKeyParams = Type.Object({ ...OrgParams.properties, key_id: Uuid }, strict);

/** A DSSE envelope (github.com/secure-systems-lab/dsse, envelope.md). */
export const DsseEnvelopeBody = Type.Object(
  {
    payload: Type.String({ maxLength: 48 * 1024, description: "Base64 of an in-toto Statement v1" }),
    payloadType: Type.String({ maxLength: 200, description: "`application/vnd.in-toto+json`" }),
    signatures: Type.Array(
      Type.Object(
        {
          keyid: Type.Optional(Type.String({ maxLength: 200 })),
          sig: Type.String({ maxLength: 200, description: "Base64 Ed25519 signature over PAE" }),
        },
        strict,
      ),
      { minItems: 1, maxItems: 8 },
    ),
  },
  strict,
);
export type DsseEnvelopeBody = Static<typeof DsseEnvelopeBody>;

export const VersionSignature = Type.Object({
  key_id: Uuid,
  key_name: Type.String(),
  verified_at: Timestamp,
});
export type VersionSignature = Static<typeof VersionSignature>;

export const SignatureResult = Type.Object({
  name: Type.String(),
  version: Type.String(),
  signatures: Type.Array(VersionSignature),
});
export type SignatureResult = Static<typeof SignatureResult>;

export const SignatureEnvelopeList = Type.Object({
  name: Type.String(),
  version: Type.String(),
  artifact_sha256: Type.String(),
  signatures: Type.Array(
    Type.Object({
      key_id: Uuid,
      key_name: Type.String(),
      verified_at: Timestamp,
      envelope: DsseEnvelopeBody,
    }),
  ),
});
export type SignatureEnvelopeList = Static<typeof SignatureEnvelopeList>;
