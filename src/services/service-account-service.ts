// Service accounts (SPEC §3): automation users created by one org and belonging to it alone. Their
// keys are minted by the org's owners and limited to the org (api-key-service.ts); they cannot be
// added to another org, administer the instance or create orgs.

import { insertMembership, listServiceAccountMembers } from "../db/repositories/member-repository.js";
import { insertUser } from "../db/repositories/user-repository.js";
import type { Row } from "../db/schema.js";
import { newId } from "../lib/ids.js";
import { type Role, requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import { inTransaction } from "./transaction.js";

export interface ServiceAccountView {
  user_id: string;
  name: string;
  role: Role;
  created_at: string;
}

/**
 * A service account has no mailbox, but users need a unique email: one under the reserved `.invalid`
 * domain (RFC 2606), built from its id, so nobody can claim it before the account exists.
 */
const serviceAccountEmail = (userId: string): string => `${userId}@service-account.invalid`;

export async function createServiceAccount(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  input: { name: string; role: Role },
): Promise<ServiceAccountView> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "owner");
  const at = deps.now().toISOString();
  const user: Row<"users"> = {
    id: newId(),
    email: "",
    name: input.name,
    is_admin: 0,
    service_org_id: org.id,
    created_at: at,
  };
  user.email = serviceAccountEmail(user.id);
  await inTransaction(deps, async (trx) => {
    await insertUser(trx, user);
    await insertMembership(trx, org.id, user.id, input.role, at);
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        action: "service_account.created",
        targetType: "user",
        targetId: user.id,
        data: { name: input.name, role: input.role },
      },
      at,
    );
  });
  deps.changes.publish({ kind: "org", orgId: org.id });
  return { user_id: user.id, name: user.name, role: input.role, created_at: at };
}

/** The org's service accounts that are still members, in the order they joined. */
export async function listServiceAccounts(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
): Promise<ServiceAccountView[]> {
  const { org } = await requireOrgRole(deps, actor, orgKey, "owner");
  return listServiceAccountMembers(deps.db, org.id);
}
