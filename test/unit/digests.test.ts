import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { bundleLimitsFor, readBundle } from "../../src/domain/bundle-reader.js";
import {
  buildFileManifest,
  canonicalDigest,
  canonicalJson,
  JsonDepthError,
  jsonDepthExceeds,
  MAX_CANONICAL_JSON_DEPTH,
  runtimeDigestOf,
  sha256Hex,
} from "../../src/domain/digests.js";
import type { BundleFile, FileManifestEntry } from "../../src/domain/types.js";
import { buildTarGz, type TarEntry } from "../helpers/tar-builder.js";

function nodeSha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function bundleFile(path: string, text: string): BundleFile {
  const content = Buffer.from(text);
  return { path, size: content.length, sha256: nodeSha256(content), content };
}

describe("sha256Hex", () => {
  test("matches the FIPS 180-2 vectors", () => {
    assert.equal(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  test("hashes a string as its UTF-8 bytes", () => {
    assert.equal(sha256Hex("é"), sha256Hex(Buffer.from([0xc3, 0xa9])));
  });
});

describe("buildFileManifest", () => {
  test("keeps path, sha256 and size, sorted bytewise by path", () => {
    const files = [
      bundleFile("\u{1f600}.md", "emoji"),
      bundleFile("b.txt", "b"),
      bundleFile("\uff21.md", "fullwidth"),
      bundleFile("B.txt", "B"),
      bundleFile("a/b.txt", "ab"),
      bundleFile("a-b.txt", "a-b"),
    ];
    const manifest = buildFileManifest(files);
    // Bytewise: "-" (2D) < "/" (2F), upper case before lower case, U+FF21 (EF…) before U+1F600 (F0…).
    assert.deepEqual(
      manifest.map((entry) => entry.path),
      ["B.txt", "a-b.txt", "a/b.txt", "b.txt", "\uff21.md", "\u{1f600}.md"],
    );
    assert.deepEqual(manifest[0], { path: "B.txt", sha256: nodeSha256("B"), size: 1 });
    assert.equal("content" in manifest[0], false);
  });
});

describe("runtimeDigestOf", () => {
  test("hashes path NUL sha256 LF per file, in manifest order", () => {
    const manifest: FileManifestEntry[] = [
      { path: "capability.yaml", sha256: nodeSha256("schema: 1\n"), size: 10 },
      { path: "skills/a/SKILL.md", sha256: nodeSha256("# A\n"), size: 4 },
    ];
    const expected = nodeSha256(
      `capability.yaml\u0000${nodeSha256("schema: 1\n")}\nskills/a/SKILL.md\u0000${nodeSha256("# A\n")}\n`,
    );
    assert.equal(runtimeDigestOf(manifest), `sha256:${expected}`);
  });

  test("of no files is the digest of nothing", () => {
    assert.equal(runtimeDigestOf([]), `sha256:${nodeSha256("")}`);
  });

  test("ignores sizes and depends on every path and content", () => {
    const base = { path: "a.txt", sha256: nodeSha256("a"), size: 1 };
    const digest = runtimeDigestOf([base]);
    assert.equal(runtimeDigestOf([{ ...base, size: 99 }]), digest);
    assert.notEqual(runtimeDigestOf([{ ...base, path: "b.txt" }]), digest);
    assert.notEqual(runtimeDigestOf([{ ...base, sha256: nodeSha256("b") }]), digest);
  });

  test("does not depend on the order of its input", () => {
    const entry = fc.record({ path: fc.string({ minLength: 1 }), sha256: fc.string(), size: fc.nat() });
    fc.assert(
      fc.property(
        fc
          .uniqueArray(entry, { selector: (e) => e.path })
          .chain((manifest) =>
            fc.tuple(fc.constant(manifest), fc.shuffledSubarray(manifest, { minLength: manifest.length })),
          ),
        ([manifest, shuffled]) => runtimeDigestOf(shuffled) === runtimeDigestOf(manifest),
      ),
    );
  });

  test("of a bundle read back does not depend on tar metadata or entry order", async () => {
    const limits = bundleLimitsFor(50 * 1024 * 1024);
    const fileNames = fc.uniqueArray(fc.stringMatching(/^[a-z0-9_-]{1,12}(\/[a-z0-9_-]{1,12})?\.txt$/), {
      maxLength: 8,
    });
    const packing = fc.record({
      mtime: fc.nat({ max: 2 ** 31 }),
      mode: fc.constantFrom(0o644, 0o600, 0o755),
    });
    await fc.assert(
      fc.asyncProperty(
        fileNames.chain((names) =>
          fc.record({
            files: fc.tuple(...names.map((name) => fc.tuple(fc.constant(name), fc.string()))),
            firstPacking: fc.array(packing, { minLength: names.length + 1, maxLength: names.length + 1 }),
            secondPacking: fc.array(packing, { minLength: names.length + 1, maxLength: names.length + 1 }),
            order: fc.shuffledSubarray([...names.keys(), names.length], { minLength: names.length + 1 }),
          }),
        ),
        async ({ files, firstPacking, secondPacking, order }) => {
          const entries: TarEntry[] = [
            ...files.map(([name, content]) => ({ name, content })),
            { name: "capability.yaml", content: "schema: 1\n" },
          ];
          const first = entries.map((entry, index) => ({ ...entry, ...firstPacking[index] }));
          const second = order.map((index) => ({ ...entries[index], ...secondPacking[index] }));
          const [a, b] = await Promise.all([
            readBundle(buildTarGz(first), limits),
            readBundle(buildTarGz(second), limits),
          ]);
          assert.equal(
            runtimeDigestOf(buildFileManifest(b.files)),
            runtimeDigestOf(buildFileManifest(a.files)),
          );
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("canonicalJson", () => {
  test("sorts object keys at every depth and writes no white space", () => {
    const value = { b: 1, a: [3, { d: true, c: null }], "": "empty" };
    assert.equal(canonicalJson(value), '{"":"empty","a":[3,{"c":null,"d":true}],"b":1}');
  });

  test("sorts keys by UTF-16 code units, the default sort", () => {
    const value = { a: 1, B: 2, "\uff21": 3, "\u{1f600}": 4, "\u00e9": 5 };
    assert.equal(canonicalJson(value), '{"B":2,"a":1,"\u00e9":5,"\u{1f600}":4,"\uff21":3}');
  });

  test("leaves out undefined properties and keeps array order", () => {
    assert.equal(canonicalJson({ z: undefined, y: [2, 1] }), '{"y":[2,1]}');
    assert.equal(canonicalJson([undefined, 1]), "[null,1]");
  });

  test("escapes strings as JSON does", () => {
    assert.equal(canonicalJson({ 'q"\n': 'a"b\\c\u0001' }), '{"q\\"\\n":"a\\"b\\\\c\\u0001"}');
  });

  test("is valid JSON for the same value, whatever the key insertion order", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value)));
        assert.equal(canonicalJson(reverseKeys(value)), text);
      }),
    );
  });
});

describe("canonicalDigest", () => {
  test("is sha256: over the canonical JSON", () => {
    assert.equal(canonicalDigest({ b: [1], a: "x" }), `sha256:${nodeSha256('{"a":"x","b":[1]}')}`);
    assert.equal(canonicalDigest({ a: "x", b: [1] }), canonicalDigest({ b: [1], a: "x" }));
  });
});

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value === null || typeof value !== "object") return value;
  // fromEntries defines own properties, so a "__proto__" key stays a key.
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, item]) => [key, reverseKeys(item)]),
  );
}

describe("deeply nested JSON", () => {
  function nested(depth: number): unknown {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
    return value;
  }

  test("canonicalJson encodes values nested up to its limit", () => {
    assert.equal(
      canonicalJson(nested(MAX_CANONICAL_JSON_DEPTH)),
      JSON.stringify(nested(MAX_CANONICAL_JSON_DEPTH)),
    );
  });

  test("canonicalJson refuses deeper values with JsonDepthError, never a stack overflow", () => {
    for (const depth of [MAX_CANONICAL_JSON_DEPTH + 1, 100_000]) {
      assert.throws(() => canonicalJson(nested(depth)), JsonDepthError);
    }
  });

  test("jsonDepthExceeds measures any depth JSON.parse can build", () => {
    const deep = JSON.parse(`${"[".repeat(500_000)}${"]".repeat(500_000)}`);
    assert.equal(jsonDepthExceeds(deep, 64), true);
    assert.equal(jsonDepthExceeds(nested(64), 64), false);
    assert.equal(jsonDepthExceeds(nested(65), 64), true);
    assert.equal(jsonDepthExceeds("text", 0), false);
  });
});
