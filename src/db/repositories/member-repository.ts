// Memberships: a user's role in an org. Every method takes the org first.
import type { Db, Row } from "../schema.js";

/** A member as the API shows it: the membership joined with the user's email and name. */
export interface MemberRow {
  user_id: string;
  email: string;
  name: string;
  role: Row<"memberships">["role"];
  created_at: string;
}

function memberQuery(db: Db, orgId: string) {
  return db
    .selectFrom("memberships")
    .innerJoin("users", "users.id", "memberships.user_id")
    .select([
      "memberships.user_id",
      "users.email",
      "users.name",
      "memberships.role",
      "memberships.created_at",
    ])
    .where("memberships.org_id", "=", orgId);
}

/** Every member of the org, oldest membership first. */
export async function listMemberRows(db: Db, orgId: string): Promise<MemberRow[]> {
  return memberQuery(db, orgId).orderBy("memberships.created_at").orderBy("memberships.user_id").execute();
}

/** The member `userId` of the org; undefined when they are not one. */
export async function findMemberRow(db: Db, orgId: string, userId: string): Promise<MemberRow | undefined> {
  return memberQuery(db, orgId).where("memberships.user_id", "=", userId).executeTakeFirst();
}

/** How many owners the org has. */
export async function countOrgOwners(db: Db, orgId: string): Promise<number> {
  const { owners } = await db
    .selectFrom("memberships")
    .select((eb) => eb.fn.countAll<number>().as("owners"))
    .where("org_id", "=", orgId)
    .where("role", "=", "owner")
    .executeTakeFirstOrThrow();
  return Number(owners);
}

export async function insertMembership(
  db: Db,
  orgId: string,
  userId: string,
  role: Row<"memberships">["role"],
  at: string,
): Promise<void> {
  await db
    .insertInto("memberships")
    .values({ org_id: orgId, user_id: userId, role, created_at: at })
    .execute();
}

export async function updateMembershipRole(
  db: Db,
  orgId: string,
  userId: string,
  role: Row<"memberships">["role"],
): Promise<void> {
  await db
    .updateTable("memberships")
    .set({ role })
    .where("org_id", "=", orgId)
    .where("user_id", "=", userId)
    .execute();
}

export async function deleteMembership(db: Db, orgId: string, userId: string): Promise<void> {
  await db.deleteFrom("memberships").where("org_id", "=", orgId).where("user_id", "=", userId).execute();
}

/** The org's service accounts with their role in it, oldest membership first. */
export async function listServiceAccountMembers(
  db: Db,
  orgId: string,
): Promise<Array<{ user_id: string; name: string; role: Row<"memberships">["role"]; created_at: string }>> {
  return db
    .selectFrom("users")
    .innerJoin("memberships", (join) =>
      join.onRef("memberships.user_id", "=", "users.id").on("memberships.org_id", "=", orgId),
    )
    .select(["users.id as user_id", "users.name", "memberships.role", "memberships.created_at"])
    .where("users.service_org_id", "=", orgId)
    .orderBy("memberships.created_at")
    .orderBy("users.id")
    .execute();
}
