// Changing published capabilities (SPEC §5): version status, deletion (a tombstone keeps the number
// reserved forever) and visibility. Each change re-derives "latest" in its own transaction.

import type { Transaction } from "kysely";
import type { StatusPatchBody, VisibilityResult } from "../contract/capabilities.js";
import {
  deleteBindings,
  findVersionHeadById,
  listBindingsOfVersion,
  listReleasedVersions,
  lockCapability,
  setLatestVersion,
  setVersionStatus,
  setVisibility,
  type VersionHead,
} from "../db/repositories/capability-repository.js";
import type { Database, Db } from "../db/schema.js";
import { AppError } from "../errors.js";
import type { ArtifactDetailCache, RenderedDetail } from "./artifact-detail-cache.js";
import { displayNameOf, latestOf } from "./artifact-views.js";
import { appendAudit } from "./audit.js";
import { causeOf, followTargets, untagVersion } from "./auto-update.js";
import type { RequestScope, ServiceDeps } from "./deps.js";
import {
  type CapabilityInOrg,
  renderVersionDetail,
  resolveCapability,
  resolveVersionHead,
} from "./registry-service.js";
import { inTransaction } from "./transaction.js";

/** Recomputes the capability's latest version from its version numbers; a write path only. */
export async function refreshLatest(trx: Db, capabilityId: string, at: string): Promise<void> {
  const latest = latestOf(await listReleasedVersions(trx, capabilityId));
  await setLatestVersion(trx, capabilityId, latest, at);
}

/**
 * Runs `change` on the version inside a transaction, with the capability locked on PostgreSQL and
 * the version re-read there: a concurrent delete makes it a 404 instead of a lost update.
 */
async function changeVersion<T>(
  deps: ServiceDeps,
  target: CapabilityInOrg,
  versionId: string,
  change: (trx: Transaction<Database>, version: VersionHead, at: string) => Promise<T>,
): Promise<T> {
  return inTransaction(deps, async (trx) => {
    await lockCapability(trx, deps.dialect, target.capability.id);
    const version = await findVersionHeadById(trx, target.capability.id, versionId);
    if (!version || version.status === "deleted") {
      throw new AppError("not_found_error", `That version of '${target.displayName}' no longer exists`);
    }
    return change(trx, version, deps.now().toISOString());
  });
}

/** Answers with the version's detail, from the detail cache (the large part never changes). */
export async function updateVersionStatus(
  deps: ServiceDeps,
  details: ArtifactDetailCache,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  versionNumber: string,
  body: StatusPatchBody,
): Promise<RenderedDetail> {
  if (body.message !== undefined && body.status !== "deprecated") {
    throw new AppError("validation_error", "A message goes only with status 'deprecated'", [
      { loc: ["body", "message"], msg: "only allowed when status is 'deprecated'", type: "value_error" },
    ]);
  }
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "contributor");
  const current = await resolveVersionHead(deps.db, target, versionNumber);
  await changeVersion(deps, target, current.id, async (trx, version, at) => {
    // Deprecating again without a message keeps the message already given.
    const message =
      body.status === "deprecated"
        ? (body.message ?? (version.status === "deprecated" ? version.deprecation_message : null))
        : null;
    await setVersionStatus(trx, version.id, body.status, message, at);
    const untagged = body.status === "yanked" ? await untagVersion(trx, version.id) : [];
    await refreshLatest(trx, target.capability.id, at);
    await followTargets(trx, target.capability.id, causeOf(scope, "capability.version.updated"), at);
    await appendAudit(
      trx,
      scope,
      {
        orgId: target.capability.org_id,
        action: "capability.version.updated",
        targetType: "capability_version",
        targetId: version.id,
        data: {
          name: target.capability.name,
          version: version.version,
          from: version.status,
          status: body.status,
          message,
          ...(untagged.length > 0 ? { removed_tags: untagged } : {}),
        },
      },
      at,
    );
  });
  deps.changes.publish({ kind: "capability", capabilityId: target.capability.id });
  const refreshed = await resolveCapability(deps, scope.actor, orgKey, ref, "contributor");
  return renderVersionDetail(deps, details, refreshed, versionNumber);
}

