// Memberships: a user's role in an org. Every method takes the org first.
import type { Db, Row } from "../schema.js";

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
