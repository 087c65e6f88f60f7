import type { Kysely } from "kysely";
import { type ChainedAuditRecord, chainHash, GENESIS_HASH } from "../../domain/audit-chain.js";

// Events and the tamper-evident audit log (SPEC §15).
//
// `log_heads` holds, per chain, the last event `seq` and the last audit record's `chain_seq` and
// hash. A chain is an org's id, or "" for instance-level records (users, bootstrap) that belong to
// no org. A writing transaction updates its chains' heads as its last statements, so on
// PostgreSQL the head row lock orders concurrent writers of one org and a rolled-back
// transaction gives its numbers back: `seq` has no gaps.
//
// Existing audit records are chained here, oldest first (ids are UUIDv7, so id order is time
// order); events start empty, since nothing recorded them before.
const INSTANCE_CHAIN = "";

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("log_heads")
    .addColumn("chain", "text", (c) => c.primaryKey())
    .addColumn("event_seq", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("audit_seq", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("audit_hash", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("events")
    .addColumn("org_id", "text", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("seq", "bigint", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull().unique())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("occurred_at", "text", (c) => c.notNull())
    /** JSON `{user_id, api_key_id}`; both null for the system (auto-update). */
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("workspace_id", "text")
    /** JSON `{kind, id, name?}`. */
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("events_pk", ["org_id", "seq"])
    .execute();

  await db.schema.alterTable("audit_events").addColumn("chain_seq", "bigint").execute();
  await db.schema.alterTable("audit_events").addColumn("hash", "text").execute();

  const heads = new Map<string, { seq: number; hash: string }>();
  const pageSize = 1000;
  let after = "";
  for (;;) {
    const rows = await db
      .selectFrom("audit_events")
      .selectAll()
      .where("id", ">", after)
      .orderBy("id")
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      const chain = row.org_id ?? INSTANCE_CHAIN;
      const head = heads.get(chain) ?? { seq: 0, hash: GENESIS_HASH };
      const record: ChainedAuditRecord = { ...(row as ChainedAuditRecord), chain_seq: head.seq + 1 };
      const hash = chainHash(head.hash, record);
      await db
        .updateTable("audit_events")
        .set({ chain_seq: record.chain_seq, hash })
        .where("id", "=", row.id)
        .execute();
      heads.set(chain, { seq: record.chain_seq, hash });
    }
    if (rows.length < pageSize) break;
    after = rows[rows.length - 1].id;
  }
  for (const [chain, head] of heads) {
    await db
      .insertInto("log_heads")
      .values({ chain, event_seq: 0, audit_seq: head.seq, audit_hash: head.hash })
      .execute();
  }

  await db.schema
    .createIndex("audit_events_chain_idx")
    .on("audit_events")
    .columns(["org_id", "chain_seq"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("audit_events_chain_idx").execute();
  await db.schema.alterTable("audit_events").dropColumn("hash").execute();
  await db.schema.alterTable("audit_events").dropColumn("chain_seq").execute();
  await db.schema.dropTable("events").execute();
  await db.schema.dropTable("log_heads").execute();
}
