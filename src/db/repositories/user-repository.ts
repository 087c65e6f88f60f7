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
export async function insertUserUnlessEmailExists(
  db: Db,
  user: NewRow<"users"> & { email: string },
): Promise<Row<"users">> {
  await db
    .insertInto("users")
    .values(user)
    .onConflict((oc) => oc.column("email").doNothing())
    .execute();
  return db.selectFrom("users").selectAll().where("email", "=", user.email).executeTakeFirstOrThrow();
}

/** The user's id and the org it is a service account of (null for a person); undefined when unknown. */
export async function findUserServiceOrg(
  db: Db,
  userId: string,
): Promise<Pick<Row<"users">, "id" | "service_org_id"> | undefined> {
  return db.selectFrom("users").select(["id", "service_org_id"]).where("id", "=", userId).executeTakeFirst();
}

/** The id of `userId` when it is a service account of the org; undefined otherwise. */
export async function findServiceAccountId(
  db: Db,
  orgId: string,
  userId: string,
): Promise<string | undefined> {
  const account = await db
    .selectFrom("users")
    .select("id")
    .where("id", "=", userId)
    .where("service_org_id", "=", orgId)
    .executeTakeFirst();
  return account?.id;
}

/** Up to `limit` users by id (UUIDv7: oldest first), after `afterId` when given. */
export async function listUsersPage(db: Db, afterId: string | null, limit: number): Promise<Row<"users">[]> {
  let query = db.selectFrom("users").selectAll();
  if (afterId !== null) query = query.where("id", ">", afterId);
  return query.orderBy("id").limit(limit).execute();
}

/**
 * Locks every admin's row until the transaction ends (PostgreSQL `FOR UPDATE`), so admin-count
 * checks run one at a time. Callers skip it on SQLite, whose transactions are already serial.
 */
export async function lockAdminRows(trx: Db): Promise<void> {
  await trx.selectFrom("users").select("id").where("is_admin", "=", 1).forUpdate().execute();
}

export async function countAdmins(db: Db): Promise<number> {
  const { admins } = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<number>().as("admins"))
    .where("is_admin", "=", 1)
    .executeTakeFirstOrThrow();
  return Number(admins);
}

/** Sets the user's admin flag and returns its row as it now is. */
export async function setUserAdminFlag(db: Db, userId: string, isAdmin: boolean): Promise<Row<"users">> {
  return db
    .updateTable("users")
    .set({ is_admin: isAdmin ? 1 : 0 })
    .where("id", "=", userId)
    .returningAll()
    .executeTakeFirstOrThrow();
}
