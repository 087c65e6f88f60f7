import { createHash, randomBytes } from "node:crypto";
import { API_KEY_PATTERN } from "../domain/names.js";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomString(alphabet: string, length: number): string {
  // Rejection sampling keeps every character equally likely.
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

export interface GeneratedKey {
  key: string;
  prefix: string;
  hash: string;
}

/** A fresh `cst_<prefix>_<secret>` key (SPEC §2.2); only `hash` is ever stored. */
export function generateApiKey(): GeneratedKey {
  const prefix = randomString(BASE32, 12);
  const key = `cst_${prefix}_${randomString(ALPHANUMERIC, 40)}`;
  return { key, prefix, hash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** The prefix of a well-formed key, or null when the credential is not in the key format. */
export function parseApiKey(key: string): { prefix: string } | null {
  const match = API_KEY_PATTERN.exec(key);
  return match ? { prefix: match[1] } : null;
}
