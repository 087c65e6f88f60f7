// Org signing keys and capability signatures (SPEC §14). A signature is verified when it arrives
// (with a publish or later), against the org's non-revoked keys, and stored with the key it
// verified against; from then on it counts for as long as that key is not revoked. Whether a
// version is signed is therefore one indexed lookup, never a cryptographic check on a hot read.

import type {
  SignatureEnvelopeList,
  SigningKey,
  SigningKeyCreateBody,
  VersionSignature,
} from "../contract/signing.js";
import { isUniqueViolation } from "../db/driver-errors.js";
import { findCapability, findVersion } from "../db/repositories/capability-repository.js";
import {
  countSigningKeys,
  findSigningKey,
  hasCountedSignature,
  insertSignature,
  insertSigningKey,
  listCountedSignatures,
  listSigningKeys as listKeyRows,
  revokeSigningKey as revokeKeyRow,
  type SigningKeyRow,
} from "../db/repositories/signing-key-repository.js";
import type { Db } from "../db/schema.js";
import {
  type DsseEnvelope,
  envelopeFrom,
  MAX_SIGNING_KEYS_PER_ORG,
  parseEd25519PublicKey,
  parseEnvelope,
  SignatureError,
  type SignatureSubject,
  type TrustedKey,
  verifyEnvelope,
} from "../domain/dsse.js";
import type { Issue } from "../domain/types.js";
import { AppError, alreadyExists, conflict, notFound } from "../errors.js";
import { newId } from "../lib/ids.js";
import { requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import type { RequestScope, ServiceDeps } from "./deps.js";
import { inTransaction } from "./transaction.js";

export function presentSigningKey(row: SigningKeyRow): SigningKey {
  return {
    id: row.id,
    name: row.name,
    public_key: row.public_key,
    fingerprint: row.fingerprint,
    created_at: row.created_at,
    revoked_at: row.revoked_at,
  };
}

/** Readers may list the keys: they are public keys, and `capability verify` needs them. */
export async function listSigningKeys(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
): Promise<{ items: SigningKey[] }> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "reader");
  return { items: (await listKeyRows(deps.db, org.id)).map(presentSigningKey) };
}

export async function createSigningKey(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  body: SigningKeyCreateBody,
): Promise<SigningKey> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "owner");
  const parsed = withIssue(() => parseEd25519PublicKey(body.public_key, ["body", "public_key"]));
  const at = deps.now().toISOString();
  const row: SigningKeyRow = {
    id: newId(),
    org_id: org.id,
    name: body.name,
    public_key: parsed.pem,
    fingerprint: parsed.fingerprint,
    created_by: scope.actor.userId,
    created_at: at,
    revoked_at: null,
  };
  try {
    await inTransaction(deps, async (trx) => {
      if ((await countSigningKeys(trx, org.id)) >= MAX_SIGNING_KEYS_PER_ORG) {
        throw conflict(
          `'${orgKey}' already has ${MAX_SIGNING_KEYS_PER_ORG} signing keys (revoked ones count)`,
        );
      }
      await insertSigningKey(trx, row);
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          action: "signing_key.created",
          targetType: "signing_key",
          targetId: row.id,
          data: { name: row.name, fingerprint: row.fingerprint },
        },
        at,
      );
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      // Also when the earlier registration was revoked: re-adding it would undo the revocation.
      throw alreadyExists(
        `This public key is already registered in '${orgKey}' (revoked keys stay registered)`,
      );
    }
    throw error;
  }
  // The resolved sets binding the org's capabilities carry its trusted keys; nothing else changes.
  deps.changes.publish({ kind: "org_trust", orgId: org.id });
  return presentSigningKey(row);
}

/** Revocation: the key's signatures stop counting from now on; the row stays, with `revoked_at`. */
export async function revokeSigningKey(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  keyId: string,
): Promise<void> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "owner");
  const at = deps.now().toISOString();
  const revoked = await inTransaction(deps, async (trx) => {
    const key = await findSigningKey(trx, org.id, keyId.toLowerCase());
    if (!key) throw notFound("Signing key");
    if (!(await revokeKeyRow(trx, org.id, key.id, at))) return false;
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        action: "signing_key.revoked",
        targetType: "signing_key",
        targetId: key.id,
        data: { name: key.name, fingerprint: key.fingerprint },
      },
      at,
    );
    return true;
  });
  // Details read signatures fresh; the resolved sets (signatures and trusted keys) are cached.
  if (revoked) deps.changes.publish({ kind: "org_trust", orgId: org.id });
}

/** The signatures that count for each version, by version id. */
export async function countedSignaturesOf(db: Db, versionIds: string[]) {
  const rows = await listCountedSignatures(db, versionIds);
  const byVersion = new Map<string, typeof rows>();
  for (const row of rows) {
    const list = byVersion.get(row.version_id) ?? [];
    list.push(row);
    byVersion.set(row.version_id, list);
  }
  return byVersion;
}

/** The detail's `signatures` of one version. */
export async function versionSignatures(db: Db, versionId: string): Promise<VersionSignature[]> {
  const rows = await listCountedSignatures(db, [versionId]);
  return rows.map(({ key_id, key_name, verified_at }) => ({ key_id, key_name, verified_at }));
}

/** An envelope that verified, and the keys it verified against. */
export interface VerifiedSignature {
  envelope: DsseEnvelope;
  keys: TrustedKey[];
}

