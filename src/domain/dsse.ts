// Capability signatures (SPEC §14): DSSE envelopes (github.com/secure-systems-lab/dsse, protocol
// v1.0.0) whose payload is an in-toto Statement v1 naming one bundle. Shared by the server, which
// verifies on arrival, and the CLI, which signs on push and verifies again before unpacking: a
// runtime does not take the server's word for a signature.
//
// Verification follows the DSSE protocol's order: decode, verify the signature over PAE, only then
// look at the payload type and parse the payload. The `keyid` is an unauthenticated hint: it only
// chooses which error to report, never whether a signature counts.
import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import type { Issue } from "./types.js";

export const DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
/** What a Capstan signature attests: "this key's holder published this bundle under this name". */
export const PUBLISH_PREDICATE_TYPE = "https://capstan.dev/attestation/publish/v1";

/** Larger envelopes are refused unread: a real one is well under 2 KiB. */
export const MAX_ENVELOPE_BYTES = 64 * 1024;
/** Signatures one envelope may carry; each costs one Ed25519 verification per candidate key. */
export const MAX_ENVELOPE_SIGNATURES = 8;
/** Registered keys per org: bounds the keys each signature is tried against. */
export const MAX_SIGNING_KEYS_PER_ORG = 50;
const MAX_PUBLIC_KEY_PEM_BYTES = 4096;
const ED25519_SIGNATURE_BYTES = 64;
/** Standard or URL-safe alphabet, padding optional: DSSE says verifiers MUST accept either. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export interface DsseSignature {
  keyid?: string;
  sig: string;
}

export interface DsseEnvelope {
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

/** A key a signature may be checked against. */
export interface TrustedKey {
  id: string;
  name: string;
  /** SPKI PEM of an Ed25519 key. */
  public_key: string;
}

/** The bundle a signature must name: `<org>/<capability>@<version>` and the archive's SHA-256. */
export interface SignatureSubject {
  org: string;
  capability: string;
  version: string;
  artifactSha256: string;
}

export function subjectName(subject: Pick<SignatureSubject, "org" | "capability" | "version">): string {
  return `${subject.org}/${subject.capability}@${subject.version}`;
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in bytes. */
export function preAuthEncoding(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, "utf8"),
    type,
    Buffer.from(` ${body.length} `, "utf8"),
    body,
  ]);
}

export class SignatureError extends Error {
  constructor(readonly issue: Issue) {
    super(issue.msg);
    this.name = "SignatureError";
  }
}

function fail(loc: Issue["loc"], type: "signature.invalid" | "signature.unknown_key", msg: string): never {
  throw new SignatureError({ loc, msg, type });
}

function decodeBase64(value: unknown, loc: Issue["loc"], what: string): Buffer {
  if (typeof value !== "string" || !BASE64.test(value))
    fail(loc, "signature.invalid", `${what} is not base64`);
  return Buffer.from(value, "base64");
}

