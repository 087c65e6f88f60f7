// What `runtime sync` accepts from the server before anything touches the disk. Names become
// directories under DIR and lines of capabilities.env, so a server that is hostile, or a proxy that
// is broken, must not be able to send a name that leaves DIR (`a/../../x`), collides with the state
// files, or adds a line to a file that is sourced by a shell (`x\nPATH=…`). The whole set is refused
// on the first problem, and DIR stays as it was.

import { FLAG_NAME_MAX_LENGTH, FLAG_NAME_PATTERN, isCapabilityRef } from "../../domain/names.js";
import type { Resolved, ResolvedEntry } from "../api-types.js";
import { CliError } from "../cli-errors.js";

const FLAG_NAME = new RegExp(FLAG_NAME_PATTERN);
const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** A version only ends up in messages, but it is text from the server all the same. */
const VERSION = /^[0-9A-Za-z.+-]{1,256}$/;
/** Far above what any runtime binds; a bound on the work one answer can cause. */
const MAX_CAPABILITIES = 10_000;

/** Whether `name` is a capability name the server could have sent (and so a safe directory). */
export function isCapabilityName(name: unknown): name is string {
  return typeof name === "string" && isCapabilityRef(name);
}

/** The resolved set in `body`, checked entry by entry; a CliError naming the first problem. */
export function checkedResolvedSet(body: unknown): Resolved {
  if (!isRecord(body)) throw untrusted("it is not a JSON object");
  const { capabilities, runtime_digest } = body;
  if (typeof runtime_digest !== "string" || !DIGEST.test(runtime_digest)) {
    throw untrusted("its runtime_digest is not sha256:<64 hex digits>");
  }
  if (!Array.isArray(capabilities)) throw untrusted("it has no capabilities list");
  if (capabilities.length > MAX_CAPABILITIES)
    throw untrusted(`it lists over ${MAX_CAPABILITIES} capabilities`);
  const names = new Set<string>();
  for (const [index, entry] of capabilities.entries()) {
    const checked = checkedEntry(entry, index);
    if (names.has(checked.name)) throw untrusted(`it lists ${checked.name} twice`);
    names.add(checked.name);
  }
  return body as Resolved;
}

function checkedEntry(entry: unknown, index: number): ResolvedEntry {
  if (!isRecord(entry)) throw untrusted(`capability ${index} is not a JSON object`);
  const { name, version, artifact_digest, runtime_digest, download_url, artifact_s3_prefix } = entry;
  if (!isCapabilityName(name)) {
    throw untrusted(`capability ${index} has the name ${JSON.stringify(name)?.slice(0, 80)}`);
  }
  if (typeof version !== "string" || !VERSION.test(version)) throw untrusted(`${name} has no valid version`);
  for (const [field, digest] of [
    ["artifact_digest", artifact_digest],
    ["runtime_digest", runtime_digest],
  ] as const) {
    if (typeof digest !== "string" || !DIGEST.test(digest)) {
      throw untrusted(`${name} has a ${field} that is not sha256:<64 hex digits>`);
    }
  }
  if (typeof download_url !== "string" || typeof artifact_s3_prefix !== "string") {
    throw untrusted(`${name} has no download_url or artifact_s3_prefix`);
  }
  checkFlags(name, "flags", entry.flags);
  checkFlags(name, "effective_flags", entry.effective_flags);
  return entry as ResolvedEntry;
}

function checkFlags(capability: string, field: string, flags: unknown): void {
  if (!isRecord(flags)) throw untrusted(`${capability} has no ${field} object`);
  for (const [flag, on] of Object.entries(flags)) {
    if (!FLAG_NAME.test(flag) || flag.length > FLAG_NAME_MAX_LENGTH) {
      throw untrusted(`${capability} has a flag named ${JSON.stringify(flag).slice(0, 80)} in ${field}`);
    }
    if (typeof on !== "boolean") throw untrusted(`${capability}'s ${field}.${flag} is not true or false`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function untrusted(problem: string): CliError {
  return new CliError(`the server's resolved set cannot be used (${problem}); nothing was changed`);
}