/**
 * Verifies envelopes sent as text (the publish's multipart field `signature`) or as a parsed body,
 * for one bundle, against the org's keys. Every envelope must verify: 422 otherwise, nothing stored.
 */
export async function verifySignatures(
  db: Db,
  orgId: string,
  subject: SignatureSubject,
  envelopes: { value: string | unknown; loc: Issue["loc"] }[],
): Promise<VerifiedSignature[]> {
  if (envelopes.length === 0) return [];
  const keys = await listKeyRows(db, orgId);
  const trusted = keys.filter((k) => k.revoked_at === null);
  const revoked = keys.filter((k) => k.revoked_at !== null);
  return envelopes.map(({ value, loc }) =>
    withIssue(() => {
      const envelope = typeof value === "string" ? parseEnvelope(value, loc) : envelopeFrom(value, loc);
      return verifyEnvelope(envelope, subject, trusted, loc, revoked);
    }),
  );
}

/** Stores verified signatures (one row per key; a key's second signature of a version is a no-op). */
export async function storeSignatures(
  trx: Db,
  scope: RequestScope,
  orgId: string,
  versionId: string,
  verified: VerifiedSignature[],
  at: string,
): Promise<number> {
  let added = 0;
  for (const { envelope, keys } of verified) {
    for (const key of keys) {
      const inserted = await insertSignature(trx, {
        id: newId(),
        org_id: orgId,
        version_id: versionId,
        key_id: key.id,
        envelope: JSON.stringify(envelope),
        verified_at: at,
        created_by: scope.actor.userId,
      });
      if (inserted) added += 1;
    }
  }
  return added;
}

/**
 * `POST CAP/{name}/{version}/signatures`: a contributor adds a signature to a published version of
 * their own org. 201 when a new key's signature was stored, 200 when every key had signed already.
 */
export async function addSignature(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  name: string,
  versionNumber: string,
  body: unknown,
): Promise<{ created: boolean; result: { name: string; version: string; signatures: VersionSignature[] } }> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "contributor");
  const capability = await findCapability(deps.db, org.id, name);
  const version = capability && (await findVersion(deps.db, capability.id, versionNumber));
  if (!capability || !version || version.status === "deleted") {
    throw notFound(`Version ${versionNumber} of '${name}'`);
  }
  const subject = {
    org: org.key,
    capability: name,
    version: version.version,
    artifactSha256: version.artifact_sha256,
  };
  const verified = await verifySignatures(deps.db, org.id, subject, [{ value: body, loc: ["body"] }]);
  const at = deps.now().toISOString();
  const added = await inTransaction(deps, async (trx) => {
    const count = await storeSignatures(trx, scope, org.id, version.id, verified, at);
    if (count > 0) {
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          action: "capability.version.signed",
          targetType: "capability_version",
          targetId: version.id,
          data: { name, version: version.version, keys: verified.flatMap((v) => v.keys.map((k) => k.id)) },
        },
        at,
      );
    }
    return count;
  });
  if (added > 0) deps.changes.publish({ kind: "capability", capabilityId: capability.id });
  return {
    created: added > 0,
    result: { name, version: version.version, signatures: await versionSignatures(deps.db, version.id) },
  };
}

/** `GET CAP/{name}/{version}/signatures`: the envelopes that count, for offline verification. */
export async function listVersionSignatureEnvelopes(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  name: string,
  versionNumber: string,
): Promise<SignatureEnvelopeList> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "reader");
  const capability = await findCapability(deps.db, org.id, name);
  const version = capability && (await findVersion(deps.db, capability.id, versionNumber));
  if (!capability || !version || version.status === "deleted") {
    throw notFound(`Version ${versionNumber} of '${name}'`);
  }
  const rows = await listCountedSignatures(deps.db, [version.id]);
  return {
    name,
    version: version.version,
    artifact_sha256: version.artifact_sha256,
    signatures: rows.map((row) => ({
      key_id: row.key_id,
      key_name: row.key_name,
      verified_at: row.verified_at,
      envelope: JSON.parse(row.envelope) as DsseEnvelope,
    })),
  };
}

/**
 * SPEC §14 `policy: {require_signed: true}`: 409 when the version carries no signature by a
 * non-revoked key of its org. The one check every way a binding moves calls (bind, upgrade,
 * reconcile, and auto-update).
 */
export async function assertSignedIfRequired(
  db: Db,
  requireSigned: boolean,
  version: { id: string; version: string },
  reference: string,
): Promise<void> {
  if (!requireSigned) return;
  if (await hasCountedSignature(db, version.id)) return;
  throw conflict(
    `Version ${version.version} of '${reference}' is not signed by a current signing key of its org, and this runtime's policy requires signed versions`,
  );
}

/** `require_signed` from a runtime's stored config JSON (`runtimes.config`). */
export function requiresSigned(storedConfig: string): boolean {
  try {
    const config = JSON.parse(storedConfig) as { policy?: { require_signed?: unknown } };
    return config.policy?.require_signed === true;
  } catch {
    return false;
  }
}

/** Runs a domain check, turning its SignatureError into the 422 envelope. */
function withIssue<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof SignatureError)) throw error;
    const detail = error.issue.type.startsWith("signing_key.")
      ? "The signing key was rejected"
      : "The signature was rejected";
    throw new AppError("validation_error", detail, [error.issue]);
  }
}
