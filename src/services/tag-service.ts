// Distribution tags (SPEC §13): `GET CAP/{name}/tags`, `PUT` and `DELETE CAP/{name}/tags/{tag}`.
// `latest` is computed (capabilities.latest_version) and can be neither set nor removed. Moving or
// removing a tag re-points the auto-update bindings that track it in the same transaction.

import type { TagMap } from "../contract/capabilities.js";
import { findVersion, lockCapability } from "../db/repositories/capability-repository.js";
import { deleteTag, findTag, listTags, upsertTag } from "../db/repositories/tag-repository.js";
import { AppError, conflict } from "../errors.js";
import { appendAudit } from "./audit.js";
import { causeOf, followTargets } from "./auto-update.js";
import type { RequestScope, ServiceDeps } from "./deps.js";
import { type CapabilityInOrg, resolveCapability } from "./registry-service.js";
import { inTransaction } from "./transaction.js";

export async function listCapabilityTags(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
): Promise<TagMap> {
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "reader");
  const tags = await listTags(deps.db, target.capability.id);
  const map: TagMap = {};
  if (target.capability.latest_version !== null) map.latest = target.capability.latest_version;
  for (const { tag, version } of tags) map[tag] = version;
  return map;
}

export async function setCapabilityTag(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  tag: string,
  versionNumber: string,
): Promise<TagMap> {
  assertSettable(tag);
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "contributor");
  const moved = await inTransaction(deps, async (trx) => {
    const at = deps.now().toISOString();
    await lockCapability(trx, deps.dialect, target.capability.id);
    const version = await findVersion(trx, target.capability.id, versionNumber);
    if (!version || version.status === "deleted") throw versionNotFound(target, versionNumber);
    if (version.status === "yanked") {
      throw conflict(`${target.displayName}@${versionNumber} is yanked; a yanked version cannot be tagged`);
    }
    const previous = await findTag(trx, target.capability.id, tag);
    if (previous?.version_id === version.id) return null;
    await upsertTag(trx, target.capability.id, tag, version.id, at);
    const runtimes = await followTargets(trx, target.capability.id, causeOf(scope, "capability.tag.set"), at);
    await appendAudit(
      trx,
      scope,
      {
        orgId: target.capability.org_id,
        action: "capability.tag.set",
        targetType: "capability",
        targetId: target.capability.id,
        data: { name: target.capability.name, tag, version: versionNumber, moved_bindings: runtimes.size },
      },
      at,
    );
    return runtimes;
  });
  if (moved !== null) deps.changes.publish({ kind: "capability", capabilityId: target.capability.id });
  return listCapabilityTags(deps, scope, orgKey, ref);
}

/** Bindings tracking a removed tag stay on the version they have: there is nothing to follow. */
export async function deleteCapabilityTag(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  tag: string,
): Promise<void> {
  assertSettable(tag);
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "contributor");
  await inTransaction(deps, async (trx) => {
    await lockCapability(trx, deps.dialect, target.capability.id);
    const previous = await findTag(trx, target.capability.id, tag);
    if (!previous || !(await deleteTag(trx, target.capability.id, tag))) {
      throw new AppError("not_found_error", `Tag '${tag}' of '${target.displayName}' not found`);
    }
    await appendAudit(
      trx,
      scope,
      {
        orgId: target.capability.org_id,
        action: "capability.tag.deleted",
        targetType: "capability",
        targetId: target.capability.id,
        data: { name: target.capability.name, tag },
      },
      deps.now().toISOString(),
    );
  });
  deps.changes.publish({ kind: "capability", capabilityId: target.capability.id });
}

/** `latest` is computed (SPEC §13); the path pattern already refuses anything that is not a tag. */
function assertSettable(tag: string): void {
  if (tag === "latest") {
    throw new AppError("validation_error", "'latest' is computed and cannot be set or removed", [
      {
        loc: ["path", "tag"],
        msg: "'latest' is reserved: it is always the highest released version",
        type: "tag.reserved",
      },
    ]);
  }
}

function versionNotFound(target: CapabilityInOrg, version: string): AppError {
  return new AppError("not_found_error", `Version ${version} of '${target.displayName}' not found`);
}
