// What the database drivers' errors mean, in the domain's terms. Driver errors differ per dialect;
// services only need to know "a unique constraint said no" (a duplicate key becomes 409
// already_exists_error instead of a 500) or "the parent row is gone", and the error handler needs
// to know which failures are the database's (an outage, a timeout) rather than a fault of the code.
import SqliteDatabase from "better-sqlite3";
import pg from "pg";
import { AppError } from "../errors.js";

/** SQLite reports `SQLITE_CONSTRAINT_UNIQUE` / `_PRIMARYKEY`; PostgreSQL reports SQLSTATE 23505. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/**
 * A row pointed at a parent that is gone: a project or workspace deleted while a runtime was being
 * created in it. SQLite reports `SQLITE_CONSTRAINT_FOREIGNKEY`; PostgreSQL reports SQLSTATE 23503.
 */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "23503" || code === "SQLITE_CONSTRAINT_FOREIGNKEY";
}

/** SQLite result codes meaning "the database cannot serve this now", not "this statement is wrong". */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|CORRUPT|NOTADB|PROTOCOL)/;
/**
 * PostgreSQL SQLSTATEs of the same kind: connection exceptions (08), insufficient resources (53),
 * shutdown or not accepting connections (57P), and contention that outlasted its retries.
 */
const PG_UNAVAILABLE = /^(08|53|57P|40001|40P01|55P03)/;
/** query_canceled: what statement_timeout raises. */
const PG_STATEMENT_TIMEOUT = "57014";
/** The database is the only thing the server opens sockets to, so a socket failure is the database's. */
const SOCKET_FAILURES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "EAI_AGAIN",
]);
/** pg and pg-pool report lost or impossible connections as plain Errors, without a code. */
const PG_CONNECTION_FAILURE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end)/;

function databaseFailureKind(error: Error): "unavailable" | "timeout" | null {
  const code = (error as { code?: unknown }).code;
  if (error instanceof SqliteDatabase.SqliteError)
    return SQLITE_UNAVAILABLE.test(error.code) ? "unavailable" : null;
  if (error instanceof pg.DatabaseError) {
    if (error.code === PG_STATEMENT_TIMEOUT) return "timeout";
    return PG_UNAVAILABLE.test(error.code ?? "") ? "unavailable" : null;
  }
  if (typeof code === "string" && SOCKET_FAILURES.has(code)) return "unavailable";
  if (error.message === "Query read timeout") return "timeout";
  if (PG_CONNECTION_FAILURE.test(error.message)) return "unavailable";
  return null;
}

/**
 * A database outage or timeout as its envelope. The driver's message stays in the logs (it can hold
 * SQL, host names or file paths); the causes are followed because callers may wrap driver errors.
 */
function fromDatabaseError(error: unknown, requestId: string): AppError | null {
  let current = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const kind = databaseFailureKind(current);
    if (kind === "timeout") {
      return new AppError(
        "gateway_timeout_error",
        `The database did not answer in time (request ${requestId})`,
        undefined,
        {
          cause: error,
        },
      );
    }
    if (kind === "unavailable") {
      return new AppError(
        "database_error",
        `The database is unavailable; retry later (request ${requestId})`,
        undefined,
        {
          cause: error,
        },
      );
    }
    current = current.cause;
  }
  return null;
}

/**
 * Text PostgreSQL cannot store (SQLSTATE 22021 for a NUL, 22P05 for what the encoding lacks): it
 * came from the client, in a bundle's manifest or a query, so it is refused, not a fault.
 */
function fromUnstorableText(error: unknown): AppError | null {
  if (!(error instanceof pg.DatabaseError) || (error.code !== "22021" && error.code !== "22P05")) return null;
  return new AppError("invalid_error", "The request holds text the database cannot store (a NUL character?)");
}

/**
 * A foreign key that no longer holds: the row a write pointed at was deleted by another request
 * after this one read it. Services turn the cases they expect into a precise 404; anything else is
 * still the caller's race to retry, not a server fault.
 */
function fromVanishedParent(error: unknown): AppError | null {
  if (!isForeignKeyViolation(error)) return null;
  return new AppError(
    "conflict_error",
    "Something this request refers to was deleted while it ran; read it again and retry",
  );
}

/**
 * A driver error as the AppError it stands for, or null when it is not a database failure the
 * contract names (the caller then treats it as unexpected).
 */
export function fromDriverError(error: unknown, requestId: string): AppError | null {
  return fromDatabaseError(error, requestId) ?? fromVanishedParent(error) ?? fromUnstorableText(error);
}
