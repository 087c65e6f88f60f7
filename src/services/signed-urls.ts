// Signed blob download URLs (SPEC §5): a runtime or a browser fetches a bundle without an API key,
// for a few minutes. The signature is an HMAC of the blob digest and the expiry; the key is
// CAPSTAN_SIGNING_SECRET or, when unset, a secret generated once and kept in `settings`, so every
// instance on the same database signs and verifies alike.
import { createHmac, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import type { Readable } from "node:stream";
import { ConfigError } from "../config.js";
import { insertSettingUnlessPresent, updateSetting } from "../db/repositories/settings-repository.js";
import { AppError } from "../errors.js";
import type { ServiceDeps } from "./deps.js";

export const SIGNED_URL_TTL_SECONDS = 15 * 60;
const SECRET_SETTING = "signing_secret";

export interface SignedBlobUrl {
  url: string;
  expiresAt: string;
}

const secrets = new WeakMap<ServiceDeps, Promise<string>>();

/** The HMAC key, read once per process (per deps: tests run several apps side by side). */
function signingSecret(deps: ServiceDeps): Promise<string> {
  let secret = secrets.get(deps);
  if (!secret) {
    secret = deps.config.signingSecret ? Promise.resolve(deps.config.signingSecret) : loadStoredSecret(deps);
    // A failed read (database down) must not be remembered.
    secret.catch(() => secrets.delete(deps));
    secrets.set(deps, secret);
  }
  return secret;
}

async function loadStoredSecret(deps: ServiceDeps): Promise<string> {
  // Insert-or-ignore, then read back: two instances starting at once agree on the first writer's.
  return insertSettingUnlessPresent(deps.db, SECRET_SETTING, randomBytes(32).toString("hex"));
}

// --- one secret per database ------------------------------------------------------------------------
// An instance started without CAPSTAN_SIGNING_SECRET beside instances that have it once booted and
// signed URLs the others refused as `expired_signature_error`, which reads like clock skew. So the
// database keeps a fingerprint of the secret its instances sign with, and an instance whose secret
// differs does not start. The fingerprint is scrypt of the secret with a random salt kept beside it:
// it tells secrets apart, and whoever reads the settings table (a backup, say) pays scrypt's memory
// and time for every guess at the secret, where a plain hash or an HMAC of a label would cost them
// one SHA-256 per guess.

const FINGERPRINT_SETTING = "signing_secret_fingerprint";
// N = 2^15, r = 8: 32 MiB and about a tenth of a second per guess, paid once per boot here.
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

interface StoredFingerprint {
  kdf: "scrypt";
  /** Hex; random per database. */
  salt: string;
  fingerprint: string;
  /** Where the secret came from on the instance that recorded it. */
  source: "environment" | "generated";
}

/** scrypt(secret, salt) in hex, off the event loop (libuv's thread pool). */
export function signingSecretFingerprint(secret: string, salt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    scrypt(secret, Buffer.from(salt, "hex"), 32, SCRYPT, (error, key) =>
      error ? reject(error) : resolve(key.toString("hex")),
    );
  });
}

export type SigningSecretCheck = "matched" | "rotated";

/**
 * Records the active secret's fingerprint on the first boot and compares it on every later one;
 * run under the boot lock. `rotate` (CAPSTAN_ROTATE_SIGNING_SECRET) makes this instance's secret
 * the database's. A mismatch is a ConfigError naming CAPSTAN_SIGNING_SECRET (exit 2).
 */
export async function checkSigningSecret(deps: ServiceDeps, rotate: boolean): Promise<SigningSecretCheck> {
  const secret = await signingSecret(deps);
  const source = deps.config.signingSecret ? "environment" : "generated";
  const record = async (): Promise<StoredFingerprint> => {
    const salt = randomBytes(16).toString("hex");
    return { kdf: "scrypt", salt, fingerprint: await signingSecretFingerprint(secret, salt), source };
  };
  const first = await record();
  const stored = parseFingerprint(
    await insertSettingUnlessPresent(deps.db, FINGERPRINT_SETTING, JSON.stringify(first)),
  );
  if (stored !== null) {
    const mine =
      stored.salt === first.salt ? first.fingerprint : await signingSecretFingerprint(secret, stored.salt);
    if (timingSafeEqual(Buffer.from(mine, "hex"), Buffer.from(stored.fingerprint, "hex"))) return "matched";
  }
  // A record in no form this code writes tells nothing about the secret: replace it, as on a first boot.
  if (rotate || stored === null) {
    await updateSetting(deps.db, FINGERPRINT_SETTING, JSON.stringify(await record()));
    return stored === null ? "matched" : "rotated";
  }
  throw new ConfigError("CAPSTAN_SIGNING_SECRET", mismatchMessage(source, stored.source));
}

const HEX_32_BYTES = /^[0-9a-f]{64}$/;
const HEX_SALT = /^[0-9a-f]{32}$/;