/**
 * Tombstones a version: the row stays (status `deleted`) so its number is never published again.
 * Bound versions are refused unless `force`, which removes those bindings in the same transaction.
 */
export async function deleteVersion(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  versionNumber: string,
  force: boolean,
): Promise<void> {
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "owner");
  const current = await resolveVersionHead(deps.db, target, versionNumber);
  const affectedRuntimes = await changeVersion(deps, target, current.id, async (trx, version, at) => {
    // Auto-update bindings leave the version first (a refusal below rolls their move back too);
    // only the bindings that stay on it need `force`.
    await setVersionStatus(trx, version.id, "deleted", null, at);
    const untagged = await untagVersion(trx, version.id);
    await refreshLatest(trx, target.capability.id, at);
    const moved = await followTargets(
      trx,
      target.capability.id,
      causeOf(scope, "capability.version.deleted"),
      at,
    );
    const bindings = await listBindingsOfVersion(trx, version.id);
    if (bindings.length > 0 && !force) {
      throw new AppError(
        "conflict_error",
        `${target.displayName}@${version.version} is bound by ${bindings.length} runtime(s); delete with ?force=true to remove those bindings too`,
      );
    }
    await deleteBindings(
      trx,
      bindings.map((binding) => binding.id),
    );
    const removed = bindings.map(({ id, runtime_id }) => ({ id, runtime_id }));
    await appendAudit(
      trx,
      scope,
      {
        orgId: target.capability.org_id,
        action: "capability.version.deleted",
        targetType: "capability_version",
        targetId: version.id,
        data: {
          name: target.capability.name,
          version: version.version,
          removed_bindings: removed,
          ...(untagged.length > 0 ? { removed_tags: untagged } : {}),
        },
      },
      at,
    );
    // Each removed binding is also a change to its runtime, logged where that runtime's org reads
    // it (another org's, for a public capability), as a removal through the binding routes is.
    const { capability, ownerKey } = target;
    for (const binding of bindings) {
      await appendAudit(
        trx,
        scope,
        {
          orgId: binding.runtime_org_id,
          action: "runtime.capability.removed",
          targetType: "binding",
          targetId: binding.id,
          data: {
            runtime_id: binding.runtime_id,
            name: displayNameOf(capability, ownerKey, binding.runtime_org_id),
            version: version.version,
            reason: "version_deleted",
          },
        },
        at,
      );
    }
    return new Set([...moved, ...bindings.map((binding) => binding.runtime_id)]);
  });
  deps.changes.publish({ kind: "capability", capabilityId: target.capability.id });
  for (const runtimeId of affectedRuntimes) deps.changes.publish({ kind: "runtime", runtimeId });
}

export async function updateVisibility(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  ref: string,
  isPublic: boolean,
): Promise<VisibilityResult> {
  const target = await resolveCapability(deps, scope.actor, orgKey, ref, "owner");
  await inTransaction(deps, async (trx) => {
    const at = deps.now().toISOString();
    await setVisibility(trx, target.capability.id, isPublic, at);
    await appendAudit(
      trx,
      scope,
      {
        orgId: target.capability.org_id,
        action: "capability.visibility.updated",
        targetType: "capability",
        targetId: target.capability.id,
        data: { name: target.capability.name, is_public: isPublic },
      },
      at,
    );
  });
  deps.changes.publish({ kind: "capability", capabilityId: target.capability.id });
  const visibility = isPublic
    ? "public: every authenticated user can read and install it"
    : "private to its organization";
  return { is_public: isPublic, message: `Capability '${target.capability.name}' is now ${visibility}` };
}
