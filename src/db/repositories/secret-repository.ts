// Workspace secrets (SPEC §11). Rows hold ciphertext only; the service encrypts and decrypts.
import type { Db, Row } from "../schema.js";

export type SecretRow = Row<"workspace_secrets">;

/** A secret as the list shows it: no ciphertext, and who last set it by e-mail. */
export interface SecretListRow {
  id: string;
  name: string;
  description: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  updated_by: string | null;
}

/** The workspace's secrets by name, or the one named `name`. */
export async function listWorkspaceSecrets(
  db: Db,
  workspaceId: string,
  name?: string,
): Promise<SecretListRow[]> {
  let query = db
    .selectFrom("workspace_secrets as s")
    .leftJoin("users as u", "u.id", "s.updated_by")
    .select([
      "s.id",
      "s.name",
      "s.description",
      "s.version",
      "s.created_at",
      "s.updated_at",
      "u.email as updated_by",
    ])
    .where("s.workspace_id", "=", workspaceId);
  if (name !== undefined) query = query.where("s.name", "=", name);
  return query.orderBy("s.name").execute();
}

export async function countWorkspaceSecrets(db: Db, workspaceId: string): Promise<number> {
  const row = await db
    .selectFrom("workspace_secrets")
    .select((eb) => eb.fn.countAll<string | number>().as("n"))
    .where("workspace_id", "=", workspaceId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function findWorkspaceSecret(
  db: Db,
  workspaceId: string,
  name: string,
): Promise<SecretRow | undefined> {
  return db
    .selectFrom("workspace_secrets")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("name", "=", name)
    .executeTakeFirst();
}

/** Name → version of every secret of a workspace: what the binding list and the resolved set show. */
export async function workspaceSecretVersions(db: Db, workspaceId: string): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom("workspace_secrets")
    .select(["name", "version"])
    .where("workspace_id", "=", workspaceId)
    .execute();
  return new Map(rows.map((row) => [row.name, row.version]));
}

/** The rows of these names in one workspace (the values a runtime reads). */
export async function findWorkspaceSecretsByName(
  db: Db,
  workspaceId: string,
  names: readonly string[],
): Promise<SecretRow[]> {
  if (names.length === 0) return [];
  return db
    .selectFrom("workspace_secrets")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("name", "in", names)
    .execute();
}

export async function insertWorkspaceSecret(db: Db, row: SecretRow): Promise<void> {
  await db.insertInto("workspace_secrets").values(row).execute();
}

/** Applies the change only if the secret is still at `version`; false when another writer won. */
export async function updateWorkspaceSecretAtVersion(
  db: Db,
  id: string,
  version: number,
  changes: Pick<SecretRow, "description" | "version" | "key_id" | "ciphertext" | "updated_at" | "updated_by">,
): Promise<boolean> {
  const result = await db
    .updateTable("workspace_secrets")
    .set(changes)
    .where("id", "=", id)
    .where("version", "=", version)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteWorkspaceSecret(db: Db, id: string): Promise<void> {
  await db.deleteFrom("workspace_secrets").where("id", "=", id).execute();
}

/** The ids of the master keys that encrypted at least one value. */
export async function secretKeyIdsInUse(db: Db): Promise<string[]> {
  const rows = await db.selectFrom("workspace_secrets").select("key_id").distinct().execute();
  // Webhook signing secrets are sealed under the same keyring.
  const webhooks = await db.selectFrom("webhooks").select("secret_key_id").distinct().execute();
  return [...new Set([...rows.map((row) => row.key_id), ...webhooks.map((row) => row.secret_key_id)])];
}

/** Up to `limit` rows not encrypted with `keyId`, in id order after `afterId` (re-encryption batches). */
export async function secretsNotUnderKey(
  db: Db,
  keyId: string,
  afterId: string,
  limit: number,
): Promise<SecretRow[]> {
  return db
    .selectFrom("workspace_secrets")
    .selectAll()
    .where("key_id", "!=", keyId)
    .where("id", ">", afterId)
    .orderBy("id")
    .limit(limit)
    .execute();
}

/** Re-encryption in place: only if the row still holds the ciphertext that was read. */
export async function replaceSecretCiphertext(
  db: Db,
  id: string,
  previous: string,
  keyId: string,
  ciphertext: string,
): Promise<boolean> {
  const result = await db
    .updateTable("workspace_secrets")
    .set({ key_id: keyId, ciphertext })
    .where("id", "=", id)
    .where("ciphertext", "=", previous)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
