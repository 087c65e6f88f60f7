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
 * JSON with object keys sorted (default sort: UTF-16 code units) and no white space. Properties whose
 * value is undefined are left out, as JSON.stringify does; in arrays they become null, as it does too.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`canonicalJson cannot encode a ${typeof value}`);
    return text;
  }
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === "function") return canonicalJson(withToJson.toJSON());
  if (Array.isArray(value)) {
    return `[${value.map((item) => (isOmitted(item) ? "null" : canonicalJson(item))).join(",")}]`;
  }
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .sort()
    .filter((key) => !isOmitted(record[key]))
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
  return `{${members.join(",")}}`;
}

export function canonicalDigest(value: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(value))}`;
}

function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}
