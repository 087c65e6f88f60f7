// Digests of SPEC §4.4 and the canonical JSON behind `config_digest` (§6) and the resolved set's
// `runtime_digest` (§7.6). A digest is a promise to every runtime that synced it, so the byte
// layout here must never change.
import { createHash } from "node:crypto";
import type { BundleFile, FileManifestEntry } from "./types.js";

export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Orders paths by their UTF-8 bytes. `localeCompare` depends on the ICU build, and plain `<` orders
 * UTF-16 code units, which differs from byte order once astral characters meet U+E000–U+FFFF.
 */
export function comparePathsBytewise(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export function buildFileManifest(files: BundleFile[]): FileManifestEntry[] {
  return files
    .map(({ path, sha256, size }) => ({ path, sha256, size }))
    .sort((a, b) => comparePathsBytewise(a.path, b.path));
}

/** Depends on paths and contents only, never on tar metadata (mtimes, owners, entry order). */
export function runtimeDigestOf(manifest: FileManifestEntry[]): string {
  const hash = createHash("sha256");
  const ordered = [...manifest].sort((a, b) => comparePathsBytewise(a.path, b.path));
  for (const entry of ordered) hash.update(`${entry.path}\0${entry.sha256}\n`, "utf8");
  return `sha256:${hash.digest("hex")}`;
}

/**
 * Nesting canonicalJson accepts. Its recursion would overflow the stack a few thousand levels deep
 * (a RangeError, seen as a crash); documents read from bundles are capped at 64 levels, and
 * request bodies should be refused long before this with `jsonDepthExceeds`.
 */
export const MAX_CANONICAL_JSON_DEPTH = 1000;

/** Thrown by canonicalJson for a value nested deeper than MAX_CANONICAL_JSON_DEPTH. */
export class JsonDepthError extends Error {
  override readonly name = "JsonDepthError";
  constructor(readonly maxDepth: number) {
    super(`the value is nested more than ${maxDepth} levels deep`);
  }
}

/**
 * JSON with object keys sorted (default sort: UTF-16 code units) and no white space. Properties whose
 * value is undefined are left out, as JSON.stringify does; in arrays they become null, as it does too.
 */
export function canonicalJson(value: unknown): string {
  return canonicalJsonAt(value, 0);
}

function canonicalJsonAt(value: unknown, depth: number): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`canonicalJson cannot encode a ${typeof value}`);
    return text;
  }
  if (depth >= MAX_CANONICAL_JSON_DEPTH) throw new JsonDepthError(MAX_CANONICAL_JSON_DEPTH);
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === "function") return canonicalJsonAt(withToJson.toJSON(), depth);
  if (Array.isArray(value)) {
    return `[${value.map((item) => (isOmitted(item) ? "null" : canonicalJsonAt(item, depth + 1))).join(",")}]`;
  }
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .sort()
    .filter((key) => !isOmitted(record[key]))
    .map((key) => `${JSON.stringify(key)}:${canonicalJsonAt(record[key], depth + 1)}`);
  return `{${members.join(",")}}`;
}

/**
 * Whether a parsed JSON value nests arrays and objects more than `maxDepth` levels deep. Iterative,
 * so any depth JSON.parse can produce is measured without overflowing the stack.
 */
export function jsonDepthExceeds(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (depth >= maxDepth) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

export function canonicalDigest(value: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(value))}`;
}

function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}
