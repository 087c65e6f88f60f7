// Instance-wide settings: one value per key (the signing secret, its fingerprint).
import type { Db } from "../schema.js";

/**
 * Stores `value` under `key` unless a value is there already, then returns the stored one: two
 * instances starting at once agree on the first writer's.
 */
export async function insertSettingUnlessPresent(db: Db, key: string, value: string): Promise<string> {
  await db
    .insertInto("settings")
    .values({ key, value })
    .onConflict((conflict) => conflict.column("key").doNothing())
    .execute();
  const row = await db
    .selectFrom("settings")
    .select("value")
    .where("key", "=", key)
    .executeTakeFirstOrThrow();
  return row.value;
}

export async function updateSetting(db: Db, key: string, value: string): Promise<void> {
  await db.updateTable("settings").set({ value }).where("key", "=", key).execute();
}
