// DSSE's pre-authentication encoding against the specification's own test vector, and a sign →
// verify round trip of the in-toto statement Capstan writes.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import { preAuthEncoding, SignatureError, signSubject, verifyEnvelope } from "../../src/domain/dsse.js";

describe("DSSE", () => {
  test("PAE matches the specification's test vector", () => {
    assert.equal(
      preAuthEncoding("http://example.com/HelloWorld", Buffer.from("hello world")).toString("utf8"),
      "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
    );
  });

  test("lengths are byte lengths, not character counts", () => {
    assert.equal(preAuthEncoding("t", Buffer.from("é", "utf8")).toString("utf8"), "DSSEv1 1 t 2 é");
  });

  test("a signed statement verifies for its subject only; URL-safe base64 is accepted", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const key = { id: "k", name: "k", public_key: String(publicKey.export({ type: "spki", format: "pem" })) };
    const subject = { org: "acme", capability: "tool", version: "1.0.0", artifactSha256: "ab".repeat(32) };
    const envelope = signSubject(subject, privateKey);
    assert.deepEqual(verifyEnvelope(envelope, subject, [key], []).keys, [key]);
    const urlSafe = {
      ...envelope,
      signatures: envelope.signatures.map((s) => ({
        ...s,
        sig: s.sig.replace(/\+/g, "-").replace(/\//g, "_"),
      })),
    };
    assert.equal(verifyEnvelope(urlSafe, subject, [key], []).keys.length, 1);
    assert.throws(
      () => verifyEnvelope(envelope, { ...subject, version: "1.0.1" }, [key], []),
      (error: unknown) => error instanceof SignatureError && error.issue.type === "signature.invalid",
    );
    assert.throws(
      () => verifyEnvelope(envelope, subject, [], []),
      (error: unknown) => error instanceof SignatureError && error.issue.type === "signature.unknown_key",
    );
  });
});
