// Read-only queries of `capstan admin verify` and of backups (src/services/integrity-service.ts,
// src/services/backup-service.ts): what names blobs, and references that point at nothing live.
// Instance-wide on purpose: the instance administrator checks the whole data directory.
import { sql } from "kysely";
import type { Dialect } from "../connect.js";
import type { Db } from "../schema.js";

/** A version's blobs and enough of its names to report a problem. */
export interface VersionBlobRefs {
  id: string;
  org_key: string;
  capability: string;
  version: string;
  artifact_sha256: string;
  /** JSON array of `{path, sha256, …}`. */
  file_manifest: string;
}

/** Up to `limit` versions that are not deleted, in id order after `afterId`. */
export function listLiveVersionRefsPage(db: Db, afterId: string, limit: number): Promise<VersionBlobRefs[]> {
  return db
    .selectFrom("capability_versions as v")
    .innerJoin("capabilities as c", "c.id", "v.capability_id")
    .innerJoin("orgs as o", "o.id", "v.org_id")
    .select([
      "v.id",
      "o.key as org_key",
      "c.name as capability",
      "v.version",
      "v.artifact_sha256",
      "v.file_manifest",
    ])
    .where("v.id", ">", afterId)
    .where("v.status", "!=", "deleted")
    .orderBy("v.id")
    .limit(limit)
    .execute();
}

export interface DanglingReference {
  /** The row that points: a binding's id, or a capability id for tags and "latest". */
  id: string;
  org_key: string;
  capability: string | null;
  /** The version id it points at. */
  version_id: string;
  /** The version's status, null when no such version exists (or it is another capability's). */
  status: string | null;
  /** The binding's runtime, or the tag's name. */
  detail: string;
}

/**
 * Bindings whose version is deleted, missing, or of another capability than the binding's. The
 * foreign keys prevent a missing one on a healthy database; a restored or hand-edited one may not.
 */
export async function listBindingsToDeadVersions(db: Db, limit: number): Promise<DanglingReference[]> {
  const rows = await db
    .selectFrom("bindings as b")
    .leftJoin("capability_versions as v", (join) =>
      join.onRef("v.id", "=", "b.version_id").onRef("v.capability_id", "=", "b.capability_id"),
    )
    .leftJoin("capabilities as c", "c.id", "b.capability_id")
    .leftJoin("orgs as o", "o.id", "b.org_id")
    .select(["b.id", "o.key as org_key", "c.name as capability", "b.version_id", "v.status", "b.runtime_id"])
    .where((eb) => eb.or([eb("v.id", "is", null), eb("v.status", "=", "deleted")]))
    .orderBy("b.id")
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    org_key: row.org_key ?? "?",
    capability: row.capability,
    version_id: row.version_id,
    status: row.status,
    detail: row.runtime_id,
  }));
}

/** Tags whose version is deleted, missing, or of another capability. */
export async function listTagsToDeadVersions(db: Db, limit: number): Promise<DanglingReference[]> {
  const rows = await db
    .selectFrom("capability_tags as t")
    .leftJoin("capability_versions as v", (join) =>
      join.onRef("v.id", "=", "t.version_id").onRef("v.capability_id", "=", "t.capability_id"),
    )
    .leftJoin("capabilities as c", "c.id", "t.capability_id")
    .leftJoin("orgs as o", "o.id", "c.org_id")
    .select([
      "t.capability_id",
      "o.key as org_key",
      "c.name as capability",
      "t.version_id",
      "v.status",
      "t.tag",
    ])
    .where((eb) => eb.or([eb("v.id", "is", null), eb("v.status", "=", "deleted")]))
    .orderBy("t.capability_id")
    .orderBy("t.tag")
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    id: row.capability_id,
    org_key: row.org_key ?? "?",
    capability: row.capability,
    version_id: row.version_id,
    status: row.status,
    detail: row.tag,
  }));
}

/** Capabilities whose stored "latest" is a version that is not released (or not theirs). */
export async function listCapabilitiesWithDeadLatest(db: Db, limit: number): Promise<DanglingReference[]> {
  const rows = await db
    .selectFrom("capabilities as c")
    .leftJoin("capability_versions as v", (join) =>
      join.onRef("v.id", "=", "c.latest_version_id").onRef("v.capability_id", "=", "c.id"),
    )
    .innerJoin("orgs as o", "o.id", "c.org_id")
    .select(["c.id", "o.key as org_key", "c.name as capability", "c.latest_version_id", "v.status"])
    .where("c.latest_version_id", "is not", null)
    .where((eb) => eb.or([eb("v.id", "is", null), eb("v.status", "not in", ["active", "deprecated"])]))
    .orderBy("c.id")
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    org_key: row.org_key,
    capability: row.capability,
    version_id: row.latest_version_id ?? "",
    status: row.status,
    detail: "latest",
  }));
}

/** SQLite's own check of its file and of every foreign key; [] when both hold (PostgreSQL: always). */
export async function storageEngineProblems(db: Db, dialect: Dialect, limit: number): Promise<string[]> {
  if (dialect !== "sqlite") return [];
  const problems: string[] = [];
  const integrity = await sql<Record<string, string>>`pragma quick_check(${sql.lit(limit)})`.execute(db);
  for (const row of integrity.rows) {
    const message = Object.values(row)[0];
    if (message !== "ok") problems.push(`quick_check: ${message}`);
  }
  const keys = await sql<{
    table: string;
    rowid: number | null;
    parent: string;
  }>`pragma foreign_key_check`.execute(db);
  for (const row of keys.rows.slice(0, limit)) {
    problems.push(`${row.table} row ${row.rowid ?? "?"} points at a missing ${row.parent} row`);
  }
  return problems;
}

/** Every `settings` row (a handful: the signing secret, the secrets key checks). */
export function listSettings(db: Db): Promise<Array<{ key: string; value: string }>> {
  return db.selectFrom("settings").select(["key", "value"]).orderBy("key").execute();
}

/** The newest migration this database has applied, null when it has none (kysely's own table). */
export async function lastAppliedMigration(db: Db): Promise<string | null> {
  try {
    const { rows } = await sql<{
      name: string;
    }>`select name from kysely_migration order by name desc limit 1`.execute(db);
    return rows[0]?.name ?? null;
  } catch {
    return null;
  }
}

/** An audit chain (an org's id) and its org's key while the org exists. */
export interface AuditChainRef {
  chain: string;
  org_key: string | null;
}

/**
 * Up to `limit` org audit chains after `afterChain`, in order: every org, every chain with a head,
 * and every org id audit records name (so a chain whose org or head row is gone is still checked).
 * The instance's own chain ("") is not among them.
 */
export function listAuditChainsPage(db: Db, afterChain: string, limit: number): Promise<AuditChainRef[]> {
  const chains = db
    .selectFrom("orgs")
    .select("id as chain")
    .union(db.selectFrom("log_heads").select("chain").where("chain", "!=", ""))
    .union(
      db
        .selectFrom("audit_events")
        .select((eb) => eb.fn.coalesce("org_id", sql<string>`''`).as("chain"))
        .where("org_id", "is not", null),
    );
  return db
    .selectFrom(chains.as("c"))
    .leftJoin("orgs as o", "o.id", "c.chain")
    .select(["c.chain", "o.key as org_key"])
    .where("c.chain", ">", afterChain)
    .orderBy("c.chain")
    .limit(limit)
    .execute();
}
