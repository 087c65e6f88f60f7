// Tenant checks, in one place: who may do what in which organization (SPEC §2.3), and who
// administers the instance (SPEC §3).

import { findOrgWithRole } from "../db/repositories/org-repository.js";
import { findUserById } from "../db/repositories/user-repository.js";
import type { Row } from "../db/schema.js";
import { AppError } from "../errors.js";
import type { Actor, ServiceDeps } from "./deps.js";

export type Role = "owner" | "contributor" | "reader";

const RANK: Record<Role, number> = { reader: 1, contributor: 2, owner: 3 };

export function roleAtLeast(role: Role, minimum: Role): boolean {
  return RANK[role] >= RANK[minimum];
}

export interface OrgAccess {
  org: Row<"orgs">;
  role: Role;
}

/** The org named `orgKey` and `userId`'s role in it; undefined when either is missing. */
export async function findOrgMembership(
  db: ServiceDeps["db"],
  userId: string,
  orgKey: string,
): Promise<OrgAccess | undefined> {
  const row = await findOrgWithRole(db, orgKey, userId);
  if (!row) return undefined;
  const { role, ...org } = row;
  return { org, role };
}

/**
 * Whether the actor's key reaches the org with this id at all. A key limited to one org sees every
 * other org as a non-member does, so whoever holds it cannot use the user's other memberships.
 */
export const keyReachesOrg = (actor: Actor, orgId: string): boolean =>
  actor.keyOrgId === null || actor.keyOrgId === orgId;

export const orgNotFound = (orgKey: string): AppError =>
  new AppError("not_found_error", `Organization '${orgKey}' not found`);

/**
 * The org named `orgKey` as seen by `actor`: 404 when it does not exist, the actor is not a member
 * or the actor's key is limited to another org (existence is not leaked), 403 when the actor's
 * role is below `minimum`.
 */
export async function requireOrgRole(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  minimum: Role,
): Promise<OrgAccess> {
  const access = await findOrgMembership(deps.db, actor.userId, orgKey);
  if (!access || !keyReachesOrg(actor, access.org.id)) throw orgNotFound(orgKey);
  if (!roleAtLeast(access.role, minimum)) {
    throw new AppError("forbidden_error", `This action needs the ${minimum} role in '${orgKey}'`);
  }
  return access;
}

/**
 * 403 unless the actor is an instance admin using a key that is not limited to one org. Read from
 * the database on every call, so a removed admin loses the routes at once, on every instance.
 */
export async function requireInstanceAdmin(deps: ServiceDeps, actor: Actor): Promise<void> {
  const user = await findUserById(deps.db, actor.userId);
  if (user?.is_admin !== 1) throw new AppError("forbidden_error", "Only instance admins may do this");
  if (actor.keyOrgId !== null) {
    throw new AppError("forbidden_error", "A key limited to one organization cannot administer the instance");
  }
}

/** 403 for a key limited to one org: what it would do reaches beyond that org (creating an org). */
export function requireUnlimitedKey(actor: Actor, what: string): void {
  if (actor.keyOrgId !== null) {
    throw new AppError("forbidden_error", `A key limited to one organization cannot ${what}`);
  }
}
