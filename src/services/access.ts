// Tenant checks, in one place: who may do what in which organization (SPEC §2.3).

import type { Row } from "../db/schema.js";
import { AppError } from "../http/errors.js";
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
  const row = await db
    .selectFrom("orgs")
    .innerJoin("memberships", "memberships.org_id", "orgs.id")
    .selectAll("orgs")
    .select("memberships.role")
    .where("orgs.key", "=", orgKey)
    .where("memberships.user_id", "=", userId)
    .executeTakeFirst();
  if (!row) return undefined;
  const { role, ...org } = row;
  return { org, role };
}

/**
 * The org named `orgKey` as seen by `actor`: 404 when it does not exist or the actor is not a
 * member (existence is not leaked), 403 when the actor's role is below `minimum`.
 */
export async function requireOrgRole(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  minimum: Role,
): Promise<OrgAccess> {
  const access = await findOrgMembership(deps.db, actor.userId, orgKey);
  if (!access) throw new AppError("not_found_error", `Organization '${orgKey}' not found`);
  if (!roleAtLeast(access.role, minimum)) {
    throw new AppError("forbidden_error", `This action needs the ${minimum} role in '${orgKey}'`);
  }
  return access;
}