/** The envelope's structure, from JSON text; anything malformed → `signature.invalid`. */
export function parseEnvelope(text: string, loc: Issue["loc"]): DsseEnvelope {
  if (Buffer.byteLength(text, "utf8") > MAX_ENVELOPE_BYTES) {
    fail(loc, "signature.invalid", `the envelope is larger than ${MAX_ENVELOPE_BYTES} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail(loc, "signature.invalid", "the envelope is not JSON");
  }
  return envelopeFrom(value, loc);
}

export function envelopeFrom(value: unknown, loc: Issue["loc"]): DsseEnvelope {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(loc, "signature.invalid", "the envelope must be a JSON object (DSSE)");
  }
  const { payload, payloadType, signatures } = value as Record<string, unknown>;
  if (typeof payload !== "string") fail([...loc, "payload"], "signature.invalid", "payload is required");
  if (typeof payloadType !== "string") {
    fail([...loc, "payloadType"], "signature.invalid", "payloadType is required");
  }
  if (!Array.isArray(signatures) || signatures.length === 0) {
    fail([...loc, "signatures"], "signature.invalid", "signatures must be a non-empty array");
  }
  if (signatures.length > MAX_ENVELOPE_SIGNATURES) {
    fail([...loc, "signatures"], "signature.invalid", `at most ${MAX_ENVELOPE_SIGNATURES} signatures`);
  }
  const parsed = signatures.map((item, index): DsseSignature => {
    const at = [...loc, "signatures", index];
    if (typeof item !== "object" || item === null)
      fail(at, "signature.invalid", "a signature must be an object");
    const { keyid, sig } = item as Record<string, unknown>;
    if (typeof sig !== "string") fail([...at, "sig"], "signature.invalid", "sig is required");
    if (keyid !== undefined && typeof keyid !== "string") {
      fail([...at, "keyid"], "signature.invalid", "keyid must be a string");
    }
    return keyid === undefined || keyid === "" ? { sig } : { keyid, sig };
  });
  return { payload, payloadType, signatures: parsed };
}

/** Hex SHA-256 of the key's SPKI DER: the `keyid` Capstan writes, and shown in key listings. */
export function keyFingerprint(key: KeyObject): string {
  return createHash("sha256")
    .update(key.export({ type: "spki", format: "der" }))
    .digest("hex");
}

export interface ParsedPublicKey {
  /** SPKI PEM re-exported from the parsed key. */
  pem: string;
  fingerprint: string;
}

/**
 * An Ed25519 public key in PEM. A private key is refused (createPublicKey would quietly derive the
 * public half, and the caller has just pasted a secret into a request); so is any other key type.
 */
export function parseEd25519PublicKey(text: string, loc: Issue["loc"]): ParsedPublicKey {
  const refuse = (msg: string, type = "signing_key.type"): never => {
    throw new SignatureError({ loc, msg, type });
  };
  if (Buffer.byteLength(text, "utf8") > MAX_PUBLIC_KEY_PEM_BYTES)
    refuse("the key is too long", "signing_key.format");
  if (/PRIVATE KEY/.test(text)) {
    refuse(
      "this is a private key: register the public key (`capstan signing-key generate` writes both)",
      "signing_key.private",
    );
  }
  if (!/^\s*-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----\s*$/.test(text)) {
    refuse("expected one PEM block `-----BEGIN PUBLIC KEY-----`", "signing_key.format");
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: "pem" });
  } catch {
    return refuse("the PEM block is not a readable public key", "signing_key.format");
  }
  if (key.asymmetricKeyType !== "ed25519") {
    refuse(`only Ed25519 keys are accepted, not ${key.asymmetricKeyType ?? "this key type"}`);
  }
  return { pem: String(key.export({ type: "spki", format: "pem" })), fingerprint: keyFingerprint(key) };
}

interface LoadedKey extends TrustedKey {
  key: KeyObject;
  fingerprint: string;
}

function loadKeys(keys: TrustedKey[]): LoadedKey[] {
  const loaded: LoadedKey[] = [];
  for (const trusted of keys) {
    try {
      const key = createPublicKey({ key: trusted.public_key, format: "pem" });
      if (key.asymmetricKeyType !== "ed25519") continue;
      loaded.push({ ...trusted, key, fingerprint: keyFingerprint(key) });
    } catch {
      // A key that does not parse trusts nothing.
    }
  }
  return loaded;
}

export interface VerifiedEnvelope {
  envelope: DsseEnvelope;
  /** The trusted keys at least one of the envelope's signatures verified against, in key order. */
  keys: TrustedKey[];
}

/**
 * Verifies `envelope` for `subject` against `trusted`: at least one signature must verify over PAE
 * with a trusted key, and every signature must (a signature no trusted key verifies is reported:
 * an envelope is not allowed to smuggle in a failing one). Then the payload must be an in-toto
 * Statement v1 naming the subject by name and digest. Throws SignatureError with the first problem.
 *
 * `revoked` are keys that used to be trusted: a signature by one is `signature.unknown_key` with a
 * message that says so, rather than `signature.invalid`.
 */
export function verifyEnvelope(
  envelope: DsseEnvelope,
  subject: SignatureSubject,
  trusted: TrustedKey[],
  loc: Issue["loc"],
  revoked: TrustedKey[] = [],
): VerifiedEnvelope {
  const body = decodeBase64(envelope.payload, [...loc, "payload"], "payload");
  const pae = preAuthEncoding(envelope.payloadType, body);
  const keys = loadKeys(trusted);
  const formerKeys = loadKeys(revoked);
  const accepted = new Map<string, TrustedKey>();
  // DSSE's (t, n) rule with t = 1: a signature no trusted key verifies is skipped (a co-signer's,
  // say), and the envelope counts once one verifies. The first failure is what a refusal reports.
  let firstFailure: Issue | undefined;
  envelope.signatures.forEach((signature, index) => {
    const at = [...loc, "signatures", index];
    try {
      const key = verifySignature(signature, pae, keys, formerKeys, subject, at);
      accepted.set(key.id, { id: key.id, name: key.name, public_key: key.public_key });
    } catch (error) {
      if (!(error instanceof SignatureError)) throw error;
      firstFailure ??= error.issue;
    }
  });
  if (accepted.size === 0 && firstFailure) throw new SignatureError(firstFailure);
  if (envelope.payloadType !== DSSE_PAYLOAD_TYPE) {
    fail([...loc, "payloadType"], "signature.invalid", `payloadType must be '${DSSE_PAYLOAD_TYPE}'`);
  }
  assertStatementNames(body, subject, [...loc, "payload"]);
  return { envelope, keys: [...accepted.values()] };
}

function verifySignature(
  signature: DsseSignature,
  pae: Buffer,
  keys: LoadedKey[],
  formerKeys: LoadedKey[],
  subject: SignatureSubject,
  at: Issue["loc"],
): LoadedKey {
  const sig = decodeBase64(signature.sig, [...at, "sig"], "sig");
  const verifiesWith = (key: LoadedKey) =>
    sig.length === ED25519_SIGNATURE_BYTES && verify(null, pae, key.key, sig);
  const verifiedBy = keys.find(verifiesWith);
  if (verifiedBy) return verifiedBy;
  const hinted = signature.keyid && keys.find((k) => k.fingerprint === signature.keyid);
  if (hinted) {
    fail(
      at,
      "signature.invalid",
      `the signature does not verify with key '${hinted.name}': the envelope was altered or signed over other bytes`,
    );
  }
  const former = formerKeys.find(verifiesWith);
  if (former) fail(at, "signature.unknown_key", `the signing key '${former.name}' is revoked`);
  return fail(
    at,
    "signature.unknown_key",
    `no registered signing key of '${subject.org}' verifies this signature (register its public key with \`capstan signing-key register\`)`,
  );
}

function assertStatementNames(body: Buffer, subject: SignatureSubject, loc: Issue["loc"]): void {
  let statement: unknown;
  try {
    statement = JSON.parse(body.toString("utf8"));
  } catch {
    fail(loc, "signature.invalid", "the payload is not JSON");
  }
  const { _type, subject: subjects } = (statement ?? {}) as Record<string, unknown>;
  if (_type !== STATEMENT_TYPE)
    fail(loc, "signature.invalid", `the payload must be an in-toto Statement (${STATEMENT_TYPE})`);
  if (!Array.isArray(subjects)) fail(loc, "signature.invalid", "the statement has no subject");
  const name = subjectName(subject);
  const named = subjects.filter(
    (entry): entry is { name: string; digest?: Record<string, unknown> } =>
      typeof entry === "object" && entry !== null && (entry as { name?: unknown }).name === name,
  );
  if (named.length === 0) {
    const others = subjects
      .map((entry) => (entry as { name?: unknown })?.name)
      .filter((n): n is string => typeof n === "string")
      .slice(0, 3);
    fail(
      loc,
      "signature.invalid",
      `the statement signs ${others.length > 0 ? others.map((n) => `'${n}'`).join(", ") : "no named subject"}, not '${name}'`,
    );
  }
  const digestMatches = named.some(
    (entry) =>
      typeof entry.digest?.sha256 === "string" &&
      entry.digest.sha256.toLowerCase() === subject.artifactSha256,
  );
  if (!digestMatches) {
    fail(
      loc,
      "signature.invalid",
      `the statement's sha256 for '${name}' is not this bundle's (${subject.artifactSha256})`,
    );
  }
}

/** The in-toto Statement v1 for a bundle, as the bytes that get signed. */
export function statementFor(subject: SignatureSubject): Buffer {
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: subjectName(subject), digest: { sha256: subject.artifactSha256 } }],
    predicateType: PUBLISH_PREDICATE_TYPE,
    predicate: {},
  };
  return Buffer.from(JSON.stringify(statement), "utf8");
}

/** Signs the bundle's statement with an Ed25519 private key: one DSSE envelope, one signature. */
export function signSubject(subject: SignatureSubject, privateKey: KeyObject): DsseEnvelope {
  if (privateKey.asymmetricKeyType !== "ed25519") throw new Error("the signing key must be Ed25519");
  const body = statementFor(subject);
  const sig = sign(null, preAuthEncoding(DSSE_PAYLOAD_TYPE, body), privateKey);
  const publicKey = createPublicKey(privateKey);
  return {
    payload: body.toString("base64"),
    payloadType: DSSE_PAYLOAD_TYPE,
    signatures: [{ keyid: keyFingerprint(publicKey), sig: sig.toString("base64") }],
  };
}
