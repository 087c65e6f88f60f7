// Webhooks, their deliveries and the delivery log (SPEC §15). Claims are conditional updates, so
// of two instances reaching for the same webhook or delivery exactly one gets it; on PostgreSQL
// the candidates are also locked with SKIP LOCKED, so the other instance passes over them instead
// of waiting. SQLite has one writer at a time, which gives the same guarantee.
import type { Dialect } from "../connect.js";
import type { Db, NewRow, Row, RowUpdate } from "../schema.js";

export type WebhookRow = Row<"webhooks">;
export type DeliveryRow = Row<"webhook_deliveries">;
export type AttemptRow = Row<"webhook_delivery_attempts">;

export async function insertWebhook(db: Db, row: NewRow<"webhooks">): Promise<void> {
  await db.insertInto("webhooks").values(row).execute();
}

/** The org's webhooks, oldest first (ids are time-ordered). */
export function listWebhooks(db: Db, orgId: string): Promise<WebhookRow[]> {
  return db.selectFrom("webhooks").selectAll().where("org_id", "=", orgId).orderBy("id").execute();
}

export async function countWebhooks(db: Db, orgId: string): Promise<number> {
  const row = await db
    .selectFrom("webhooks")
    .select((eb) => eb.fn.countAll<number | string>().as("n"))
    .where("org_id", "=", orgId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export function findWebhook(db: Db, orgId: string, webhookId: string): Promise<WebhookRow | undefined> {
  return db
    .selectFrom("webhooks")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("id", "=", webhookId)
    .executeTakeFirst();
}

export async function updateWebhook(
  db: Db,
  orgId: string,
  webhookId: string,
  patch: RowUpdate<"webhooks">,
): Promise<void> {
  await db
    .updateTable("webhooks")
    .set(patch)
    .where("org_id", "=", orgId)
    .where("id", "=", webhookId)
    .execute();
}

export async function deleteWebhook(db: Db, orgId: string, webhookId: string): Promise<boolean> {
  const result = await db
    .deleteFrom("webhooks")
    .where("org_id", "=", orgId)
    .where("id", "=", webhookId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

// --- fan-out: events → deliveries ------------------------------------------------------------------

/** Active webhooks whose org has events after their cursor (one indexed join, at most `limit`). */
export async function webhooksBehindTheirLog(db: Db, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom("webhooks")
    .innerJoin("log_heads", "log_heads.chain", "webhooks.org_id")
    .select("webhooks.id")
    .where("webhooks.status", "=", "active")
    .whereRef("log_heads.event_seq", ">", "webhooks.cursor_seq")
    .limit(limit)
    .execute();
  return rows.map((row) => row.id);
}

/** The orgs that have at least one active webhook. */
export async function orgsWithActiveWebhooks(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom("webhooks")
    .select("org_id")
    .distinct()
    .where("status", "=", "active")
    .execute();
  return rows.map((row) => row.org_id);
}

/**
 * The active webhook `webhookId`, locked for this transaction; undefined when another instance
 * holds it (PostgreSQL, SKIP LOCKED), or it is gone or disabled.
 */
export function claimWebhookForFanOut(
  trx: Db,
  dialect: Dialect,
  webhookId: string,
): Promise<WebhookRow | undefined> {
  const query = trx
    .selectFrom("webhooks")
    .selectAll()
    .where("id", "=", webhookId)
    .where("status", "=", "active");
  return (dialect === "postgres" ? query.forUpdate().skipLocked() : query).executeTakeFirst();
}

/** Inserts deliveries; one that exists for the same (webhook, event) is left as it is. */
export async function insertDeliveries(trx: Db, rows: NewRow<"webhook_deliveries">[]): Promise<void> {
  for (let start = 0; start < rows.length; start += 200) {
    await trx
      .insertInto("webhook_deliveries")
      .values(rows.slice(start, start + 200))
      .onConflict((oc) => oc.columns(["webhook_id", "event_seq"]).doNothing())
      .execute();
  }
}

export async function setWebhookCursor(trx: Db, webhookId: string, seq: number): Promise<void> {
  await trx.updateTable("webhooks").set({ cursor_seq: seq }).where("id", "=", webhookId).execute();
}

// --- delivery: claim, send, record --------------------------------------------------------------

export interface DueDelivery {
  id: string;
  webhook_id: string;
  org_id: string;
}

/**
 * Pending deliveries of active webhooks that are due at `now` and held by nobody, the longest
 * waiting first.
 */
export function dueDeliveries(
  db: Db,
  now: string,
  limit: number,
  webhooks: { only?: string; except?: string[] } = {},
): Promise<DueDelivery[]> {
  let query = db
    .selectFrom("webhook_deliveries")
    .innerJoin("webhooks", "webhooks.id", "webhook_deliveries.webhook_id")
    .select(["webhook_deliveries.id", "webhook_deliveries.webhook_id", "webhooks.org_id"])
    .where("webhook_deliveries.status", "=", "pending")
    .where("webhook_deliveries.next_attempt_at", "<=", now)
    .where((eb) =>
      eb.or([
        eb("webhook_deliveries.claimed_until", "is", null),
        eb("webhook_deliveries.claimed_until", "<", now),
      ]),
    )
    .where("webhooks.status", "=", "active");
  if (webhooks.only !== undefined) query = query.where("webhook_deliveries.webhook_id", "=", webhooks.only);
  if (webhooks.except !== undefined && webhooks.except.length > 0) {
    query = query.where("webhook_deliveries.webhook_id", "not in", webhooks.except);
  }
  return query
    .orderBy("webhook_deliveries.next_attempt_at")
    .orderBy("webhook_deliveries.event_seq")
    .limit(limit)
    .execute();
}

/**
 * When the next pending, unclaimed delivery of an active webhook is due (null: none). Claimed ones
 * are left out: the attempt in flight ends (or its claim runs out) before they can be sent.
 */
export async function nextDeliveryDueAt(db: Db, now: string): Promise<string | null> {
  const row = await db
    .selectFrom("webhook_deliveries")
    .innerJoin("webhooks", "webhooks.id", "webhook_deliveries.webhook_id")
    .select((eb) => eb.fn.min("webhook_deliveries.next_attempt_at").as("at"))
    .where("webhook_deliveries.status", "=", "pending")
    .where((eb) =>
      eb.or([
        eb("webhook_deliveries.claimed_until", "is", null),
        eb("webhook_deliveries.claimed_until", "<", now),
      ]),
    )
    .where("webhooks.status", "=", "active")
    .executeTakeFirst();
  return (row?.at as string | null | undefined) ?? null;
}

/**
 * Claims those of `ids` that are still pending and unclaimed until `until`; returns the ids this
 * caller got. The condition is checked again by the update itself, so two claimers never both win.
 */
export async function claimDeliveries(
  db: Db,
  dialect: Dialect,
  ids: string[],
  now: string,
  until: string,
): Promise<string[]> {
  if (ids.length === 0) return [];
  const claimable = (query: ReturnType<typeof candidates>) =>
    query
      .where("status", "=", "pending")
      .where((eb) => eb.or([eb("claimed_until", "is", null), eb("claimed_until", "<", now)]));
  const candidates = () => db.selectFrom("webhook_deliveries").select("id").where("id", "in", ids);
  const locked = claimable(candidates());
  const rows = await db
    .updateTable("webhook_deliveries")
    .set({ claimed_until: until })
    .where("id", "in", dialect === "postgres" ? locked.forUpdate().skipLocked() : locked)
    .where("status", "=", "pending")
    .where((eb) => eb.or([eb("claimed_until", "is", null), eb("claimed_until", "<", now)]))
    .returning("id")
    .execute();
  return rows.map((row) => row.id);
}

/** Gives claims back (a stopping instance): another instance may send them at once. */
export async function releaseDeliveries(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable("webhook_deliveries")
    .set({ claimed_until: null })
    .where("id", "in", ids)
    .where("status", "=", "pending")
    .execute();
}

/**
 * Unclaims pending deliveries and makes them due no sooner than `until` (never sooner than they
 * already were): the rest of a batch whose endpoint stopped answering.
 */
export async function postponeDeliveries(db: Db, ids: string[], until: string): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable("webhook_deliveries")
    .set((eb) => ({
      claimed_until: null,
      next_attempt_at: eb
        .case()
        .when("next_attempt_at", "<", until)
        .then(until)
        .else(eb.ref("next_attempt_at"))
        .end(),
    }))
    .where("id", "in", ids)
    .where("status", "=", "pending")
    .execute();
}

export interface DeliveryToSend {
  delivery: DeliveryRow;
  webhook: WebhookRow;
  /** The event with its workspace's key (null once the workspace is gone), as the events list reads it. */
  event: Row<"events"> & { workspace_key: string | null };
  orgKey: string;
}

/** A claimed delivery with what sending it needs: the webhook, the event and the org's key. */
export async function findDeliveryToSend(db: Db, deliveryId: string): Promise<DeliveryToSend | undefined> {
  const delivery = await db
    .selectFrom("webhook_deliveries")
    .selectAll()
    .where("id", "=", deliveryId)
    .executeTakeFirst();
  if (!delivery) return undefined;
  const webhook = await db
    .selectFrom("webhooks")
    .selectAll()
    .where("id", "=", delivery.webhook_id)
    .executeTakeFirst();
  const event = await db
    .selectFrom("events")
    .leftJoin("workspaces", "workspaces.id", "events.workspace_id")
    .selectAll("events")
    .select("workspaces.key as workspace_key")
    .where("events.org_id", "=", delivery.org_id)
    .where("events.seq", "=", delivery.event_seq)
    .executeTakeFirst();
  const org = await db.selectFrom("orgs").select("key").where("id", "=", delivery.org_id).executeTakeFirst();
  if (!webhook || !event || !org) return undefined;
  return { delivery, webhook, event, orgKey: org.key };
}

export async function insertAttempt(db: Db, row: NewRow<"webhook_delivery_attempts">): Promise<void> {
  await db.insertInto("webhook_delivery_attempts").values(row).execute();
}

export async function updateDelivery(
  db: Db,
  deliveryId: string,
  patch: RowUpdate<"webhook_deliveries">,
): Promise<void> {
  await db.updateTable("webhook_deliveries").set(patch).where("id", "=", deliveryId).execute();
}

/** Locks the webhook row for the rest of the transaction (PostgreSQL), to update its failure state. */
export function lockWebhook(trx: Db, dialect: Dialect, webhookId: string): Promise<WebhookRow | undefined> {
  const query = trx.selectFrom("webhooks").selectAll().where("id", "=", webhookId);
  return (dialect === "postgres" ? query.forUpdate() : query).executeTakeFirst();
}

// --- the delivery log -------------------------------------------------------------------------

/** The webhook's deliveries, newest first, after the keyset cursor `beforeId`. */
export function listDeliveries(
  db: Db,
  webhookId: string,
  beforeId: string | null,
  limit: number,
  status?: string,
): Promise<DeliveryRow[]> {
  let query = db.selectFrom("webhook_deliveries").selectAll().where("webhook_id", "=", webhookId);
  if (beforeId !== null) query = query.where("id", "<", beforeId);
  if (status !== undefined) query = query.where("status", "=", status as DeliveryRow["status"]);
  return query.orderBy("id", "desc").limit(limit).execute();
}

export function findDeliveryById(db: Db, deliveryId: string): Promise<DeliveryRow | undefined> {
  return db.selectFrom("webhook_deliveries").selectAll().where("id", "=", deliveryId).executeTakeFirst();
}

export function findDelivery(
  db: Db,
  webhookId: string,
  deliveryId: string,
): Promise<DeliveryRow | undefined> {
  return db
    .selectFrom("webhook_deliveries")
    .selectAll()
    .where("webhook_id", "=", webhookId)
    .where("id", "=", deliveryId)
    .executeTakeFirst();
}

/** The attempts of these deliveries, oldest first, at most `perDelivery` (the latest) each. */
export async function listAttempts(
  db: Db,
  deliveryIds: string[],
  perDelivery: number,
): Promise<AttemptRow[]> {
  if (deliveryIds.length === 0) return [];
  const rows = await db
    .selectFrom("webhook_delivery_attempts")
    .selectAll()
    .where("delivery_id", "in", deliveryIds)
    .orderBy("delivery_id")
    .orderBy("id", "desc")
    .execute();
  const kept = new Map<string, AttemptRow[]>();
  for (const row of rows) {
    const list = kept.get(row.delivery_id) ?? [];
    if (list.length < perDelivery) list.push(row);
    kept.set(row.delivery_id, list);
  }
  return [...kept.values()].flatMap((list) => list.reverse());
}

/** A webhook's sealed signing secret and what its associated data is made of. */
export type WebhookSecretRow = Pick<WebhookRow, "id" | "org_id" | "secret_key_id" | "secret_ciphertext">;

/** Up to `limit` webhooks whose signing secret is not under `keyId`, in id order after `afterId`. */
export function webhookSecretsNotUnderKey(
  db: Db,
  keyId: string,
  afterId: string,
  limit: number,
): Promise<WebhookSecretRow[]> {
  return db
    .selectFrom("webhooks")
    .select(["id", "org_id", "secret_key_id", "secret_ciphertext"])
    .where("secret_key_id", "!=", keyId)
    .where("id", ">", afterId)
    .orderBy("id")
    .limit(limit)
    .execute();
}

/** Replaces a signing secret's ciphertext if it still holds `previous`; false when it changed meanwhile. */
export async function replaceWebhookSecretCiphertext(
  db: Db,
  id: string,
  previous: string,
  keyId: string,
  ciphertext: string,
): Promise<boolean> {
  const result = await db
    .updateTable("webhooks")
    .set({ secret_key_id: keyId, secret_ciphertext: ciphertext })
    .where("id", "=", id)
    .where("secret_ciphertext", "=", previous)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
