// Bindings and what they point at. Every read of a runtime's bindings is one indexed query
// (bindings → capability_versions → capabilities → orgs): no per-item queries, no version scans.
import { alreadyExists, notFound } from "../../errors.js";
import { isForeignKeyViolation, isUniqueViolation } from "../driver-errors.js";
import type { Db, NewRow, Row } from "../schema.js";

/** A binding with its bound version and capability: everything the list and the resolved set show. */
export interface BindingJoinedRow {
  id: string;
  runtime_org_id: string;
  capability_id: string;
  version_id: string;
  enabled: number;
  /** JSON: persisted overrides. */
  flags: string;
  revision: number;
  created_at: string;
  updated_at: string;
  version: string;
  status: Row<"capability_versions">["status"];
  description: string | null;
  component_counts: string;
  /** JSON: the bound version's declared flags. */
  declared_flags: string;
  /** JSON: the binding's secret mapping (explicit entries only). */
  secrets: string;
  /** JSON: the bound version's declared secrets. */
  declared_secrets: string;
  artifact_sha256: string;
  runtime_digest: string;
  capability_name: string;
  capability_org_id: string;
  is_public: number;
  latest_version: string | null;
  owner_key: string;
  track: string | null;
  auto_update: number;
  /** The version the binding's tag points at; null when it tracks latest or nothing. */
  tag_version: string | null;
}

export type VersionRow = Row<"capability_versions">;

export interface CapabilityRef {
  id: string;
  org_id: string;
  name: string;
  is_public: number;
  latest_version_id: string | null;
  owner_key: string;
}

/** The runtime's bindings (or one of them), joined with their versions and capabilities. */
export async function listJoinedBindings(
  db: Db,
  runtimeId: string,
  bindingId?: string,
): Promise<BindingJoinedRow[]> {
  let query = joinedBindings(db).where("b.runtime_id", "=", runtimeId);
  if (bindingId !== undefined) query = query.where("b.id", "=", bindingId);
  return query.execute();
}

function joinedBindings(db: Db) {
  return (
    db
      .selectFrom("bindings as b")
      .innerJoin("capability_versions as v", "v.id", "b.version_id")
      .innerJoin("capabilities as c", "c.id", "b.capability_id")
      .innerJoin("orgs as o", "o.id", "c.org_id")
      // At most one tag row per binding (primary key), so the list stays one indexed query.
      .leftJoin("capability_tags as t", (join) =>
        join.onRef("t.capability_id", "=", "b.capability_id").onRef("t.tag", "=", "b.track"),
      )
      .leftJoin("capability_versions as tv", "tv.id", "t.version_id")
      .select([
        "b.id",
        "b.org_id as runtime_org_id",
        "b.capability_id",
        "b.version_id",
        "b.enabled",
        "b.flags",
        "b.revision",
        "b.created_at",
        "b.updated_at",
        "v.version",
        "v.status",
        "v.description",
        "v.component_counts",
        "v.flags as declared_flags",
        "b.secrets",
        "v.secrets as declared_secrets",
        "v.artifact_sha256",
        "v.runtime_digest",
        "c.name as capability_name",
        "c.org_id as capability_org_id",
        "c.is_public",
        "c.latest_version",
        "o.key as owner_key",
        "b.track",
        "b.auto_update",
        "tv.version as tag_version",
      ])
  );
}

/**
 * listJoinedBindings for many runtimes in one query (the runtime list's `in_sync` must not query
 * per runtime), grouped by runtime; a runtime without bindings maps to [].
 */
export async function listJoinedBindingsOfRuntimes(
  db: Db,
  runtimeIds: readonly string[],
): Promise<Map<string, BindingJoinedRow[]>> {
  const byRuntime = new Map<string, BindingJoinedRow[]>(runtimeIds.map((id) => [id, []]));
  if (runtimeIds.length === 0) return byRuntime;
  const rows = await joinedBindings(db)
    .select("b.runtime_id")
    .where("b.runtime_id", "in", runtimeIds)
    .execute();
  for (const { runtime_id, ...row } of rows) byRuntime.get(runtime_id)?.push(row);
  return byRuntime;
}

export async function findBinding(
  db: Db,
  runtimeId: string,
  bindingId: string,
): Promise<Row<"bindings"> | undefined> {
  return db
    .selectFrom("bindings")
    .selectAll()
    .where("id", "=", bindingId)
    .where("runtime_id", "=", runtimeId)
    .executeTakeFirst();
}

/** A capability by its owner org's key and name, whatever its visibility (the caller decides). */
export async function findCapabilityByOwner(
  db: Db,
  ownerKey: string,
  name: string,
): Promise<CapabilityRef | undefined> {
  return db
    .selectFrom("capabilities as c")
    .innerJoin("orgs as o", "o.id", "c.org_id")
    .select(["c.id", "c.org_id", "c.name", "c.is_public", "c.latest_version_id", "o.key as owner_key"])
    .where("o.key", "=", ownerKey)
    .where("c.name", "=", name)
    .executeTakeFirst();
}

export async function findCapabilityById(db: Db, capabilityId: string): Promise<CapabilityRef | undefined> {
  return db
    .selectFrom("capabilities as c")
    .innerJoin("orgs as o", "o.id", "c.org_id")
    .select(["c.id", "c.org_id", "c.name", "c.is_public", "c.latest_version_id", "o.key as owner_key"])
    .where("c.id", "=", capabilityId)
    .executeTakeFirst();
}

export async function findVersionById(db: Db, versionId: string): Promise<VersionRow | undefined> {
  return db.selectFrom("capability_versions").selectAll().where("id", "=", versionId).executeTakeFirst();
}

/** Inserts a binding; the runtime already binding that capability is 409 already_exists_error. */
export async function insertBinding(db: Db, binding: NewRow<"bindings">, displayName: string): Promise<void> {
  try {
    await db.insertInto("bindings").values(binding).execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw alreadyExists(`The runtime already binds '${displayName}'`);
    // The runtime was deleted after this transaction read it (PostgreSQL reads committed rows).
    if (isForeignKeyViolation(error)) throw notFound("Runtime");
    throw error;
  }
}

export type BindingChanges = Partial<
  Pick<Row<"bindings">, "version_id" | "enabled" | "flags" | "secrets" | "track" | "auto_update">
>;

/**
 * Applies `changes` only if the binding is still at `revision` (bumping it by one); false when
 * another writer got there first. The check and the write are one statement, so no update is lost.
 */
export async function updateBindingAtRevision(
  db: Db,
  bindingId: string,
  revision: number,
  changes: BindingChanges,
  at: string,
): Promise<boolean> {
  const result = await db
    .updateTable("bindings")
    .set({ ...changes, revision: revision + 1, updated_at: at })
    .where("id", "=", bindingId)
    .where("revision", "=", revision)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteBindingAtRevision(db: Db, bindingId: string, revision: number): Promise<boolean> {
  const result = await db
    .deleteFrom("bindings")
    .where("id", "=", bindingId)
    .where("revision", "=", revision)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/** Unconditional: reconciliation deletes what it read in the same transaction. */
export async function deleteBinding(db: Db, bindingId: string): Promise<void> {
  await db.deleteFrom("bindings").where("id", "=", bindingId).execute();
}
