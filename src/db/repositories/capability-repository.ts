// Capabilities and their versions (SPEC §5). Every lookup starts from the tenant: an org id, or a
// capability id that was itself found through one. Driver errors become domain errors here.
import { type Expression, type SqlBool, sql, type Transaction } from "kysely";
import { AppError } from "../../errors.js";
import type { Dialect } from "../connect.js";
import { isUniqueViolation } from "../driver-errors.js";
import type { Database, Db, NewRow, Row } from "../schema.js";

export type CapabilityRow = Row<"capabilities">;
export type VersionRow = Row<"capability_versions">;
export type VersionStatusValue = VersionRow["status"];

/** A version that can be "latest" (SPEC §5): active or deprecated. */
export const RELEASED_STATUSES: VersionStatusValue[] = ["active", "deprecated"];

export function findCapability(db: Db, orgId: string, name: string): Promise<CapabilityRow | undefined> {
  return db
    .selectFrom("capabilities")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("name", "=", name)
    .executeTakeFirst();
}

/** A capability by its owner org's key; with `publicOnly`, only when it is public. */
export function findCapabilityByOrgKey(
  db: Db,
  orgKey: string,
  name: string,
  options: { publicOnly: boolean },
): Promise<CapabilityRow | undefined> {
  return db
    .selectFrom("capabilities")
    .innerJoin("orgs", "orgs.id", "capabilities.org_id")
    .selectAll("capabilities")
    .where("orgs.key", "=", orgKey)
    .where("capabilities.name", "=", name)
    .$if(options.publicOnly, (qb) => qb.where("capabilities.is_public", "=", 1))
    .executeTakeFirst();
}

/**
 * The capability row for a publish, created when the name is new, and locked on PostgreSQL so that
 * concurrent publishes of one name take turns (SQLite already runs one writer at a time).
 */
export async function lockCapabilityForPublish(
  trx: Transaction<Database>,
  dialect: Dialect,
  values: NewRow<"capabilities">,
): Promise<CapabilityRow> {
  await trx
    .insertInto("capabilities")
    .values(values)
    .onConflict((conflict) => conflict.columns(["org_id", "name"]).doNothing())
    .execute();
  const query = trx
    .selectFrom("capabilities")
    .selectAll()
    .where("org_id", "=", values.org_id)
    .where("name", "=", values.name);
  return (dialect === "postgres" ? query.forUpdate() : query).executeTakeFirstOrThrow();
}

/** Re-reads a capability inside a transaction, locked on PostgreSQL (see lockCapabilityForPublish). */
export function lockCapability(trx: Transaction<Database>, dialect: Dialect, capabilityId: string) {
  const query = trx.selectFrom("capabilities").selectAll().where("id", "=", capabilityId);
  return (dialect === "postgres" ? query.forUpdate() : query).executeTakeFirst();
}

/**
 * Holds a capability against version deletes, status changes and publishes (which lock it FOR
 * UPDATE) until the transaction ends, and re-reads its latest version. Only PostgreSQL needs it:
 * SQLite runs write transactions one at a time. Undefined when the capability is gone.
 */
export async function holdCapability(
  trx: Db,
  dialect: Dialect,
  capabilityId: string,
): Promise<{ latest_version_id: string | null } | undefined> {
  const query = trx.selectFrom("capabilities").select("latest_version_id").where("id", "=", capabilityId);
  return (dialect === "postgres" ? query.forShare() : query).executeTakeFirst();
}

/** Any version row with that number, tombstones included. */
export function findVersion(db: Db, capabilityId: string, version: string): Promise<VersionRow | undefined> {
  return db
    .selectFrom("capability_versions")
    .selectAll()
    .where("capability_id", "=", capabilityId)
    .where("version", "=", version)
    .executeTakeFirst();
}

export function findVersionById(
  db: Db,
  capabilityId: string,
  versionId: string,
): Promise<VersionRow | undefined> {
  return db
    .selectFrom("capability_versions")
    .selectAll()
    .where("capability_id", "=", capabilityId)
    .where("id", "=", versionId)
    .executeTakeFirst();
}

/** The columns of a version that never change after publish: what its cached detail is made of. */
export const VERSION_CONTENT_COLUMNS = [
  "id",
  "version",
  "description",
  "author_name",
  "license",
  "keywords",
  "manifest",
  "component_counts",
  "component_details",
  "flags",
  "warnings",
  "file_manifest",
  "artifact_sha256",
  "runtime_digest",
  "size_bytes",
  "published_by",
  "created_at",
] as const;
export type VersionContent = Pick<VersionRow, (typeof VERSION_CONTENT_COLUMNS)[number]>;

/** A version's immutable content by id (the id is unique across capabilities); tombstones too. */
export function findVersionContent(db: Db, versionId: string): Promise<VersionContent | undefined> {
  return db
    .selectFrom("capability_versions")
    .select(VERSION_CONTENT_COLUMNS)
    .where("id", "=", versionId)
    .executeTakeFirst();
}

