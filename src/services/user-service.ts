// The caller as a user (SPEC §3: GET /user/me).
import { findUserById } from "../db/repositories/user-repository.js";
import type { Row } from "../db/schema.js";
import { AppError } from "../errors.js";
import type { Actor, ServiceDeps } from "./deps.js";

/** The user behind the caller's key; 401 when it was deleted after the key was read. */
export async function currentUser(deps: ServiceDeps, actor: Actor): Promise<Row<"users">> {
  const user = await findUserById(deps.db, actor.userId);
  if (!user) throw new AppError("authentication_error", "The key's user no longer exists");
  return user;
}
