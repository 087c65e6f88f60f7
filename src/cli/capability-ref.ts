// `NAME[@VERSION]` on the command line: NAME is a capability name or `owner/name` for another
// org's public capability; VERSION is `x.y.z`, `latest`, or a distribution tag (SPEC §13).

import { isCapabilityRef } from "../domain/names.js";

export interface CapabilityRef {
  name: string;
  version: string | null;
}

const VERSION = /^(?:latest|[a-z][a-z0-9-]{0,31}|\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?)$/;

/** The ref, or a sentence (completing "NAME@VERSION …") explaining what is wrong with it. */
export function parseCapabilityRef(text: string): CapabilityRef | string {
  const at = text.lastIndexOf("@");
  const name = at === -1 ? text : text.slice(0, at);
  const version = at === -1 ? null : text.slice(at + 1);
  if (!isCapabilityRef(name))
    return `'${text}' is not a capability name (lower-case letters, digits and '-', or owner/name)`;
  if (version !== null && !VERSION.test(version))
    return `'${text}' has no valid version after '@' (x.y.z, latest or a tag)`;
  return { name, version };
}

/** `owner/name` cannot be one path segment on disk or in a file name: `owner__name` can, and never clashes with a bare name (names have no `_`). */
export function fileSafeName(name: string): string {
  return name.replace("/", "__");
}
