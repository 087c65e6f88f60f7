import type { Kysely } from "kysely";

// Webhooks (SPEC §15). A webhook follows its org's event log with `cursor_seq` (the last event
// it has turned into deliveries); a delivery is one event for one webhook, retried until it
// succeeds or its day of retries runs out, and every attempt leaves a row in the delivery log.
// The signing secret is stored encrypted under the secrets keyring (as workspace secrets are).

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("webhooks")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("org_id", "text", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("url", "text", (c) => c.notNull())
    /** JSON array of patterns: an event type, `prefix.*` or `*`. */
    .addColumn("events", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("secret_key_id", "text", (c) => c.notNull())
    .addColumn("secret_ciphertext", "text", (c) => c.notNull())
    /** `active` or `disabled`. */
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("disabled_reason", "text")
    /** The first failed attempt since the last success; null while the endpoint answers. */
    .addColumn("failing_since", "text")
    .addColumn("cursor_seq", "bigint", (c) => c.notNull())
    .addColumn("created_by", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("webhooks_org_idx").on("webhooks").columns(["org_id", "id"]).execute();
  await db.schema.createIndex("webhooks_status_idx").on("webhooks").columns(["status", "org_id"]).execute();

  await db.schema
    .createTable("webhook_deliveries")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id").onDelete("cascade"))
    .addColumn("org_id", "text", (c) => c.notNull())
    .addColumn("event_seq", "bigint", (c) => c.notNull())
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("event_type", "text", (c) => c.notNull())
    /** `pending`, `succeeded` or `failed` (retries ran out). */
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "text")
    /** The first attempt of the current schedule: retries stop 24 h after it. */
    .addColumn("first_attempt_at", "text")
    /** An instance sending it holds it until then; another may take it over afterwards. */
    .addColumn("claimed_until", "text")
    /** `manual` after a redelivery request, until that attempt is made. */
    .addColumn("next_trigger", "text", (c) => c.notNull().defaultTo("automatic"))
    .addColumn("last_attempt_at", "text")
    .addColumn("last_status_code", "integer")
    .addColumn("last_duration_ms", "integer")
    .addColumn("last_error", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("webhook_deliveries_event_unique", ["webhook_id", "event_seq"])
    .execute();
  await db.schema
    .createIndex("webhook_deliveries_due_idx")
    .on("webhook_deliveries")
    .columns(["status", "next_attempt_at"])
    .execute();
  await db.schema
    .createIndex("webhook_deliveries_webhook_idx")
    .on("webhook_deliveries")
    .columns(["webhook_id", "id"])
    .execute();

  await db.schema
    .createTable("webhook_delivery_attempts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("delivery_id", "text", (c) =>
      c.notNull().references("webhook_deliveries.id").onDelete("cascade"),
    )
    .addColumn("webhook_id", "text", (c) => c.notNull())
    .addColumn("attempt", "integer", (c) => c.notNull())
    /** `automatic` or `manual` (a redelivery someone asked for). */
    .addColumn("trigger", "text", (c) => c.notNull())
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    .addColumn("status_code", "integer")
    /** The first 1 KiB of the response body. */
    .addColumn("response", "text")
    .addColumn("error", "text")
    .execute();
  await db.schema
    .createIndex("webhook_delivery_attempts_delivery_idx")
    .on("webhook_delivery_attempts")
    .columns(["delivery_id", "id"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("webhook_delivery_attempts").execute();
  await db.schema.dropTable("webhook_deliveries").execute();
  await db.schema.dropTable("webhooks").execute();
}
