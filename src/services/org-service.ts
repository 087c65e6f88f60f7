// Organizations (SPEC §3): creation (the caller becomes owner), reading and updating.

import { isUniqueViolation } from "../db/driver-errors.js";
import { insertMembership } from "../db/repositories/member-repository.js";
import { insertOrg, listOrgsWithRoleOfUser, updateOrgRow } from "../db/repositories/org-repository.js";
import type { Row } from "../db/schema.js";
import { alreadyExists } from "../errors.js";
import { newId } from "../lib/ids.js";
import { type OrgAccess, requireOrgRole, requireUnlimitedKey } from "./access.js";
import { appendAudit } from "./audit.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import { inTransaction } from "./transaction.js";
import { insertWorkspace } from "./workspace-service.js";

export interface OrgInput {
  key: string;
  name: string;
  description?: string | null;
}

export interface OrgPatch {
  name?: string;
  description?: string | null;
}

/**
 * Like the bootstrap org, a new org gets a default workspace `main` (with its default project), so
 * it can hold runtimes at once without extra set-up calls.
 */
const DEFAULT_WORKSPACE = { key: "main", name: "Main", description: null, isDefault: true };

export async function createOrg(deps: ServiceDeps, scope: RequestScope, input: OrgInput): Promise<OrgAccess> {
  // The new org would be outside the key's limit; a service account belongs to its org alone.
  requireUnlimitedKey(scope.actor, "create an organization");
  const at = deps.now().toISOString();
  const org: Row<"orgs"> = {
    id: newId(),
    key: input.key,
    name: input.name,
    description: input.description ?? null,
    created_at: at,
    updated_at: at,
  };
  try {
    await inTransaction(deps, async (trx) => {
      await insertOrg(trx, org);
      await insertMembership(trx, org.id, scope.actor.userId, "owner", at);
      await insertWorkspace(trx, org.id, DEFAULT_WORKSPACE, at);
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          action: "org.created",
          targetType: "org",
          targetId: org.id,
          data: { key: org.key, name: org.name },
        },
        at,
      );
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw alreadyExists(`Organization '${input.key}' already exists`);
    throw error;
  }
  return { org, role: "owner" };
}

/** The orgs the actor belongs to, with the actor's role in each, by key; only its key's org if limited. */
export async function listActorOrgs(deps: ServiceDeps, actor: Actor): Promise<OrgAccess[]> {
  const rows = await listOrgsWithRoleOfUser(deps.db, actor.userId, actor.keyOrgId);
  return rows.map(({ role, ...org }) => ({ org, role }));
}

export async function getOrg(deps: ServiceDeps, actor: Actor, orgKey: string): Promise<OrgAccess> {
  return requireOrgRole(deps, actor, orgKey, "reader");
}

export async function updateOrg(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  patch: OrgPatch,
): Promise<OrgAccess> {
  const { org, role } = await requireOrgRole(deps, scope.actor, orgKey, "owner");
  const at = deps.now().toISOString();
  const changes = {
    ...(patch.name !== undefined && { name: patch.name }),
    ...(patch.description !== undefined && { description: patch.description }),
  };
  const updated = await inTransaction(deps, async (trx) => {
    const row = await updateOrgRow(trx, org.id, { ...changes, updated_at: at });
    await appendAudit(
      trx,
      scope,
      { orgId: org.id, action: "org.updated", targetType: "org", targetId: org.id, data: changes },
      at,
    );
    return row;
  });
  return { org: updated, role };
}
