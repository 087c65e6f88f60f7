// Org signing keys and the verified signatures of capability versions (SPEC §14). Every read that
// decides whether a signature counts filters on `revoked_at is null` here, once.
import type { Db, Row } from "../schema.js";

export type SigningKeyRow = Row<"signing_keys">;
export type SignatureRow = Row<"capability_signatures">;

export async function insertSigningKey(db: Db, row: SigningKeyRow): Promise<void> {
  await db.insertInto("signing_keys").values(row).execute();
}

/** Every key of an org, revoked ones included, oldest first (ids are time-ordered). */
export function listSigningKeys(db: Db, orgId: string): Promise<SigningKeyRow[]> {
  return db.selectFrom("signing_keys").selectAll().where("org_id", "=", orgId).orderBy("id").execute();
}

export function countSigningKeys(db: Db, orgId: string): Promise<number> {
  return db
    .selectFrom("signing_keys")
    .select((eb) => eb.fn.countAll<number | string>().as("n"))
    .where("org_id", "=", orgId)
    .executeTakeFirstOrThrow()
    .then((row) => Number(row.n));
}

export function findSigningKey(db: Db, orgId: string, keyId: string): Promise<SigningKeyRow | undefined> {
  return db
    .selectFrom("signing_keys")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("id", "=", keyId)
    .executeTakeFirst();
}

/** Sets `revoked_at` once; false when the key was already revoked. */
export async function revokeSigningKey(db: Db, orgId: string, keyId: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable("signing_keys")
    .set({ revoked_at: at })
    .where("org_id", "=", orgId)
    .where("id", "=", keyId)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** The non-revoked keys of several orgs (the owners of a runtime's bound capabilities). */
export function listActiveSigningKeys(
  db: Db,
  orgIds: string[],
): Promise<Pick<SigningKeyRow, "id" | "org_id" | "name" | "public_key" | "fingerprint">[]> {
  if (orgIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom("signing_keys")
    .select(["id", "org_id", "name", "public_key", "fingerprint"])
    .where("org_id", "in", orgIds)
    .where("revoked_at", "is", null)
    .orderBy("id")
    .execute();
}

export async function insertSignature(db: Db, row: SignatureRow): Promise<boolean> {
  const result = await db
    .insertInto("capability_signatures")
    .values(row)
    .onConflict((oc) => oc.columns(["version_id", "key_id"]).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export interface CountedSignature {
  version_id: string;
  key_id: string;
  key_name: string;
  verified_at: string;
  envelope: string;
}

/**
 * The signatures that count for these versions: those whose key is not revoked, oldest key first.
 * One query whatever the number of versions (the resolved set asks for all its bindings at once).
 */
export function listCountedSignatures(db: Db, versionIds: string[]): Promise<CountedSignature[]> {
  if (versionIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom("capability_signatures as s")
    .innerJoin("signing_keys as k", "k.id", "s.key_id")
    .select(["s.version_id", "s.key_id", "k.name as key_name", "s.verified_at", "s.envelope"])
    .where("s.version_id", "in", versionIds)
    .where("k.revoked_at", "is", null)
    .orderBy("s.key_id")
    .execute();
}

/** Whether at least one non-revoked key's signature is on the version (SPEC §14 `require_signed`). */
export async function hasCountedSignature(db: Db, versionId: string): Promise<boolean> {
  const row = await db
    .selectFrom("capability_signatures as s")
    .innerJoin("signing_keys as k", "k.id", "s.key_id")
    .select("s.id")
    .where("s.version_id", "=", versionId)
    .where("k.revoked_at", "is", null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Capability ids of an org that carry a signature by this key: their cached views must drop. */
export async function listCapabilitiesSignedBy(db: Db, keyId: string): Promise<string[]> {
  const rows = await db
    .selectFrom("capability_signatures as s")
    .innerJoin("capability_versions as v", "v.id", "s.version_id")
    .select("v.capability_id")
    .distinct()
    .where("s.key_id", "=", keyId)
    .execute();
  return rows.map((row) => row.capability_id);
}
