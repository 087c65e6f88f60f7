// Organizations and who belongs to them. Every lookup starts from the org (its id or key).
import type { Db, Row } from "../schema.js";

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