/** The few columns of a version that downloads and file reads need: none of the large JSON ones. */
const VERSION_HEAD_COLUMNS = [
  "id",
  "capability_id",
  "version",
  "status",
  "deprecation_message",
  "readme_path",
  "artifact_sha256",
  "size_bytes",
] as const;
export type VersionHead = Pick<VersionRow, (typeof VERSION_HEAD_COLUMNS)[number]>;

/** Like findVersion, without the large columns. */
export function findVersionHead(
  db: Db,
  capabilityId: string,
  version: string,
): Promise<VersionHead | undefined> {
  return db
    .selectFrom("capability_versions")
    .select(VERSION_HEAD_COLUMNS)
    .where("capability_id", "=", capabilityId)
    .where("version", "=", version)
    .executeTakeFirst();
}

/** Like findVersionById, without the large columns. */
export function findVersionHeadById(
  db: Db,
  capabilityId: string,
  versionId: string,
): Promise<VersionHead | undefined> {
  return db
    .selectFrom("capability_versions")
    .select(VERSION_HEAD_COLUMNS)
    .where("capability_id", "=", capabilityId)
    .where("id", "=", versionId)
    .executeTakeFirst();
}

/** A version's file manifest (JSON text) by id. */
export function findVersionFileManifest(db: Db, versionId: string) {
  return db
    .selectFrom("capability_versions")
    .select(["id", "file_manifest"])
    .where("id", "=", versionId)
    .executeTakeFirst();
}

export async function insertVersion(trx: Db, row: NewRow<"capability_versions">): Promise<void> {
  try {
    await trx.insertInto("capability_versions").values(row).execute();
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new AppError("already_exists_error", `Version ${row.version} already exists`, undefined, {
        cause: error,
      });
    }
    throw error;
  }
}

/** Version numbers of the capability that can be "latest"; a write path only. */
export function listReleasedVersions(trx: Db, capabilityId: string) {
  return trx
    .selectFrom("capability_versions")
    .select(["id", "version"])
    .where("capability_id", "=", capabilityId)
    .where("status", "in", RELEASED_STATUSES)
    .execute();
}

export async function setLatestVersion(
  trx: Db,
  capabilityId: string,
  latest: { id: string; version: string } | null,
  at: string,
): Promise<void> {
  await trx
    .updateTable("capabilities")
    .set({ latest_version_id: latest?.id ?? null, latest_version: latest?.version ?? null, updated_at: at })
    .where("id", "=", capabilityId)
    .execute();
}

export async function setVersionStatus(
  trx: Db,
  versionId: string,
  status: VersionStatusValue,
  deprecationMessage: string | null,
  at: string,
): Promise<void> {
  await trx
    .updateTable("capability_versions")
    .set({ status, deprecation_message: deprecationMessage, updated_at: at })
    .where("id", "=", versionId)
    .execute();
}

export async function setVisibility(trx: Db, capabilityId: string, isPublic: boolean, at: string) {
  await trx
    .updateTable("capabilities")
    .set({ is_public: isPublic ? 1 : 0, updated_at: at })
    .where("id", "=", capabilityId)
    .execute();
}

