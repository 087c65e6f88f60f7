// Instance administration (SPEC §3): the users of the instance and who administers it. Only
// instance admins get here; an instance always keeps at least one admin.

import type { Transaction } from "kysely";
import { isUniqueViolation } from "../db/driver-errors.js";
import {
  countAdmins,
  findUserById,
  insertUser,
  listUsersPage,
  lockAdminRows,
  setUserAdminFlag,
} from "../db/repositories/user-repository.js";
import type { Database, Row } from "../db/schema.js";
import { alreadyExists, conflict, notFound } from "../errors.js";
import { decodeIdCursor, encodeIdCursor } from "../lib/id-cursor.js";
import { newId } from "../lib/ids.js";
import { requireInstanceAdmin } from "./access.js";
import { appendAudit } from "./audit.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import { inTransaction } from "./transaction.js";

export interface UserPage {
  items: Row<"users">[];
  nextCursor: string | null;
}

export async function createUser(
  deps: ServiceDeps,
  scope: RequestScope,
  input: { email: string; name: string },
): Promise<Row<"users">> {
  await requireInstanceAdmin(deps, scope.actor);
  const at = deps.now().toISOString();
  const email = input.email.trim().toLowerCase();
  const user: Row<"users"> = {
    id: newId(),
    email,
    name: input.name,
    is_admin: 0,
    service_org_id: null,
    created_at: at,
  };
  try {
    await inTransaction(deps, async (trx) => {
      await insertUser(trx, user);
      await appendAudit(
        trx,
        scope,
        { orgId: null, action: "user.created", targetType: "user", targetId: user.id, data: { email } },
        at,
      );
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw alreadyExists(`A user with email '${email}' already exists`);
    throw error;
  }
  return user;
}

/** Every user, service accounts included, oldest first (ids are UUIDv7). */
export async function listUsers(
  deps: ServiceDeps,
  actor: Actor,
  page: { limit: number; cursor?: string },
): Promise<UserPage> {
  const after = page.cursor === undefined ? null : decodeIdCursor(page.cursor);
  await requireInstanceAdmin(deps, actor);
  const rows = await listUsersPage(deps.db, after, page.limit + 1);
  const items = rows.slice(0, page.limit);
  const hasMore = rows.length > page.limit;
  return { items, nextCursor: hasMore ? encodeIdCursor(items[items.length - 1].id) : null };
}

/**
 * Serialises admin-count checks. SQLite transactions are already serial; on PostgreSQL two admins
 * removing each other at once could otherwise both see "another admin remains".
 */
async function lockAdmins(deps: ServiceDeps, trx: Transaction<Database>): Promise<void> {
  if (deps.dialect !== "postgres") return;
  await lockAdminRows(trx);
}

/** Grants or removes instance admin; 409 for the last admin and for service accounts. */
export async function setUserAdmin(
  deps: ServiceDeps,
  scope: RequestScope,
  userId: string,
  isAdmin: boolean,
): Promise<Row<"users">> {
  await requireInstanceAdmin(deps, scope.actor);
  const at = deps.now().toISOString();
  return inTransaction(deps, async (trx) => {
    await lockAdmins(deps, trx);
    const user = await findUserById(trx, userId);
    if (!user) throw notFound(`User '${userId}'`);
    if ((user.is_admin === 1) === isAdmin) return user;
    if (isAdmin && user.service_org_id !== null) {
      throw conflict("A service account belongs to one organization and cannot administer the instance");
    }
    if (!isAdmin) {
      if ((await countAdmins(trx)) <= 1) throw conflict("The last instance admin cannot be removed");
    }
    const updated = await setUserAdminFlag(trx, userId, isAdmin);
    await appendAudit(
      trx,
      scope,
      {
        orgId: null,
        action: "user.updated",
        targetType: "user",
        targetId: userId,
        data: { is_admin: isAdmin },
      },
      at,
    );
    return updated;
  });
}
