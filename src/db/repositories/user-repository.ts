// Users: people, the instance admins among them, and service accounts (users.service_org_id).
import type { Db, NewRow, Row } from "../schema.js";

export async function findUserById(db: Db, userId: string): Promise<Row<"users"> | undefined> {
  return db.selectFrom("users").selectAll().where("id", "=", userId).executeTakeFirst();
}

/** Whether any user exists: bootstrap runs only against an empty instance. */
export async function anyUserExists(db: Db): Promise<boolean> {
  return (await db.selectFrom("users").select("id").limit(1).executeTakeFirst()) !== undefined;
}

export async function insertUser(db: Db, user: NewRow<"users">): Promise<void> {
  await db.insertInto("users").values(user).execute();
}

/** Inserts the user unless one with the same email exists, then returns whichever row has that email. */
export async function insertUserUnlessEmailExists(db: Db, user: NewRow<"users"> & { email: string }): Promise<Row<"users">> {
  await db
    .insertInto("users")
    .values(user)
    .onConflict((oc) => oc.column("email").doNothing())
    .execute();
  return db.selectFrom("users").selectAll().where("email", "=", user.email).executeTakeFirstOrThrow();
}
