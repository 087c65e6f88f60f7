// Keyset cursors of the cursor-style lists (runtimes, audit): opaque to clients, the base64url of
// the last id they saw. Ids are UUIDv7, so "after this id" is "created after this one".

import { UUID_PATTERN } from "../domain/names.js";
import { validationIssue } from "../errors.js";

const UUID = new RegExp(UUID_PATTERN);

export function encodeIdCursor(lastId: string): string {
  return Buffer.from(lastId, "utf8").toString("base64url");
}

/** The id inside a cursor this server issued; anything else is 422 at `["query","cursor"]`. */
export function decodeIdCursor(cursor: string): string {
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  if (!UUID.test(id)) {
    throw validationIssue(["query", "cursor"], "Not a cursor this server issued", "value_error.cursor");
  }
  return id.toLowerCase();
}
