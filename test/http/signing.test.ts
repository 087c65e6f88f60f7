// Signing keys and capability signatures (SPEC §14): keys an owner registers, DSSE envelopes sent
// with a publish or later, each verified on arrival; the detail's `signatures`; revocation; and
// `policy: {require_signed: true}` across bind, upgrade and reconcile.
import assert from "node:assert/strict";
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, verify } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { signSubject } from "../../src/domain/dsse.js";
import { callApi, expectError } from "../helpers/api.js";
import { bindingsUrl, bindingUrl, newRuntime, readResolved, runtimeUrl } from "../helpers/bindings.js";
import { capabilityBundle, publishBundle } from "../helpers/capability-bundles.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const KEYS = "/api/v1/org/default/signing-keys";
const cap = (name: string, version: string) => `/api/v1/org/default/capabilities/${name}/${version}`;

interface Detail {
  id: string;
  artifact_sha256: string;
  signatures: { key_id: string; key_name: string; verified_at: string }[];
}

function ed25519(): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, publicPem: String(publicKey.export({ type: "spki", format: "pem" })) };
}

/** A multipart publish body: `signature` text fields before and/or after the `bundle` file. */
function multipart(bundle: Buffer, before: string[], afterBundle: string[] = []) {
  const boundary = "----capstan-signing-boundary";
  const field = (value: string) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="signature"\r\n\r\n${value}\r\n`);
  const file = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="bundle"; filename="b.tar.gz"\r\nContent-Type: application/gzip\r\n\r\n`,
    ),
    bundle,
    Buffer.from("\r\n"),
  ]);
  return {
    payload: Buffer.concat([
      ...before.map(field),
      file,
      ...afterBundle.map(field),
      Buffer.from(`--${boundary}--\r\n`),
    ]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe("signing keys and signatures", () => {
  let t: TestApp;
  const main = ed25519();
  const other = ed25519();
  let mainKeyId: string;

  const publishSigned = async (bundle: Buffer, envelopes: string[], afterBundle: string[] = []) => {
    const body = multipart(bundle, envelopes, afterBundle);
    return t.app.inject({
      method: "POST",
      url: "/api/v1/org/default/capabilities",
      headers: { ...bearer(t.adminKey), "content-type": body.contentType },
      payload: body.payload,
    });
  };
  const detail = async (name: string, version: string): Promise<Detail> => {
    const res = await callApi(t, "GET", cap(name, version), t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const envelopeFor = (
    name: string,
    version: string,
    digest: string,
    key = main.privateKey,
    org = "default",
  ) => signSubject({ org, capability: name, version, artifactSha256: digest }, key);
  const publishPlain = async (name: string, version: string): Promise<Detail> => {
    const res = await publishBundle(t, capabilityBundle({ name, version }));
    assert.equal(res.statusCode, 201, res.body);
    return res.json();
  };

  before(async () => {
    t = await buildTestApp();
    const res = await callApi(t, "POST", KEYS, t.adminKey, { name: "release", public_key: main.publicPem });
    assert.equal(res.statusCode, 201, res.body);
    mainKeyId = res.json().id;
  });
  after(() => t.close());

  describe("keys", () => {
    test("an owner registers an Ed25519 key; the listing shows it with its fingerprint", async () => {
      const res = await callApi(t, "GET", KEYS, t.adminKey);
      assert.equal(res.statusCode, 200, res.body);
      const [key] = res.json().items;
      assert.equal(key.id, mainKeyId);
      assert.equal(key.name, "release");
      assert.equal(key.revoked_at, null);
      const der = createPublicKey(main.publicPem).export({ type: "spki", format: "der" });
      assert.equal(key.fingerprint, sha256(der));
    });

    test("other key types, private keys and garbage are refused with 422, nothing stored", async () => {
      const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
      const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const cases: [string, string][] = [
        [String(rsa.publicKey.export({ type: "spki", format: "pem" })), "signing_key.type"],
        [String(ec.publicKey.export({ type: "spki", format: "pem" })), "signing_key.type"],
        [String(main.privateKey.export({ type: "pkcs8", format: "pem" })), "signing_key.private"],
        ["-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n", "signing_key.format"],
        ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", "signing_key.format"],
      ];
      for (const [publicKey, type] of cases) {
        const res = await callApi(t, "POST", KEYS, t.adminKey, { name: "bad", public_key: publicKey });
        expectError(res, 422, "validation_error", ["body", "public_key"]);
        assert.equal(res.json().errors[0].type, type, res.body);
        assert.ok(!res.body.includes("PRIVATE KEY"), "the private key is never echoed");
      }
      const list = await callApi(t, "GET", KEYS, t.adminKey);
      assert.equal(list.json().items.length, 1);
    });

    test("the same key twice is 409; contributors get 403 and strangers 404", async () => {
      expectError(
        await callApi(t, "POST", KEYS, t.adminKey, { name: "again", public_key: main.publicPem }),
        409,
        "already_exists_error",
      );
      const contributor = await newUserKey(t, { org: "default", role: "contributor" });
      expectError(
        await callApi(t, "POST", KEYS, contributor.key, { name: "c", public_key: other.publicPem }),
        403,
        "forbidden_error",
      );
      const stranger = await newStranger(t);
      expectError(await callApi(t, "GET", KEYS, stranger.key), 404, "not_found_error");
      expectError(await callApi(t, "DELETE", `${KEYS}/${mainKeyId}`, stranger.key), 404, "not_found_error");
    });
  });

  describe("signatures", () => {
    test("a publish carries signatures in multipart `signature` fields, before or after the bundle", async () => {
      const bundle = capabilityBundle({ name: "signed", version: "1.0.0" });
      const envelope = JSON.stringify(envelopeFor("signed", "1.0.0", sha256(bundle)));
      const res = await publishSigned(bundle, [], [envelope]);
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual(
        res.json().signatures.map((s: Detail["signatures"][number]) => [s.key_id, s.key_name]),
        [[mainKeyId, "release"]],
      );
      assert.deepEqual((await detail("signed", "1.0.0")).signatures.length, 1);

      const second = capabilityBundle({ name: "signed", version: "1.1.0" });
      const res2 = await publishSigned(second, [
        JSON.stringify(envelopeFor("signed", "1.1.0", sha256(second))),
      ]);
      assert.equal(res2.statusCode, 201, res2.body);
      assert.equal(res2.json().signatures[0].key_id, mainKeyId);
    });

    test("a signature added later: 201, then 200 for the same key again", async () => {
      const published = await publishPlain("later", "1.0.0");
      assert.deepEqual(published.signatures, []);
      const envelope = envelopeFor("later", "1.0.0", published.artifact_sha256);
      const res = await callApi(t, "POST", `${cap("later", "1.0.0")}/signatures`, t.adminKey, envelope);
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().signatures[0].key_name, "release");
      const again = await callApi(t, "POST", `${cap("later", "1.0.0")}/signatures`, t.adminKey, envelope);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal((await detail("later", "1.0.0")).signatures.length, 1);
    });

    test("each forged or misdirected signature is refused with its error type, and nothing changes", async () => {
      const target = await publishPlain("target", "1.0.0");
      const sibling = await publishPlain("target", "1.1.0");
      const good = envelopeFor("target", "1.0.0", target.artifact_sha256);
      const tampered = {
        ...good,
        payload: Buffer.from(
          Buffer.from(good.payload, "base64").toString("utf8").replace("target@1.0.0", "target@1.0.1"),
        ).toString("base64"),
      };
      const cases: [string, string, unknown, string][] = [
        ["tampered payload", "1.0.0", tampered, "signature.invalid"],
        [
          "unregistered key",
          "1.0.0",
          envelopeFor("target", "1.0.0", target.artifact_sha256, other.privateKey),
          "signature.unknown_key",
        ],
        ["another version's signature", "1.1.0", good, "signature.invalid"],
        [
          "the same digest under another name",
          "1.0.0",
          envelopeFor("impostor", "1.0.0", target.artifact_sha256),
          "signature.invalid",
        ],
        [
          "another org's subject",
          "1.0.0",
          envelopeFor("target", "1.0.0", target.artifact_sha256, main.privateKey, "acme"),
          "signature.invalid",
        ],
        ["a wrong payload type", "1.0.0", { ...good, payloadType: "application/json" }, "signature.invalid"],
        [
          "a signature that is not base64",
          "1.0.0",
          { ...good, signatures: [{ sig: "%%%" }] },
          "signature.invalid",
        ],
      ];
      for (const [label, version, envelope, type] of cases) {
        const res = await callApi(t, "POST", `${cap("target", version)}/signatures`, t.adminKey, envelope);
        expectError(res, 422, "validation_error");
        assert.equal(res.json().errors[0].type, type, `${label}: ${res.body}`);
      }
      assert.deepEqual((await detail("target", "1.0.0")).signatures, []);
      assert.deepEqual((await detail("target", "1.1.0")).signatures, []);
      void sibling;

      // A publish with a bad signature is refused whole: the version is not created.
      const bundle = capabilityBundle({ name: "target", version: "1.2.0" });
      const res = await publishSigned(bundle, [
        JSON.stringify(envelopeFor("target", "1.2.0", sha256(bundle), other.privateKey)),
      ]);
      expectError(res, 422, "validation_error");
      assert.deepEqual(res.json().errors[0].loc.slice(0, 3), ["body", "signature", 0]);
      assert.equal(res.json().errors[0].type, "signature.unknown_key");
      expectError(await callApi(t, "GET", cap("target", "1.2.0"), t.adminKey), 404, "not_found_error");
      const junk = await publishSigned(bundle, ["{not json"]);
      expectError(junk, 422, "validation_error");
      assert.equal(junk.json().errors[0].type, "signature.invalid");
    });

    test("a reader cannot sign (403) and a stranger sees nothing (404)", async () => {
      const published = await publishPlain("guarded", "1.0.0");
      const envelope = envelopeFor("guarded", "1.0.0", published.artifact_sha256);
      const reader = await newUserKey(t, { org: "default", role: "reader" });
      expectError(
        await callApi(t, "POST", `${cap("guarded", "1.0.0")}/signatures`, reader.key, envelope),
        403,
        "forbidden_error",
      );
      const stranger = await newStranger(t);
      expectError(
        await callApi(t, "POST", `${cap("guarded", "1.0.0")}/signatures`, stranger.key, envelope),
        404,
        "not_found_error",
      );
      expectError(
        await callApi(t, "POST", `${cap("guarded", "9.9.9")}/signatures`, t.adminKey, envelope),
        404,
        "not_found_error",
      );
    });

    test("revoking a key: its signatures stop counting, new ones by it are refused, the row stays", async () => {
      const temp = ed25519();
      const res = await callApi(t, "POST", KEYS, t.adminKey, { name: "temp", public_key: temp.publicPem });
      const tempId = res.json().id;
      const published = await publishPlain("revoked", "1.0.0");
      const signed = await callApi(
        t,
        "POST",
        `${cap("revoked", "1.0.0")}/signatures`,
        t.adminKey,
        envelopeFor("revoked", "1.0.0", published.artifact_sha256, temp.privateKey),
      );
      assert.equal(signed.statusCode, 201, signed.body);
      assert.equal((await detail("revoked", "1.0.0")).signatures.length, 1);

      const revoke = await callApi(t, "DELETE", `${KEYS}/${tempId.toUpperCase()}`, t.adminKey);
      assert.equal(revoke.statusCode, 204, revoke.body);
      assert.deepEqual((await detail("revoked", "1.0.0")).signatures, []);
      const again = await callApi(
        t,
        "POST",
        `${cap("revoked", "1.0.0")}/signatures`,
        t.adminKey,
        envelopeFor("revoked", "1.0.0", published.artifact_sha256, temp.privateKey),
      );
      expectError(again, 422, "validation_error");
      assert.equal(again.json().errors[0].type, "signature.unknown_key");
      assert.match(again.json().errors[0].msg, /revoked/);
      const listed = (await callApi(t, "GET", KEYS, t.adminKey)).json().items;
      assert.ok(listed.find((k: { id: string; revoked_at: string | null }) => k.id === tempId)?.revoked_at);
      // Registering the revoked key again would undo the revocation.
      expectError(
        await callApi(t, "POST", KEYS, t.adminKey, { name: "temp2", public_key: temp.publicPem }),
        409,
        "already_exists_error",
      );
      expectError(
        await callApi(t, "DELETE", `${KEYS}/${crypto.randomUUID()}`, t.adminKey),
        404,
        "not_found_error",
      );
    });
  });

  describe("policy require_signed", () => {
    let runtimeId: string;
    before(async () => {
      runtimeId = await newRuntime(t, "strict");
      const res = await callApi(t, "PUT", `${runtimeUrl(runtimeId)}/config`, t.adminKey, {
        config: { version: "v2", policy: { require_signed: true } },
      });
      assert.equal(res.statusCode, 200, res.body);
      // "signed" 1.0.0 and 1.1.0 are signed (above); publish an unsigned 1.2.0 and "plain" 1.0.0.
      await publishPlain("signed", "1.2.0");
      await publishPlain("plain", "1.0.0");
    });

    test("bind refuses an unsigned version with 409 and accepts a signed one", async () => {
      expectError(
        await callApi(t, "POST", bindingsUrl(runtimeId), t.adminKey, { name: "plain" }),
        409,
        "conflict_error",
      );
      // latest of "signed" is the unsigned 1.2.0.
      expectError(
        await callApi(t, "POST", bindingsUrl(runtimeId), t.adminKey, { name: "signed" }),
        409,
        "conflict_error",
      );
      const ok = await callApi(t, "POST", bindingsUrl(runtimeId), t.adminKey, {
        name: "signed",
        version: "1.0.0",
      });
      assert.equal(ok.statusCode, 201, ok.body);
    });

    test("an upgrade to an unsigned version is 409; to a signed one it goes through", async () => {
      const [binding] = (await callApi(t, "GET", bindingsUrl(runtimeId), t.adminKey)).json().items;
      expectError(
        await callApi(t, "PATCH", bindingUrl(runtimeId, binding.id), t.adminKey, { version: "1.2.0" }),
        409,
        "conflict_error",
      );
      const up = await callApi(t, "PATCH", bindingUrl(runtimeId, binding.id), t.adminKey, {
        version: "1.1.0",
      });
      assert.equal(up.statusCode, 200, up.body);
      // Toggling the bound (signed) version is not binding anything new.
      const off = await callApi(t, "PATCH", bindingUrl(runtimeId, binding.id), t.adminKey, {
        enabled: false,
      });
      assert.equal(off.statusCode, 200, off.body);
      await callApi(t, "PATCH", bindingUrl(runtimeId, binding.id), t.adminKey, { enabled: true });
    });

    test("a reconcile (apply) with an unsigned version is 409 and changes nothing, dry run included", async () => {
      const put = (capabilities: unknown[], query = "") =>
        callApi(t, "PUT", `${runtimeUrl(runtimeId)}/config${query}`, t.adminKey, {
          config: { version: "v2", policy: { require_signed: true }, capabilities },
        });
      const before = (await callApi(t, "GET", bindingsUrl(runtimeId), t.adminKey)).body;
      expectError(
        await put([{ name: "signed", version: "1.1.0" }, { name: "plain" }]),
        409,
        "conflict_error",
      );
      expectError(await put([{ name: "signed", version: "1.2.0" }], "?dry_run=true"), 409, "conflict_error");
      assert.equal((await callApi(t, "GET", bindingsUrl(runtimeId), t.adminKey)).body, before);
      const ok = await put([{ name: "signed", version: "1.0.0" }]);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.json().config.policy, { require_signed: true });
      // The same list without the policy binds the unsigned version.
      const runtime2 = await newRuntime(t, "lenient");
      const lenient = await callApi(t, "PUT", `${runtimeUrl(runtime2)}/config`, t.adminKey, {
        config: { version: "v2", capabilities: [{ name: "plain" }] },
      });
      assert.equal(lenient.statusCode, 200, lenient.body);
    });

    test("auto-update never moves a require_signed runtime onto an unsigned version", async () => {
      const strict = await newRuntime(t, "strict-auto");
      const policy = await callApi(t, "PUT", `${runtimeUrl(strict)}/config`, t.adminKey, {
        config: { version: "v2", policy: { require_signed: true } },
      });
      assert.equal(policy.statusCode, 200, policy.body);
      const lenient = await newRuntime(t, "lenient-auto");
      const first = capabilityBundle({ name: "follow", version: "1.0.0" });
      const signedFirst = JSON.stringify(envelopeFor("follow", "1.0.0", sha256(first)));
      assert.equal((await publishSigned(first, [signedFirst])).statusCode, 201);
      for (const runtime of [strict, lenient]) {
        const res = await callApi(t, "POST", bindingsUrl(runtime), t.adminKey, {
          name: "follow",
          auto_update: true,
        });
        assert.equal(res.statusCode, 201, res.body);
      }
      const versionOn = async (runtime: string) =>
        (await callApi(t, "GET", bindingsUrl(runtime), t.adminKey)).json().items[0].version;

      // An unsigned latest moves the lenient runtime only; the publish itself succeeds.
      await publishPlain("follow", "1.1.0");
      assert.equal(await versionOn(lenient), "1.1.0");
      assert.equal(await versionOn(strict), "1.0.0");

      // The next signed target moves both.
      const third = capabilityBundle({ name: "follow", version: "1.2.0" });
      const signedThird = JSON.stringify(envelopeFor("follow", "1.2.0", sha256(third)));
      assert.equal((await publishSigned(third, [signedThird])).statusCode, 201);
      assert.equal(await versionOn(lenient), "1.2.0");
      assert.equal(await versionOn(strict), "1.2.0");
    });

    test("with_dependencies never binds an unsigned dependency for a require_signed runtime", async () => {
      const runtime = await newRuntime(t, "strict-deps");
      const policy = await callApi(t, "PUT", `${runtimeUrl(runtime)}/config`, t.adminKey, {
        config: { version: "v2", policy: { require_signed: true } },
      });
      assert.equal(policy.statusCode, 200, policy.body);
      // "needs-plain" is signed; what it requires ("plain" 1.0.0) is not.
      const bundle = capabilityBundle({
        name: "needs-plain",
        version: "1.0.0",
        manifestExtra: 'requires:\n  plain: "^1.0.0"',
      });
      const envelope = JSON.stringify(envelopeFor("needs-plain", "1.0.0", sha256(bundle)));
      const published = await publishSigned(bundle, [envelope]);
      assert.equal(published.statusCode, 201, published.body);
      expectError(
        await callApi(t, "POST", bindingsUrl(runtime), t.adminKey, {
          name: "needs-plain",
          with_dependencies: true,
        }),
        409,
        "conflict_error",
      );
      const items = (await callApi(t, "GET", bindingsUrl(runtime), t.adminKey)).json().items;
      assert.deepEqual(items, [], "nothing was bound, the requirer included");
    });

    test("the resolved set carries the envelopes, the owner's trusted keys and the policy", async () => {
      const resolved = (await readResolved(t, runtimeId)) as unknown as {
        capabilities: {
          name: string;
          version: string;
          artifact_digest: string;
          signatures: { payload: string; payloadType: string; signatures: { sig: string }[] }[];
        }[];
        trusted_keys: { id: string; org: string; public_key: string }[];
        policy: { require_signed: boolean };
      };
      assert.deepEqual(resolved.policy, { require_signed: true });
      assert.deepEqual(
        resolved.trusted_keys.map((k) => [k.id, k.org]),
        [[mainKeyId, "default"]],
        "the revoked key is not trusted",
      );
      const [entry] = resolved.capabilities;
      assert.equal(entry.signatures.length, 1);

      // Interoperability: verified with node:crypto alone, written from the DSSE specification.
      const envelope = entry.signatures[0];
      const body = Buffer.from(envelope.payload, "base64");
      const type = Buffer.from(envelope.payloadType, "utf8");
      const pae = Buffer.concat([
        Buffer.from(`DSSEv1 ${type.length} `),
        type,
        Buffer.from(` ${body.length} `),
        body,
      ]);
      const publicKey = createPublicKey(resolved.trusted_keys[0].public_key);
      assert.equal(verify(null, pae, publicKey, Buffer.from(envelope.signatures[0].sig, "base64")), true);
      const statement = JSON.parse(body.toString("utf8"));
      assert.equal(envelope.payloadType, "application/vnd.in-toto+json");
      assert.equal(statement._type, "https://in-toto.io/Statement/v1");
      assert.deepEqual(statement.subject, [
        {
          name: `default/${entry.name}@${entry.version}`,
          digest: { sha256: entry.artifact_digest.slice(7) },
        },
      ]);
      // A flipped byte fails the same check.
      const forged = Buffer.from(pae);
      forged[forged.length - 2] ^= 1;
      assert.equal(verify(null, forged, publicKey, Buffer.from(envelope.signatures[0].sig, "base64")), false);
    });

    test("another org's public capability is checked against its owner's keys", async () => {
      await newOrg(t, "acme-sign");
      const bundle = capabilityBundle({ name: "shared", version: "1.0.0" });
      const res = await publishBundle(t, bundle, { org: "acme-sign", query: "public=true" });
      assert.equal(res.statusCode, 201, res.body);
      // Signed by the default org's key: acme-sign has no keys, so it is unknown there.
      const envelope = envelopeFor("shared", "1.0.0", sha256(bundle), main.privateKey, "acme-sign");
      const refused = await callApi(
        t,
        "POST",
        "/api/v1/org/acme-sign/capabilities/shared/1.0.0/signatures",
        t.adminKey,
        envelope,
      );
      expectError(refused, 422, "validation_error");
      assert.equal(refused.json().errors[0].type, "signature.unknown_key");
      expectError(
        await callApi(t, "POST", bindingsUrl(runtimeId), t.adminKey, { name: "acme-sign/shared" }),
        409,
        "conflict_error",
      );
    });
  });

  describe("trust reaches runtimes that already synced", () => {
    test("a new key, a revocation and a policy change each change the ETag, so If-None-Match gets 200", async () => {
      const runtime = await newRuntime(t, "etag-trust");
      const url = `${runtimeUrl(runtime)}/capabilities/resolved`;
      const read = async (etag?: string) =>
        t.app.inject({
          method: "GET",
          url,
          headers: { ...bearer(t.adminKey), ...(etag ? { "if-none-match": etag } : {}) },
        });
      // A signed version of "signed" is bound, so the owner's keys are in the set.
      assert.equal(
        (await callApi(t, "POST", bindingsUrl(runtime), t.adminKey, { name: "signed", version: "1.0.0" }))
          .statusCode,
        201,
      );
      const first = await read();
      const etag1 = String(first.headers.etag);
      assert.equal((await read(etag1)).statusCode, 304);

      const added = await callApi(t, "POST", KEYS, t.adminKey, {
        name: "second",
        public_key: other.publicPem,
      });
      assert.equal(added.statusCode, 201, added.body);
      const second = await read(etag1);
      assert.equal(second.statusCode, 200, "a new trusted key is a new body");
      const etag2 = String(second.headers.etag);
      assert.notEqual(etag2, etag1);
      assert.equal(second.json().runtime_digest, first.json().runtime_digest, "the content digest stays");

      assert.equal((await callApi(t, "DELETE", `${KEYS}/${added.json().id}`, t.adminKey)).statusCode, 204);
      const third = await read(etag2);
      assert.equal(third.statusCode, 200, "a revoked key is a new body");
      assert.ok(!third.json().trusted_keys.some((key: { id: string }) => key.id === added.json().id));
      const etag3 = String(third.headers.etag);

      const [binding] = (await callApi(t, "GET", bindingsUrl(runtime), t.adminKey)).json().items;
      const policy = await callApi(t, "PUT", `${runtimeUrl(runtime)}/config`, t.adminKey, {
        config: {
          version: "v2",
          policy: { require_signed: true },
          capabilities: [{ name: "signed", version: binding.version }],
        },
      });
      assert.equal(policy.statusCode, 200, policy.body);
      const fourth = await read(etag3);
      assert.equal(fourth.statusCode, 200, "a new policy is a new body");
      assert.deepEqual(fourth.json().policy, { require_signed: true });
    });
  });
});
