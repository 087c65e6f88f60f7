// Driver errors differ per dialect; services only need to know "a unique constraint said no" (a
// duplicate key becomes 409 already_exists_error instead of a 500) or "the parent row is gone".

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
