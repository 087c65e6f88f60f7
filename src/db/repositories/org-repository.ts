// Organizations and who belongs to them. Every lookup starts from the org (its id or key).
import type { Db, Row, RowUpdate } from "../schema.js";

/** The id and key of an org known to exist (a runtime's or a caller's, read in the same transaction). */
export async function findOrgRef(db: Db, orgId: string): Promise<{ id: string; key: string }> {
  return db.selectFrom("orgs").select(["id", "key"]).where("id", "=", orgId).executeTakeFirstOrThrow();
}

/** The org `orgKey` and `userId`'s role in it; undefined when either is missing. */
export async function findOrgWithRole(
  db: Db,
  orgKey: string,
  userId: string,
): Promise<(Row<"orgs"> & { role: Row<"memberships">["role"] }) | undefined> {
  return db
    .selectFrom("orgs")
    .innerJoin("memberships", "memberships.org_id", "orgs.id")
    .selectAll("orgs")
    .select("memberships.role")
    .where("orgs.key", "=", orgKey)
    .where("memberships.user_id", "=", userId)
    .executeTakeFirst();
}

export async function insertOrg(db: Db, org: Row<"orgs">): Promise<void> {
  await db.insertInto("orgs").values(org).execute();
}

/**
 * Locks the org's row until the transaction ends (PostgreSQL `FOR UPDATE`), so checks that span
 * several of its rows (its owner count) run one at a time. Callers skip it on SQLite, whose
 * transactions are already serial.
 */
export async function lockOrgRow(trx: Db, orgId: string): Promise<void> {
  await trx.selectFrom("orgs").select("id").where("id", "=", orgId).forUpdate().execute();
}

/** The orgs `userId` belongs to with its role in each, by key; only `onlyOrgId` when given. */
export async function listOrgsWithRoleOfUser(
  db: Db,
  userId: string,
  onlyOrgId: string | null,
): Promise<Array<Row<"orgs"> & { role: Row<"memberships">["role"] }>> {
  let query = db
    .selectFrom("orgs")
    .innerJoin("memberships", "memberships.org_id", "orgs.id")
    .selectAll("orgs")
    .select("memberships.role")
    .where("memberships.user_id", "=", userId);
  if (onlyOrgId !== null) query = query.where("orgs.id", "=", onlyOrgId);
  return query.orderBy("orgs.key").execute();
}

/** Applies the changes to the org and returns its row as it now is. */
export async function updateOrgRow(db: Db, orgId: string, changes: RowUpdate<"orgs">): Promise<Row<"orgs">> {
  return db.updateTable("orgs").set(changes).where("id", "=", orgId).returningAll().executeTakeFirstOrThrow();
}
