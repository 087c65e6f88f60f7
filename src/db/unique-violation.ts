// Driver errors differ per dialect; services only need to know "a unique constraint said no", so a
// duplicate key becomes 409 already_exists_error instead of a 500.

/** SQLite reports `SQLITE_CONSTRAINT_UNIQUE` / `_PRIMARYKEY`; PostgreSQL reports SQLSTATE 23505. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
