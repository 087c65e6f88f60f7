// `owner/name` written as two path segments. SPEC §5 lets `{name}` be `owner/name` for another
// org's public capability; a client that puts it in the path as is sends two segments, which the
// routes (`{name}/{version}`, `{name}/versions`, …) would read as a name and a version. Fastify's
// `rewriteUrl` hands every URL here before routing, and a read whose second segment cannot be a
// version is given the encoded form the routes take (`owner%2Fname`), so both spellings mean the same.
//
// Names never contain a dot and versions always do (`x.y.z`), so the only words in doubt are
// `latest` and, at the end of the path, the sub-resources `versions`, `readme`, `visibility` and `tags`:
// those keep their meaning, and a capability with such a name is reached through `owner%2Fname`.
import type { IncomingMessage } from "node:http";
import { CAPABILITY_NAME_PATTERN, unanchored } from "../domain/names.js";

const NAME = unanchored(CAPABILITY_NAME_PATTERN);
const CAPABILITY_PATH = new RegExp(`^(/api/v1/org/${NAME}/capabilities/)(${NAME})/(${NAME})`);
const SUB_RESOURCES = new Set(["versions", "readme", "visibility", "tags"]);

/** The URL Fastify routes: `…/capabilities/owner/name…` reads as `…/capabilities/owner%2Fname…`. */
export function joinOwnerAndName(request: IncomingMessage): string {
  const url = request.url ?? "/";
  // Only reads: changes go through the owning org, by name (SPEC §2.3).
  if (request.method !== "GET" && request.method !== "HEAD") return url;
  const match = CAPABILITY_PATH.exec(url);
  if (match === null) return url;
  const [prefix, base, owner, name] = match;
  const rest = url.slice(prefix.length);
  if (rest !== "" && rest[0] !== "/" && rest[0] !== "?") return url; // the segment goes on
  const lastSegment = rest === "" || rest === "/" || rest[0] === "?" || rest.startsWith("/?");
  if (name === "latest" || (lastSegment && SUB_RESOURCES.has(name))) return url;
  return `${base}${owner}%2F${name}${rest}`;
}