function parseFingerprint(value: string): StoredFingerprint | null {
  try {
    const parsed = JSON.parse(value) as Partial<StoredFingerprint>;
    const valid =
      parsed.kdf === "scrypt" &&
      typeof parsed.salt === "string" &&
      HEX_SALT.test(parsed.salt) &&
      typeof parsed.fingerprint === "string" &&
      HEX_32_BYTES.test(parsed.fingerprint);
    return valid ? (parsed as StoredFingerprint) : null;
  } catch {
    return null;
  }
}

const ROTATE_HINT =
  "To make this instance's secret the new one (a rotation: URLs signed before stop working), stop every instance, start one with CAPSTAN_ROTATE_SIGNING_SECRET=true, then start the others with the same CAPSTAN_SIGNING_SECRET.";

function mismatchMessage(
  mine: StoredFingerprint["source"],
  theirs: StoredFingerprint["source"] | undefined,
): string {
  if (mine === "generated" && theirs === "environment") {
    return `is not set, but the instances on this database sign download URLs with a secret given in CAPSTAN_SIGNING_SECRET; their URLs would fail here (and this instance's there) as expired_signature_error. Set CAPSTAN_SIGNING_SECRET to the same value on every instance. ${ROTATE_HINT}`;
  }
  if (mine === "environment" && theirs === "generated") {
    return `is set, but this database's download URLs are signed with the secret Capstan generated and stored when CAPSTAN_SIGNING_SECRET was unset. Unset it here, or adopt it as the new secret. ${ROTATE_HINT}`;
  }
  return `differs from the secret the instances on this database sign download URLs with; their URLs would fail here (and this instance's there) as expired_signature_error. Give every instance the same CAPSTAN_SIGNING_SECRET. ${ROTATE_HINT}`;
}

function signatureOf(secret: string, sha256: string, exp: string): string {
  return createHmac("sha256", secret).update(`${sha256}\n${exp}`).digest("hex");
}

function baseUrl(deps: ServiceDeps): string {
  return deps.config.publicUrl ?? `http://${deps.config.host}:${deps.config.port}`;
}

export async function signBlobUrl(deps: ServiceDeps, sha256: string): Promise<SignedBlobUrl> {
  const digest = sha256.toLowerCase();
  const expSeconds = Math.floor(deps.now().getTime() / 1000) + SIGNED_URL_TTL_SECONDS;
  const exp = String(expSeconds);
  const sig = signatureOf(await signingSecret(deps), digest, exp);
  return {
    url: `${baseUrl(deps)}/api/v1/blobs/${digest}?exp=${exp}&sig=${sig}`,
    expiresAt: new Date(expSeconds * 1000).toISOString(),
  };
}

/** 403 `expired_signature_error` unless `sig` signs `sha256` and `exp`, and `exp` has not passed. */
export async function verifyBlobSignature(
  deps: ServiceDeps,
  sha256: string,
  exp: string | undefined,
  sig: string | undefined,
): Promise<void> {
  const refused = new AppError("expired_signature_error", "The download URL has expired or is not valid");
  if (exp === undefined || sig === undefined || !/^\d{1,12}$/.test(exp) || !/^[0-9a-f]{64}$/i.test(sig)) {
    throw refused;
  }
  const expected = Buffer.from(signatureOf(await signingSecret(deps), sha256.toLowerCase(), exp), "hex");
  if (!timingSafeEqual(expected, Buffer.from(sig, "hex"))) throw refused;
  if (Number(exp) * 1000 < deps.now().getTime()) throw refused;
}

export interface BlobDownload {
  content: Readable;
  /** Size of the whole blob. */
  size: number;
  /** The inclusive byte range sent, when the request asked for a satisfiable one. */
  range: ByteRange | null;
}

export interface ByteRange {
  start: number;
  end: number;
}

/** Verifies the signature, then opens the blob, or the part of it `Range` asks for. */
export async function openSignedBlob(
  deps: ServiceDeps,
  sha256: string,
  signature: { exp?: string; sig?: string },
  rangeHeader: string | undefined,
): Promise<BlobDownload> {
  const digest = sha256.toLowerCase();
  await verifyBlobSignature(deps, digest, signature.exp, signature.sig);
  const size = await deps.blobs.size(digest);
  if (size === null) throw new AppError("not_found_error", "Blob not found");
  const range = rangeHeader === undefined ? null : parseByteRange(rangeHeader, size);
  const content = await deps.blobs.open(digest, range ?? undefined);
  if (content === null) throw new AppError("not_found_error", "Blob not found");
  return { content, size, range };
}

/**
 * A single `bytes=` range (RFC 9110 §14.1.2). A malformed or multi-range header is ignored, which
 * the RFC allows (the whole blob is sent). A range starting past the end cannot be answered with
 * 416, a status this API never sends, so it is a 400.
 */
export function parseByteRange(header: string, size: number): ByteRange | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return null;
  const [, first, last] = match;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) throw unsatisfiableRange(size);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size) throw unsatisfiableRange(size);
  if (end < start) return null;
  return { start, end };
}

function unsatisfiableRange(size: number): AppError {
  return new AppError("invalid_error", `The requested range is not satisfiable (the blob has ${size} bytes)`);
}