/** Non-deleted versions of several capabilities at once (one query for a whole page). */
export function listLiveVersions(db: Db, capabilityIds: string[]) {
  if (capabilityIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom("capability_versions")
    .select([
      "id",
      "capability_id",
      "version",
      "status",
      "deprecation_message",
      "runtime_digest",
      "size_bytes",
      "created_at",
      "updated_at",
    ])
    .where("capability_id", "in", capabilityIds)
    .where("status", "!=", "deleted")
    .execute();
}

/** The bindings of a version, with the org of each binding's runtime (another org's, for a public capability). */
export function listBindingsOfVersion(trx: Db, versionId: string) {
  return trx
    .selectFrom("bindings")
    .innerJoin("runtimes", "runtimes.id", "bindings.runtime_id")
    .select(["bindings.id as id", "bindings.runtime_id as runtime_id", "runtimes.org_id as runtime_org_id"])
    .where("bindings.version_id", "=", versionId)
    .execute();
}

export async function deleteBindings(trx: Db, bindingIds: string[]): Promise<void> {
  if (bindingIds.length === 0) return;
  await trx.deleteFrom("bindings").where("id", "in", bindingIds).execute();
}

export async function isVersionBoundToRuntime(db: Db, runtimeId: string, versionId: string) {
  const row = await db
    .selectFrom("bindings")
    .select("id")
    .where("runtime_id", "=", runtimeId)
    .where("version_id", "=", versionId)
    .executeTakeFirst();
  return row !== undefined;
}

export interface CatalogFilter {
  orgId: string;
  includePublic: boolean;
  search?: string;
  keywords?: string[];
  authors?: string[];
  licenses?: string[];
}

export type CatalogSortColumn = "name" | "author_name" | "license" | "created_at" | "updated_at";

export interface CatalogPage {
  sortBy: CatalogSortColumn;
  sortDir: "asc" | "desc";
  offset: number;
  limit: number;
}

/** `%`, `_` and the escape character itself match literally under `ESCAPE '\'`. */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function containsIgnoringCase(column: string, text: string): Expression<SqlBool> {
  return sql<SqlBool>`lower(${sql.ref(column)}) like ${likePattern(text)} escape '\\'`;
}

/**
 * Capabilities the catalog shows: the org's own and, when asked, other orgs' public ones, each
 * through its latest version (a capability without one has nothing to show and is left out).
 */
function catalogQuery(db: Db, filter: CatalogFilter) {
  return db
    .selectFrom("capabilities as c")
    .innerJoin("capability_versions as v", "v.id", "c.latest_version_id")
    .innerJoin("orgs as o", "o.id", "c.org_id")
    .where((eb) =>
      filter.includePublic
        ? eb.or([eb("c.org_id", "=", filter.orgId), eb("c.is_public", "=", 1)])
        : eb("c.org_id", "=", filter.orgId),
    )
    .$if(filter.search !== undefined && filter.search !== "", (qb) =>
      qb.where((eb) =>
        eb.or([
          containsIgnoringCase("c.name", filter.search!),
          containsIgnoringCase("v.description", filter.search!),
          containsIgnoringCase("v.keywords", filter.search!),
        ]),
      ),
    )
    .$if((filter.keywords?.length ?? 0) > 0, (qb) =>
      // keywords is a JSON array of strings: a keyword matches as its quoted JSON text.
      qb.where((eb) =>
        eb.or(filter.keywords!.map((k) => containsIgnoringCase("v.keywords", JSON.stringify(k)))),
      ),
    )
    .$if((filter.authors?.length ?? 0) > 0, (qb) => qb.where("v.author_name", "in", filter.authors!))
    .$if((filter.licenses?.length ?? 0) > 0, (qb) => qb.where("v.license", "in", filter.licenses!));
}

const SORT_COLUMNS = {
  name: "c.name",
  author_name: "v.author_name",
  license: "v.license",
  created_at: "v.created_at",
  updated_at: "v.updated_at",
} as const;

export interface CatalogRow {
  capability: CapabilityRow;
  ownerKey: string;
  latest: VersionRow;
}

export async function listCatalog(db: Db, filter: CatalogFilter, page: CatalogPage) {
  const column = SORT_COLUMNS[page.sortBy];
  const [{ total }, rows] = await Promise.all([
    catalogQuery(db, filter)
      .select((eb) => eb.fn.countAll<number | string>().as("total"))
      .executeTakeFirstOrThrow(),
    catalogQuery(db, filter)
      .selectAll("v")
      .select([
        "c.id as c_id",
        "c.org_id as c_org_id",
        "c.name as c_name",
        "c.is_public as c_is_public",
        "c.latest_version_id as c_latest_version_id",
        "c.latest_version as c_latest_version",
        "c.created_at as c_created_at",
        "c.updated_at as c_updated_at",
        "o.key as owner_key",
      ])
      // Missing authors and licenses sort last in both directions and on both dialects.
      .orderBy(sql`case when ${sql.ref(column)} is null then 1 else 0 end`)
      .orderBy(column, page.sortDir)
      .orderBy("o.key", page.sortDir)
      .orderBy("c.id", page.sortDir)
      .offset(page.offset)
      .limit(page.limit)
      .execute(),
  ]);
  const items: CatalogRow[] = rows.map((row) => {
    const { owner_key, c_id, c_org_id, c_name, c_is_public, c_latest_version_id, c_latest_version, ...rest } =
      row;
    const { c_created_at, c_updated_at, ...latest } = rest;
    const capability: CapabilityRow = {
      id: c_id,
      org_id: c_org_id,
      name: c_name,
      is_public: c_is_public,
      latest_version_id: c_latest_version_id,
      latest_version: c_latest_version,
      created_at: c_created_at,
      updated_at: c_updated_at,
    };
    return { capability, ownerKey: owner_key, latest };
  });
  return { total: Number(total), items };
}

/** The facet columns of every row the catalog would show. */
export function listCatalogFacetValues(db: Db, filter: CatalogFilter) {
  return catalogQuery(db, filter).select(["v.keywords", "v.author_name", "v.license"]).execute();
}

/**
 * Up to `limit` versions that are not deleted, by id after `afterId`, with the blobs they name
 * (the archive and the file manifest, JSON): the blob collector pages through these.
 */
export async function listLiveVersionBlobRefs(
  db: Db,
  afterId: string,
  limit: number,
): Promise<Array<Pick<VersionRow, "id" | "artifact_sha256" | "file_manifest">>> {
  return db
    .selectFrom("capability_versions")
    .select(["id", "artifact_sha256", "file_manifest"])
    .where("id", ">", afterId)
    .where("status", "!=", "deleted")
    .orderBy("id")
    .limit(limit)
    .execute();
}
