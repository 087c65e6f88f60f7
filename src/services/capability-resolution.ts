// Which capability and version a binding points at: a reference (`name`, or `owner/name` for
// another org's public capability) resolved for a runtime's org, and a version selector (`x.y.z` or
// `latest`) resolved on it. Shared by the binding service and the reconciliation of a runtime's
// declared config.
import type { Dialect } from "../db/connect.js";
import {
  type BindingJoinedRow,
  type CapabilityRef,
  findCapabilityById,
  findCapabilityByOwner,
  findVersionById,
  type VersionRow,
} from "../db/repositories/binding-repository.js";
import { findVersion, holdCapability } from "../db/repositories/capability-repository.js";
import { findTag } from "../db/repositories/tag-repository.js";
import type { Db, Row } from "../db/schema.js";
import { TAG_PATTERN } from "../domain/names.js";
import { AppError, conflict, notFound } from "../errors.js";
import { displayName } from "./binding-views.js";

export interface OrgRef {
  id: string;
  key: string;
}

export async function requireVersionById(db: Db, versionId: string): Promise<VersionRow> {
  const version = await findVersionById(db, versionId);
  if (!version) throw notFound("Version");
  return version;
}

export function isVisibleTo(capability: CapabilityRef, orgId: string): boolean {
  return capability.org_id === orgId || capability.is_public === 1;
}

export function nameFor(capability: CapabilityRef, runtimeOrgId: string): string {
  return displayName(capability.name, capability.owner_key, capability.org_id === runtimeOrgId);
}

export function nameOfRow(row: BindingJoinedRow): string {
  return displayName(row.capability_name, row.owner_key, row.capability_org_id === row.runtime_org_id);
}

/** `name` → the runtime org's own capability; `owner/name` → that org's capability. */
export function splitReference(reference: string, runtimeOrg: OrgRef): { ownerKey: string; name: string } {
  const slash = reference.indexOf("/");
  if (slash === -1) return { ownerKey: runtimeOrg.key, name: reference };
  return { ownerKey: reference.slice(0, slash), name: reference.slice(slash + 1) };
}

export async function findReferencedCapability(
  db: Db,
  runtimeOrg: OrgRef,
  reference: string,
): Promise<CapabilityRef | undefined> {
  const { ownerKey, name } = splitReference(reference, runtimeOrg);
  return findCapabilityByOwner(db, ownerKey, name);
}

export async function resolveCapability(
  db: Db,
  runtimeOrg: OrgRef,
  reference: string,
): Promise<CapabilityRef> {
  const capability = await findReferencedCapability(db, runtimeOrg, reference);
  if (!capability || !isVisibleTo(capability, runtimeOrg.id)) throw notFound(`Capability '${reference}'`);
  return capability;
}

/**
 * `latest` or an exact version; deleted → 404, yanked → 409 (no new bindings to a yanked version).
 * On PostgreSQL the capability row is first locked FOR SHARE until the transaction ends. A version
 * delete, status change or publish locks it FOR UPDATE, so it either commits before the reads below
 * (which then see its outcome) or waits for this binding to commit (and then sees the binding).
 * Without it a binding could be written to a version deleted at the same moment.
 */
export async function resolveVersion(
  db: Db,
  dialect: Dialect,
  capability: CapabilityRef,
  selector: string,
  reference: string,
): Promise<VersionRow> {
  const held = await holdCapability(db, dialect, capability.id);
  if (!held) throw notFound(`Capability '${reference}'`);
  const latestVersionId = held.latest_version_id;
  if (selector === "latest") {
    const latest = latestVersionId === null ? undefined : await findVersionById(db, latestVersionId);
    if (!latest)
      throw new AppError("not_found_error", `Capability '${reference}' has no installable version`);
    return latest;
  }
  if (isTagSelector(selector)) {
    // Tags only ever name active or deprecated versions: a yank or delete removes them.
    const tag = await findTag(db, capability.id, selector);
    const tagged = tag && (await findVersionById(db, tag.version_id));
    if (!tagged) throw notFound(`Tag '${selector}' of '${reference}'`);
    return tagged;
  }
  const version = await findVersion(db, capability.id, selector);
  if (!version || version.status === "deleted") throw notFound(`Version ${selector} of '${reference}'`);
  if (version.status === "yanked") throw conflict(`Version ${selector} of '${reference}' is yanked`);
  return version;
}

const TAG = new RegExp(TAG_PATTERN);

/** A selector that names a tag: anything but `latest` and a version number. */
export function isTagSelector(selector: string): boolean {
  return selector !== "latest" && TAG.test(selector);
}

/** What a binding made from `selector` tracks: "latest", the tag, or nothing for a version. */
export function trackOf(selector: string): string | null {
  return selector === "latest" || isTagSelector(selector) ? selector : null;
}

/** The version a PATCH or preview points at; naming the bound version again is always allowed. */
export async function targetVersion(
  db: Db,
  dialect: Dialect,
  runtimeOrg: OrgRef,
  binding: Row<"bindings">,
  current: VersionRow,
  selector: string,
): Promise<VersionRow> {
  if (selector === current.version) return current;
  const capability = await findCapabilityById(db, binding.capability_id);
  const reference = capability ? nameFor(capability, runtimeOrg.id) : "capability";
  if (!capability || !isVisibleTo(capability, runtimeOrg.id)) throw notFound(`Capability '${reference}'`);
  return resolveVersion(db, dialect, capability, selector, reference);
}
