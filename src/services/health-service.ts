// Readiness (GET /readyz): the database answers a trivial query.
import { pingDatabase } from "../db/connect.js";
import { AppError } from "../errors.js";
import type { ServiceDeps } from "./deps.js";

/** 500 database_error when the database does not answer. */
export async function requireDatabaseReachable(deps: ServiceDeps): Promise<void> {
  try {
    await pingDatabase(deps.db);
  } catch (cause) {
    throw new AppError("database_error", "Database is not reachable", undefined, { cause });
  }
}
