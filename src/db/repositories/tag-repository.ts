// Distribution tags (SPEC §13) and the bindings that track a capability. A tag row names one
// version of one capability; `latest` is never stored (capabilities.latest_version_id is).
import type { Db } from "../schema.js";

export interface TagRow {
  tag: string;
  version_id: string;
  version: string;
  /** JSON: the tagged version's declared flags (an auto-update keeps the overrides it declares). */
  flags: string;
}

/** Every tag of a capability with its version; a capability has a handful, never a scan. */
export function listTags(db: Db, capabilityId: string): Promise<TagRow[]> {
  return db
    .selectFrom("capability_tags as t")
    .innerJoin("capability_versions as v", "v.id", "t.version_id")
    .select(["t.tag", "t.version_id", "v.version", "v.flags"])
    .where("t.capability_id", "=", capabilityId)
    .orderBy("t.tag")
    .execute();
}

export function findTag(db: Db, capabilityId: string, tag: string) {
  return db
    .selectFrom("capability_tags")
    .select(["tag", "version_id"])
    .where("capability_id", "=", capabilityId)
    .where("tag", "=", tag)
    .executeTakeFirst();
}

/** Points `tag` at a version, creating it or moving it. */
export async function upsertTag(db: Db, capabilityId: string, tag: string, versionId: string, at: string) {
  await db
    .insertInto("capability_tags")
    .values({ capability_id: capabilityId, tag, version_id: versionId, created_at: at, updated_at: at })
    .onConflict((conflict) =>
      conflict.columns(["capability_id", "tag"]).doUpdateSet({ version_id: versionId, updated_at: at }),
    )
    .execute();
}

