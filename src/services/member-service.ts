// Members of an organization (SPEC §3): listing, adding (creating the user when unknown), changing
// roles, removing. An org always keeps at least one owner.

import type { Transaction } from "kysely";
import { isUniqueViolation } from "../db/driver-errors.js";
import {
  countOrgOwners,
  deleteMembership,
  findMemberRow,
  insertMembership,
  listMemberRows,
  updateMembershipRole,
} from "../db/repositories/member-repository.js";
import { lockOrgRow } from "../db/repositories/org-repository.js";
import { insertUserUnlessEmailExists } from "../db/repositories/user-repository.js";
import type { Database, Row } from "../db/schema.js";
import { AppError, conflict, notFound } from "../errors.js";
import { newId } from "../lib/ids.js";
import { type Role, requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import { inTransaction } from "./transaction.js";

export interface MemberView {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  created_at: string;
}

export interface MemberInput {
  email: string;
  role: Role;
  name?: string;
}

async function findMember(trx: Transaction<Database>, orgId: string, userId: string): Promise<MemberView> {
  const member = await findMemberRow(trx, orgId, userId);
  if (!member) throw notFound(`Member '${userId}'`);
  return member;
}

/**
 * Serialises owner-count checks per org. SQLite transactions are already serial; on PostgreSQL two
 * owners demoting each other at once could otherwise both see "another owner remains".
 */
async function lockOrg(deps: ServiceDeps, trx: Transaction<Database>, orgId: string): Promise<void> {
  if (deps.dialect !== "postgres") return;
  await lockOrgRow(trx, orgId);
}

async function ensureAnotherOwner(trx: Transaction<Database>, orgId: string, what: string): Promise<void> {
  if ((await countOrgOwners(trx, orgId)) <= 1)
    throw conflict(`The last owner of an organization cannot be ${what}`);
}

export async function listMembers(deps: ServiceDeps, actor: Actor, orgKey: string): Promise<MemberView[]> {
  const { org } = await requireOrgRole(deps, actor, orgKey, "reader");
  return listMemberRows(deps.db, org.id);
}

/** The user with this email, created (named after the email's local part unless named) when unknown. */
async function findOrCreateUser(
  trx: Transaction<Database>,
  input: MemberInput,
  at: string,
): Promise<Row<"users">> {
  return insertUserUnlessEmailExists(trx, {
    id: newId(),
    email: input.email,
    name: nameOf(input),
    created_at: at,
  });
}

const nameOf = (input: MemberInput): string => input.name ?? input.email.split("@")[0];

export async function addMember(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  input: MemberInput,
): Promise<MemberView> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "owner");
  const at = deps.now().toISOString();
  const email = input.email.trim().toLowerCase();
  const memberExists = () =>
    new AppError("member_exists_error", `'${email}' is already a member of '${orgKey}'`);
  let member: MemberView;
  try {
    member = await inTransaction(deps, async (trx) => {
      const user = await findOrCreateUser(trx, { ...input, email }, at);
      if (user.service_org_id !== null && user.service_org_id !== org.id) {
        throw conflict(`'${email}' is a service account of another organization`);
      }
      const existing = await findMemberRow(trx, org.id, user.id);
      if (existing) throw memberExists();
      await insertMembership(trx, org.id, user.id, input.role, at);
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          action: "member.added",
          targetType: "user",
          targetId: user.id,
          data: { email, role: input.role },
        },
        at,
      );
      // Only what the caller sent, plus the id: the same answer whether or not the user existed, so
      // adding someone discloses nothing they stored themselves (their name).
      return { user_id: user.id, email, name: nameOf(input), role: input.role, created_at: at };
    });
  } catch (error) {
    // Two concurrent adds of the same user: the loser hits the membership primary key.
    if (isUniqueViolation(error)) throw memberExists();
    throw error;
  }
  deps.changes.publish({ kind: "org", orgId: org.id });
  return member;
}

export async function updateMemberRole(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  userId: string,
  role: Role,
): Promise<MemberView> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "owner");
  const at = deps.now().toISOString();
  const member = await inTransaction(deps, async (trx) => {
    await lockOrg(deps, trx, org.id);
    const current = await findMember(trx, org.id, userId);
    if (current.role === "owner" && role !== "owner") await ensureAnotherOwner(trx, org.id, "demoted");
    await updateMembershipRole(trx, org.id, userId, role);
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        action: "member.updated",
        targetType: "user",
        targetId: userId,
        data: { from: current.role, to: role },
      },
      at,
    );
    return { ...current, role };
  });
  deps.changes.publish({ kind: "org", orgId: org.id });
  return member;
}

export async function removeMember(
  deps: ServiceDeps,
  scope: RequestScope,
  orgKey: string,
  userId: string,
): Promise<void> {
  const { org } = await requireOrgRole(deps, scope.actor, orgKey, "owner");
  const at = deps.now().toISOString();
  await inTransaction(deps, async (trx) => {
    await lockOrg(deps, trx, org.id);
    const current = await findMember(trx, org.id, userId);
    if (current.role === "owner") await ensureAnotherOwner(trx, org.id, "removed");
    await deleteMembership(trx, org.id, userId);
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        action: "member.removed",
        targetType: "user",
        targetId: userId,
        data: { email: current.email, role: current.role },
      },
      at,
    );
  });
  deps.changes.publish({ kind: "org", orgId: org.id });
}
