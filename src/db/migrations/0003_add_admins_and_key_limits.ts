import { type Kysely, sql } from "kysely";
import { newId } from "../../lib/ids.js";

// Instance admins, service accounts and org-limited keys (SPEC §3), and the clean-up of the keys an
// org owner could mint for any member through `POST /org/{org}/members/{user_id}/api-keys`. That
// route let anyone add a victim to an org of their own and mint a key that acted as the victim in
// every org the victim belongs to, so every key it minted for someone else is revoked here, along
// with every key and runtime token later minted with such a key (a holder would have made a spare).
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("users")
    .addColumn("is_admin", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable("users")
    .addColumn("service_org_id", "text", (c) => c.references("orgs.id").onDelete("cascade"))
    .execute();
  await db.schema
    .alterTable("api_keys")
    .addColumn("org_id", "text", (c) => c.references("orgs.id").onDelete("cascade"))
    .execute();

  await makeBootstrapUserAdmin(db);
  // Runtime tokens only ever read their runtime's org: record it as their limit.
  await db
    .updateTable("api_keys")
    .set({
      org_id: sql`(select runtimes.org_id from runtimes where runtimes.id = api_keys.runtime_id)`,
    })
    .where("runtime_id", "is not", null)
    .execute();
  await revokeKeysMintedForOthers(db, new Date().toISOString());
}

/** The bootstrap user (`admin@localhost`, SPEC §1) is the first admin; failing that, the oldest user. */
// biome-ignore lint/suspicious/noExplicitAny: see up()
async function makeBootstrapUserAdmin(db: Kysely<any>): Promise<void> {
  const bootstrap = await db
    .selectFrom("users")
    .select("id")
    .where("email", "=", "admin@localhost")
    .executeTakeFirst();
  const first =
    bootstrap ?? (await db.selectFrom("users").select("id").orderBy("id").limit(1).executeTakeFirst());
  if (first) await db.updateTable("users").set({ is_admin: 1 }).where("id", "=", first.id).execute();
}

interface MintEvent {
  key_id: string;
  action: string;
  org_id: string | null;
  actor_user_id: string | null;
  api_key_id: string | null;
  user_id: string;
  name: string;
  prefix: string;
  revoked_at: string | null;
}

/**
 * The old route wrote `api_key.created` with the org's id; a key minted for oneself
 * (`POST /user/api-keys`) has no org on that event. Keys an owner minted for themselves through the
 * old route are kept: they act as no one else.
 */
// biome-ignore lint/suspicious/noExplicitAny: see up()
async function revokeKeysMintedForOthers(db: Kysely<any>, at: string): Promise<void> {
  const events: MintEvent[] = await db
    .selectFrom("audit_events as e")
    .innerJoin("api_keys as k", "k.id", "e.target_id")
    .select([
      "k.id as key_id",
      "e.org_id",
      "e.actor_user_id",
      "e.api_key_id",
      "e.action",
      "k.user_id",
      "k.name",
      "k.prefix",
      "k.revoked_at",
    ])
    .where("e.action", "in", ["api_key.created", "runtime.token.created"])
    .where("e.target_type", "=", "api_key")
    .execute();

  const doomed = new Map<string, { event: MintEvent; reason: string }>();
  for (const event of events) {
    const forSomeoneElse = event.actor_user_id === null || event.actor_user_id !== event.user_id;
    if (event.action === "api_key.created" && event.org_id !== null && forSomeoneElse) {
      doomed.set(event.key_id, { event, reason: "minted for another user by an org owner" });
    }
  }
  // Whatever such a key minted, and whatever those minted in turn.
  for (let grew = doomed.size > 0; grew; ) {
    grew = false;
    for (const event of events) {
      if (doomed.has(event.key_id) || event.api_key_id === null || !doomed.has(event.api_key_id)) continue;
      doomed.set(event.key_id, { event, reason: "minted with a key that was minted for another user" });
      grew = true;
    }
  }

  for (const { event, reason } of doomed.values()) {
    if (event.revoked_at !== null) continue;
    await db
      .updateTable("api_keys")
      .set({ revoked_at: at })
      .where("id", "=", event.key_id)
      .where("revoked_at", "is", null)
      .execute();
    await db
      .insertInto("audit_events")
      .values({
        id: newId(),
        org_id: event.org_id,
        at,
        actor_user_id: null,
        api_key_id: null,
        action: "api_key.revoked",
        target_type: "api_key",
        target_id: event.key_id,
        request_id: null,
        data: JSON.stringify({
          user_id: event.user_id,
          name: event.name,
          prefix: event.prefix,
          reason,
        }),
      })
      .execute();
  }
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("api_keys").dropColumn("org_id").execute();
  await db.schema.alterTable("users").dropColumn("service_org_id").execute();
  await db.schema.alterTable("users").dropColumn("is_admin").execute();
}
