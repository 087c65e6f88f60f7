// AES-256-GCM for workspace secrets (SPEC §11): a random 96-bit nonce per value, and associated
// data that names the row's org, workspace and secret name, so a ciphertext copied onto another row
// (another tenant's, or another name in the same workspace) fails authentication instead of
// decrypting there. Keys come as a keyring: the first key encrypts, every key decrypts.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { SECRETS_KEY_ID_PATTERN } from "../domain/names.js";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const SECRETS_KEY_BYTES = 32;
/** The id of a key given as bare base64, and of the key generated into `<DATA_DIR>/secrets.key`. */
export const DEFAULT_SECRETS_KEY_ID = "default";

const KEY_ID = new RegExp(SECRETS_KEY_ID_PATTERN);

export interface SecretsKey {
  id: string;
  material: Buffer;
}

/** The master keys, first the one that encrypts. Serializes to a placeholder, never to key bytes. */
export class SecretsKeyring {
  readonly keys: readonly SecretsKey[];

  constructor(keys: SecretsKey[]) {
    if (keys.length === 0) throw new Error("a keyring needs at least one key");
    this.keys = Object.freeze(keys);
  }

  get current(): SecretsKey {
    return this.keys[0];
  }

  find(id: string): SecretsKey | undefined {
    return this.keys.find((key) => key.id === id);
  }

  get ids(): string[] {
    return this.keys.map((key) => key.id);
  }

  toJSON(): string {
    return `[keyring: ${this.ids.join(", ")}]`;
  }
}

/**
 * `base64` (id `default`) or `id:base64,id:base64,…`. Returns an error message (without any key
 * material in it) when the text is not a keyring.
 */
export function parseSecretsKeyring(text: string): SecretsKeyring | string {
  const entries = text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) return "must name at least one key";
  const keys: SecretsKey[] = [];
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(":");
    if (colon === -1 && entries.length > 1)
      return `key ${index + 1}: several keys must each be written id:base64`;
    const id = colon === -1 ? DEFAULT_SECRETS_KEY_ID : entry.slice(0, colon);
    const encoded = colon === -1 ? entry : entry.slice(colon + 1);
    if (!KEY_ID.test(id)) return `key ${index + 1}: the id must match ${SECRETS_KEY_ID_PATTERN}`;
    if (keys.some((key) => key.id === id)) return `key id '${id}' is given twice`;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return `key '${id}' is not base64`;
    const material = Buffer.from(encoded, "base64");
    if (material.length !== SECRETS_KEY_BYTES) {
      return `key '${id}' must be ${SECRETS_KEY_BYTES} bytes of base64 (openssl rand -base64 32), not ${material.length}`;
    }
    keys.push({ id, material });
  }
  return new SecretsKeyring(keys);
}

/** A new random key, written as a one-key keyring. */
export function generateSecretsKeyring(): string {
  return `${DEFAULT_SECRETS_KEY_ID}:${randomBytes(SECRETS_KEY_BYTES).toString("base64")}`;
}

/** base64 of nonce ‖ ciphertext ‖ tag. */
export function sealSecret(key: SecretsKey, plaintext: string, associatedData: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key.material, nonce);
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString("base64");
}

/** The plaintext, or null when the key, the associated data or the ciphertext do not match. */
export function openSecret(key: SecretsKey, sealed: string, associatedData: string): string | null {
  const bytes = Buffer.from(sealed, "base64");
  if (bytes.length < NONCE_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key.material, bytes.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(associatedData, "utf8"));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const body = bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
  } catch {
    return null;
  }
}

/** What a value is bound to: its row's place, so it cannot be moved to another. */
export function secretAssociatedData(orgId: string, workspaceId: string, name: string): string {
  return `capstan/secret/v1\u0000${orgId}\u0000${workspaceId}\u0000${name}`;
}

/** What a webhook's signing secret is bound to: its org and webhook. */
export function webhookSecretAssociatedData(orgId: string, webhookId: string): string {
  return `capstan/webhook-secret/v1\u0000${orgId}\u0000${webhookId}`;
}