export async function deleteTag(db: Db, capabilityId: string, tag: string): Promise<boolean> {
  const result = await db
    .deleteFrom("capability_tags")
    .where("capability_id", "=", capabilityId)
    .where("tag", "=", tag)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** A yanked or deleted version loses its tags; returns the tags it had. */
export async function deleteTagsOfVersion(db: Db, versionId: string): Promise<string[]> {
  const rows = await db
    .deleteFrom("capability_tags")
    .where("version_id", "=", versionId)
    .returning("tag")
    .execute();
  return rows.map((row) => row.tag).sort();
}

export interface TrackingBindingRow {
  id: string;
  org_id: string;
  runtime_id: string;
  /** The runtime's workspace (the binding's event names it). */
  runtime_workspace_id: string;
  version_id: string;
  version: string;
  track: string;
  flags: string;
  /** The runtime's stored config JSON: its policy may forbid unsigned targets (SPEC §14). */
  runtime_config: string;
  /** JSON: the secrets the bound version declares (an auto-update may not widen them). */
  declared_secrets: string;
}

/**
 * The auto-update bindings of a capability that do not point at their target, through
 * bindings_tracking_idx: the cost is the number of bindings tracking this capability.
 * `targets` maps each track to the version id it should be on.
 */
export function listBindingsOffTarget(
  db: Db,
  capabilityId: string,
  targets: ReadonlyMap<string, string>,
): Promise<TrackingBindingRow[]> {
  if (targets.size === 0) return Promise.resolve([]);
  return db
    .selectFrom("bindings as b")
    .innerJoin("capability_versions as v", "v.id", "b.version_id")
    .innerJoin("runtimes as r", "r.id", "b.runtime_id")
    .select([
      "b.id",
      "b.org_id",
      "b.runtime_id",
      "r.workspace_id as runtime_workspace_id",
      "b.version_id",
      "v.version",
      "b.track",
      "b.flags",
      "r.config as runtime_config",
      "v.secrets as declared_secrets",
    ])
    .where("b.capability_id", "=", capabilityId)
    .where("b.auto_update", "=", 1)
    .where((eb) =>
      eb.or(
        [...targets].map(([track, versionId]) =>
          eb.and([eb("b.track", "=", track), eb("b.version_id", "!=", versionId)]),
        ),
      ),
    )
    .$narrowType<{ track: string }>()
    .execute();
}

/** Re-points bindings in one statement per chunk, bumping each one's revision. */
export async function repointBindings(
  db: Db,
  bindingIds: string[],
  versionId: string,
  flags: string,
  at: string,
): Promise<void> {
  for (let start = 0; start < bindingIds.length; start += REPOINT_CHUNK) {
    await db
      .updateTable("bindings")
      .set((eb) => ({ version_id: versionId, flags, revision: eb("revision", "+", 1), updated_at: at }))
      .where("id", "in", bindingIds.slice(start, start + REPOINT_CHUNK))
      .execute();
  }
}

/** Ids per statement: far below SQLite's and PostgreSQL's bound-parameter limits. */
const REPOINT_CHUNK = 500;

/** The installable versions of a capability (active or deprecated), for choosing a dependency. */
export function listInstallableVersions(db: Db, capabilityId: string) {
  return db
    .selectFrom("capability_versions")
    .selectAll()
    .where("capability_id", "=", capabilityId)
    .where("status", "in", ["active", "deprecated"])
    .execute();
}

/** A runtime's bindings with what each bound version requires (its manifest) and who owns it. */
export function listRuntimeRequirements(db: Db, runtimeId: string) {
  return db
    .selectFrom("bindings as b")
    .innerJoin("capability_versions as v", "v.id", "b.version_id")
    .innerJoin("capabilities as c", "c.id", "b.capability_id")
    .innerJoin("orgs as o", "o.id", "c.org_id")
    .select([
      "b.id",
      "b.capability_id",
      "b.enabled",
      "v.version",
      "v.manifest",
      "c.name",
      "c.org_id as capability_org_id",
      "o.key as owner_key",
    ])
    .where("b.runtime_id", "=", runtimeId)
    .execute();
}

/** The declared secrets (JSON) of a few versions: the targets an auto-update considers. */
export function listVersionSecrets(db: Db, versionIds: string[]): Promise<{ id: string; secrets: string }[]> {
  if (versionIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom("capability_versions")
    .select(["id", "secrets"])
    .where("id", "in", versionIds)
    .execute();
}

/** A binding as a requirement check needs it: what is bound where; the rest comes per version. */
export interface RuntimeBindingRow {
  runtime_id: string;
  capability_id: string;
  version_id: string;
  enabled: number;
}

/**
 * Every binding of a set of runtimes (the ones an auto-update moves), in one query per 500
 * runtimes through the (runtime_id, capability_id) unique index, without joins: the cost is the
 * number of bindings on those runtimes, never a scan of the others.
 */
export async function listBindingsOfRuntimes(db: Db, runtimeIds: string[]): Promise<RuntimeBindingRow[]> {
  const rows: RuntimeBindingRow[] = [];
  for (let start = 0; start < runtimeIds.length; start += REPOINT_CHUNK) {
    rows.push(
      ...(await db
        .selectFrom("bindings")
        .select(["runtime_id", "capability_id", "version_id", "enabled"])
        .where("runtime_id", "in", runtimeIds.slice(start, start + REPOINT_CHUNK))
        .execute()),
    );
  }
  return rows;
}

/** A version with what a requirement check reads of it, and its capability's owner and name. */
export interface VersionRequirementRow {
  id: string;
  version: string;
  /** JSON: the parsed capability.yaml (its `requires`). */
  manifest: string;
  capability_id: string;
  name: string;
  capability_org_id: string;
  owner_key: string;
}

/** A few distinct versions (those bound on the moving runtimes, and the targets), one query per 500. */
export async function listVersionRequirements(
  db: Db,
  versionIds: string[],
): Promise<VersionRequirementRow[]> {
  const rows: VersionRequirementRow[] = [];
  for (let start = 0; start < versionIds.length; start += REPOINT_CHUNK) {
    rows.push(
      ...(await db
        .selectFrom("capability_versions as v")
        .innerJoin("capabilities as c", "c.id", "v.capability_id")
        .innerJoin("orgs as o", "o.id", "c.org_id")
        .select([
          "v.id",
          "v.version",
          "v.manifest",
          "v.capability_id",
          "c.name",
          "c.org_id as capability_org_id",
          "o.key as owner_key",
        ])
        .where("v.id", "in", versionIds.slice(start, start + REPOINT_CHUNK))
        .execute()),
    );
  }
  return rows;
}
