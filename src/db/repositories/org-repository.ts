// Organizations.
import type { Db } from "./binding-repository.js";

/** The id and key of an org known to exist (a runtime's or a caller's, read in the same transaction). */
export async function findOrgRef(db: Db, orgId: string): Promise<{ id: string; key: string }> {
  return db.selectFrom("orgs").select(["id", "key"]).where("id", "=", orgId).executeTakeFirstOrThrow();
}
