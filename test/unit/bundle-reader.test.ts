import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import {
  type BundleLimits,
  BundleRejectedError,
  bundleLimitsFor,
  readBundle,
} from "../../src/domain/bundle-reader.js";
import { sha256Hex } from "../../src/domain/digests.js";
import type { Issue } from "../../src/domain/types.js";
import {
  buildTar,
  buildTarGz,
  gzipRepeatedChunks,
  type TarEntry,
  type TarEntryType,
  tarHeader,
} from "../helpers/tar-builder.js";

const MiB = 1024 * 1024;
const LIMITS = bundleLimitsFor(50 * MiB);
const MANIFEST: TarEntry = { name: "capability.yaml", content: "schema: 1\nname: demo\n" };

async function issuesOf(source: Parameters<typeof readBundle>[0], limits = LIMITS): Promise<Issue[]> {
  try {
    await readBundle(source, limits);
  } catch (error) {
    if (error instanceof BundleRejectedError) return error.issues;
    throw error;
  }
  return assert.fail("the bundle was accepted");
}

async function typesOf(source: Parameters<typeof readBundle>[0], limits = LIMITS): Promise<string[]> {
  return (await issuesOf(source, limits)).map((issue) => issue.type);
}

async function* inSlices(data: Buffer, sliceBytes = 64 * 1024): AsyncIterable<Uint8Array> {
  for (let offset = 0; offset < data.length; offset += sliceBytes) {
    yield new Uint8Array(data.subarray(offset, offset + sliceBytes));
  }
}

function withLimits(overrides: Partial<BundleLimits>): BundleLimits {
  return { ...LIMITS, ...overrides };
}

describe("bundleLimitsFor", () => {
  test("derives the SPEC §4.1 limits from the compressed maximum", () => {
    assert.deepEqual(bundleLimitsFor(50 * MiB), {
      maxCompressedBytes: 50 * MiB,
      maxTotalBytes: 200 * MiB,
      maxFileBytes: 25 * MiB,
      maxEntries: 10_000,
      maxExpansionRatio: 100,
    });
  });
});

describe("readBundle accepts", () => {
  test("regular files with their digests, sorted bytewise, without directories", async () => {
    const contents: Record<string, string> = {
      "b.txt": "bee",
      "\uff21.md": "fullwidth A",
      "\u{1f600}.md": "emoji",
      "a/z.txt": "zed",
      "capability.yaml": "schema: 1\n",
    };
    const archive = buildTarGz([
      { name: "a/", type: "directory" },
      ...Object.entries(contents).map(([name, content]) => ({ name, content })),
    ]);

    const bundle = await readBundle(archive, LIMITS);

    assert.equal(bundle.archiveSha256, sha256Hex(archive));
    assert.equal(bundle.sizeBytes, archive.length);
    // UTF-8 puts U+FF21 (EF BC A1) before U+1F600 (F0 9F 98 80); UTF-16 code units would not.
    assert.deepEqual(
      bundle.files.map((file) => file.path),
      ["a/z.txt", "b.txt", "capability.yaml", "\uff21.md", "\u{1f600}.md"],
    );
    for (const file of bundle.files) {
      const expected = Buffer.from(contents[file.path]);
      assert.deepEqual(file.content, expected);
      assert.equal(file.size, expected.length);
      assert.equal(file.sha256, sha256Hex(expected));
    }
  });

  test("the root entry and ./ prefixes that `tar -C dir .` writes", async () => {
    const archive = buildTarGz([
      { name: "./", type: "directory" },
      { name: "./capability.yaml", content: "x" },
      { name: "./skills/", type: "directory" },
      { name: "./skills//a/SKILL.md", content: "y" },
    ]);
    const bundle = await readBundle(archive, LIMITS);
    assert.deepEqual(
      bundle.files.map((file) => file.path),
      ["capability.yaml", "skills/a/SKILL.md"],
    );
  });

  test("a bundle inside one top-level directory, with that prefix stripped", async () => {
    const archive = buildTarGz([
      { name: "my-cap/", type: "directory" },
      { name: "my-cap/capability.yaml", content: "x" },
      { name: "my-cap/skills/a/SKILL.md", content: "y" },
    ]);
    const bundle = await readBundle(archive, LIMITS);
    assert.deepEqual(
      bundle.files.map((file) => file.path),
      ["capability.yaml", "skills/a/SKILL.md"],
    );
  });

  test("pax headers and names longer than 100 bytes", async () => {
    const longName = `${"deep/".repeat(30)}file.txt`;
    const archive = buildTarGz([
      { ...MANIFEST, pax: { mtime: "1700000000.5", "SCHILY.xattr.user.note": "kept as metadata" } },
      { name: longName, content: "long" },
    ]);
    const bundle = await readBundle(archive, LIMITS);
    assert.deepEqual(
      bundle.files.map((file) => file.path),
      ["capability.yaml", longName],
    );
  });

  test("an async iterable of Uint8Array chunks, with the same result as a buffer", async () => {
    const archive = buildTarGz([MANIFEST, { name: "data.bin", content: randomBytes(300_000) }]);
    const fromBuffer = await readBundle(archive, LIMITS);
    const fromStream = await readBundle(inSlices(archive, 1000), LIMITS);
    assert.deepEqual(fromStream, fromBuffer);
  });

  test("zero padding after the gzip stream, as gzip(1) does", async () => {
    const archive = Buffer.concat([buildTarGz([MANIFEST]), Buffer.alloc(1024)]);
    const bundle = await readBundle(archive, LIMITS);
    assert.equal(bundle.sizeBytes, archive.length);
  });

  test("a tar split over two gzip members", async () => {
    const tar = buildTar([MANIFEST, { name: "b.txt", content: "b".repeat(3000) }]);
    const archive = Buffer.concat([gzipSync(tar.subarray(0, 1500)), gzipSync(tar.subarray(1500))]);
    const bundle = await readBundle(archive, LIMITS);
    assert.deepEqual(
      bundle.files.map((file) => file.path),
      ["b.txt", "capability.yaml"],
    );
  });

  test("a small bundle of repetitive text far beyond the expansion ratio (under the 1 MiB floor)", async () => {
    const archive = buildTarGz([MANIFEST, { name: "dashes.md", content: "-".repeat(900 * 1024) }]);
    assert.ok(900 * 1024 > archive.length * LIMITS.maxExpansionRatio);
    const bundle = await readBundle(archive, LIMITS);
    assert.equal(bundle.files.length, 2);
  });
});

describe("readBundle refuses hostile names (bundle.path)", () => {
  const cases: [string, TarEntry][] = [
    ["an absolute path", { name: "/etc/passwd", content: "x" }],
    ["a Windows drive path", { name: "C:/evil.txt", content: "x" }],
    ["a leading .. segment", { name: "../escape.txt", content: "x" }],
    ["a .. segment inside the path", { name: "skills/../../escape.txt", content: "x" }],
    ["a .. directory", { name: "../", type: "directory" }],
    ["a backslash", { name: "skills\\a.txt", content: "x" }],
    ["a NUL byte (pax path)", { name: "placeholder", pax: { path: "a\u0000b.txt" }, content: "x" }],
    ["a control character", { name: "a\u0001b.txt", content: "x" }],
    ["a newline", { name: "a\nb.txt", content: "x" }],
    ["DEL", { name: "a\u007fb.txt", content: "x" }],
    ["invalid UTF-8 bytes", { name: Buffer.from([0x61, 0xff, 0x62]), content: "x" }],
    ["an overlong UTF-8 encoding of '/'", { name: Buffer.from([0x61, 0xc0, 0xaf, 0x62]), content: "x" }],
    [
      "invalid UTF-8 in a pax path",
      { name: "placeholder", pax: { path: Buffer.from([0xc3, 0x28]) }, content: "x" },
    ],
    [
      "a path over 4,096 bytes",
      { name: "placeholder", pax: { path: `${"d/".repeat(2048)}x` }, content: "x" },
    ],
    [
      "a name over 255 bytes",
      { name: "placeholder", pax: { path: `skills/${"n".repeat(256)}.md` }, content: "x" },
    ],
    [
      "a name over 255 bytes in UTF-8",
      { name: "placeholder", pax: { path: `${"é".repeat(128)}.md` }, content: "x" },
    ],
  ];
  for (const [label, entry] of cases) {
    test(`with ${label}`, async () => {
      const issues = await issuesOf(buildTarGz([MANIFEST, entry]));
      assert.deepEqual(
        issues.map((issue) => issue.type),
        ["bundle.path"],
      );
      assert.equal(issues[0].loc[0], "bundle");
    });
  }

  test("a path 100,000 directories deep, in a 500-byte upload: refused, and shown shortened", async () => {
    const deep = `${"a/".repeat(100_000)}x`;
    const archive = buildTarGz([MANIFEST, { name: "placeholder", pax: { path: deep }, content: "x" }]);
    assert.ok(archive.length < 2_000);
    const issues = await issuesOf(archive);
    assert.deepEqual(
      issues.map((issue) => issue.type),
      ["bundle.path"],
    );
    assert.ok(String(issues[0].loc[1]).length <= 301);
    assert.ok(issues[0].msg.length < 400);
  });

  test("names at the limits are accepted: 4,096 bytes in all, 255 bytes a name", async () => {
    const longName = `skills/${"n".repeat(252)}.md`;
    const deepPath = `${"d/".repeat(2047)}xy`;
    assert.equal(Buffer.byteLength(deepPath), 4096);
    const bundle = await readBundle(
      buildTarGz([
        MANIFEST,
        { name: "placeholder", pax: { path: longName }, content: "x" },
        { name: "placeholder", pax: { path: deepPath }, content: "x" },
      ]),
      LIMITS,
    );
    assert.deepEqual(
      bundle.files.map((file) => file.path).sort(),
      [MANIFEST.name, deepPath, longName].sort(),
    );
  });

  test("locating the issue at the entry name as read", async () => {
    const issues = await issuesOf(buildTarGz([MANIFEST, { name: "../escape.txt", content: "x" }]));
    assert.deepEqual(issues[0].loc, ["bundle", "../escape.txt"]);
  });
});

describe("readBundle refuses entries that are not regular files or directories (bundle.entry_type)", () => {
  const types: TarEntryType[] = ["symlink", "link", "char", "block", "fifo", "contiguous"];
  for (const type of types) {
    test(`a ${type} entry`, async () => {
      const entry: TarEntry = {
        name: "skills/odd",
        type,
        linkname: type.endsWith("link") ? "../../etc" : undefined,
      };
      const issues = await issuesOf(buildTarGz([MANIFEST, entry]));
      assert.deepEqual(issues, [
        { loc: ["bundle", "skills/odd"], msg: issues[0].msg, type: "bundle.entry_type" },
      ]);
    });
  }

  test("a symlink carrying data, whose data is skipped", async () => {
    const entry: TarEntry = {
      name: "link",
      type: "symlink",
      linkname: "/etc/passwd",
      content: "z".repeat(2000),
    };
    assert.deepEqual(await typesOf(buildTarGz([entry, MANIFEST])), ["bundle.entry_type"]);
  });
});

describe("readBundle refuses duplicates (bundle.duplicate)", () => {
  const cases: [string, TarEntry[]][] = [
    ["the same path twice", [MANIFEST, MANIFEST]],
    ["the same path after removing ./", [MANIFEST, { name: "./capability.yaml", content: "again" }]],
    ["the same path after collapsing slashes", [MANIFEST, { name: "a/b.txt" }, { name: "a//b.txt" }]],
    ["two paths equal ignoring case", [MANIFEST, { name: "README.md" }, { name: "readme.md" }]],
    [
      "two directories equal ignoring case",
      [MANIFEST, { name: "Skills/", type: "directory" }, { name: "skills/", type: "directory" }],
    ],
    ["a file that is also used as a directory", [MANIFEST, { name: "tools" }, { name: "tools/run.py" }]],
  ];
  for (const [label, entries] of cases) {
    test(label, async () => {
      assert.deepEqual(await typesOf(buildTarGz(entries)), ["bundle.duplicate"]);
    });
  }

  test("every entry below a file, however deep, once, naming the outermost file, in archive order", async () => {
    const deep = `${"d/".repeat(1500)}x.txt`;
    const entries: TarEntry[] = [
      MANIFEST,
      { name: "placeholder", pax: { path: `tools/${deep}` }, content: "x" },
      { name: "Tools" },
      { name: "tools/inner" },
      { name: "tools/inner/run.py" },
      { name: "toolsets/ok.py" },
      { name: "tools-b/ok.py" },
    ];
    const issues = await issuesOf(buildTarGz(entries));
    assert.deepEqual(
      issues.map((issue) => [
        issue.type,
        String(issue.loc[1]).slice(0, 12),
        issue.msg.includes('inside "Tools"'),
      ]),
      [
        ["bundle.duplicate", "tools/d/d/d/", true],
        ["bundle.duplicate", "tools/inner", true],
        ["bundle.duplicate", "tools/inner/", true],
      ],
    );
  });
});

describe("readBundle refuses what is not a gzip-compressed tar (bundle.format)", () => {
  const bundle = buildTarGz([MANIFEST, { name: "notes.txt", content: randomBytes(4000).toString("hex") }]);
  const cases: [string, Buffer][] = [
    ["bytes that are not gzip", Buffer.from("PK\u0003\u0004 this is a zip, not a tar.gz")],
    ["an empty upload", Buffer.alloc(0)],
    ["a gzip stream cut short by its last bytes", bundle.subarray(0, bundle.length - 4)],
    ["a gzip stream cut in the middle", bundle.subarray(0, Math.floor(bundle.length / 2))],
    ["garbage after the gzip stream", Buffer.concat([bundle, Buffer.from("garbage")])],
    [
      "garbage hidden behind a zero byte after the gzip stream",
      Buffer.concat([bundle, Buffer.from("\u0000evil")]),
    ],
    ["gzip of something that is not a tar", gzipSync(Buffer.from("hello ".repeat(200)))],
    ["gzip of nothing at all", gzipSync(Buffer.alloc(0))],
    ["a tar without its end-of-archive blocks", buildTarGz([MANIFEST], { omitEndOfArchive: true })],
    [
      "a tar cut in the middle of an entry",
      gzipSync(buildTar([MANIFEST, { name: "big.txt", content: "x".repeat(5000) }]).subarray(0, 3000)),
    ],
  ];
  for (const [label, archive] of cases) {
    test(label, async () => {
      const issues = await issuesOf(archive);
      assert.deepEqual(issues, [{ loc: ["bundle", "archive"], msg: issues[0].msg, type: "bundle.format" }]);
    });
  }
});

describe("readBundle refuses a bundle without capability.yaml at its root (bundle.no_manifest)", () => {
  const cases: [string, TarEntry[]][] = [
    ["an empty archive", []],
    ["only other files", [{ name: "README.md", content: "hi" }]],
    ["the manifest two levels deep", [{ name: "a/b/capability.yaml", content: "x" }]],
    [
      "two top-level directories",
      [
        { name: "one/capability.yaml", content: "x" },
        { name: "two/README.md", content: "y" },
      ],
    ],
    ["the manifest in the wrong letter case", [{ name: "Capability.yaml", content: "x" }]],
    ["a directory named capability.yaml", [{ name: "capability.yaml/", type: "directory" }]],
  ];
  for (const [label, entries] of cases) {
    test(label, async () => {
      const issues = await issuesOf(buildTarGz(entries));
      assert.deepEqual(issues, [
        { loc: ["bundle", "archive"], msg: issues[0].msg, type: "bundle.no_manifest" },
      ]);
    });
  }
});

describe("readBundle collects entry problems over the whole archive", () => {
  test("reports every hostile entry in one rejection, in archive order", async () => {
    const archive = buildTarGz([
      { name: "/abs.txt", content: "x" },
      { name: "link", type: "symlink", linkname: "/etc" },
      { name: "a.txt" },
      { name: "A.txt" },
      { name: "..\\up.txt" },
    ]);
    const issues = await issuesOf(archive);
    assert.deepEqual(
      issues.map((issue) => [issue.type, issue.loc[1]]),
      [
        ["bundle.path", "/abs.txt"],
        ["bundle.entry_type", "link"],
        ["bundle.path", "..\\up.txt"],
        ["bundle.duplicate", "A.txt"],
        ["bundle.no_manifest", "archive"],
      ],
    );
  });
});

describe("readBundle enforces the size limits", () => {
  const archive = buildTarGz([
    MANIFEST,
    { name: "a.txt", content: "a".repeat(60) },
    { name: "b.txt", content: "b".repeat(60) },
  ]);

  test("an upload over the compressed maximum, as a buffer (bundle.too_large)", async () => {
    const limits = withLimits({ maxCompressedBytes: archive.length - 1 });
    assert.deepEqual(await typesOf(archive, limits), ["bundle.too_large"]);
  });

  test("an upload over the compressed maximum, as a stream (bundle.too_large)", async () => {
    const limits = withLimits({ maxCompressedBytes: archive.length - 1 });
    assert.deepEqual(await typesOf(inSlices(archive, 16), limits), ["bundle.too_large"]);
  });

  test("an upload of exactly the compressed maximum is accepted", async () => {
    const bundle = await readBundle(
      inSlices(archive, 16),
      withLimits({ maxCompressedBytes: archive.length }),
    );
    assert.equal(bundle.files.length, 3);
  });

  test("more entries than allowed (bundle.limits)", async () => {
    assert.deepEqual(await typesOf(archive, withLimits({ maxEntries: 2 })), ["bundle.limits"]);
    assert.equal((await readBundle(archive, withLimits({ maxEntries: 3 }))).files.length, 3);
  });

  test("a file over the per-file maximum, located at that file (bundle.limits)", async () => {
    const issues = await issuesOf(archive, withLimits({ maxFileBytes: 59 }));
    assert.deepEqual(issues, [{ loc: ["bundle", "a.txt"], msg: issues[0].msg, type: "bundle.limits" }]);
  });

  test("more unpacked bytes in total than allowed (bundle.limits)", async () => {
    const total = MANIFEST.content!.length + 120;
    assert.deepEqual(await typesOf(archive, withLimits({ maxTotalBytes: total - 1 })), ["bundle.limits"]);
    assert.equal((await readBundle(archive, withLimits({ maxTotalBytes: total }))).files.length, 3);
  });

  test("an expansion ratio over the maximum once past 1 MiB (bundle.limits)", async () => {
    const zeros = buildTarGz([MANIFEST, { name: "zeros.bin", content: Buffer.alloc(2 * MiB) }]);
    assert.deepEqual(await typesOf(zeros), ["bundle.limits"]);
  });

  test("a header declaring a 64 GiB file, refused before reading any of it (bundle.limits)", async () => {
    const lying = gzipSync(
      Buffer.concat([tarHeader({ name: "capability.yaml", size: 64 * 1024 * MiB }), Buffer.alloc(1024)]),
    );
    assert.deepEqual(await typesOf(lying), ["bundle.limits"]);
  });
});

describe("readBundle stops gzip bombs at the limit, in bounded memory", () => {
  // The bombs are several GiB once inflated; they are built from deflate blocks of one zero-filled MiB
  // repeated (see gzipRepeatedChunks), so neither building nor a correct reading ever holds them.
  const memoryBound = 64 * MiB;
  const zeroMiB = Buffer.alloc(MiB);

  async function peakGrowthWhileReading(run: () => Promise<unknown>) {
    globalThis.gc?.();
    const before = process.memoryUsage();
    const peak = { rss: before.rss, heapUsed: before.heapUsed, arrayBuffers: before.arrayBuffers };
    const sample = () => {
      const now = process.memoryUsage();
      peak.rss = Math.max(peak.rss, now.rss);
      peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed);
      peak.arrayBuffers = Math.max(peak.arrayBuffers, now.arrayBuffers);
    };
    const sampler = setInterval(sample, 1);
    try {
      await run();
    } finally {
      clearInterval(sampler);
      sample();
    }
    return {
      rss: peak.rss - before.rss,
      heapUsed: peak.heapUsed - before.heapUsed,
      arrayBuffers: peak.arrayBuffers - before.arrayBuffers,
    };
  }

  function assertBounded(growth: Record<string, number>) {
    for (const [measure, bytes] of Object.entries(growth)) {
      assert.ok(bytes < memoryBound, `${measure} grew by ${(bytes / MiB).toFixed(1)} MiB, over the bound`);
    }
  }

  test("4 GiB of zero blocks, a valid tar that never yields an entry", async () => {
    const bomb = gzipRepeatedChunks([{ chunk: zeroMiB, times: 4096 }]);
    assert.ok(bomb.length < 5 * MiB);
    let types: string[] = [];
    const growth = await peakGrowthWhileReading(async () => {
      types = await typesOf(bomb);
    });
    assert.deepEqual(types, ["bundle.limits"]);
    assertBounded(growth);
  });

  test("4 GiB of zero-filled files streamed as an upload", async () => {
    const fileBytes = 24 * MiB;
    const parts = Array.from({ length: 170 }, (_, index) => [
      { chunk: tarHeader({ name: `zeros-${index}.bin`, size: fileBytes }), times: 1 },
      { chunk: zeroMiB, times: fileBytes / MiB },
    ]).flat();
    const bomb = gzipRepeatedChunks([...parts, { chunk: Buffer.alloc(1024), times: 1 }]);
    let types: string[] = [];
    const growth = await peakGrowthWhileReading(async () => {
      types = await typesOf(inSlices(bomb));
    });
    assert.deepEqual(types, ["bundle.limits"]);
    assertBounded(growth);
  });

  test("4 GiB of zero-filled files in a buffer, stopped at the total limit", async () => {
    // With the whole upload known, the ratio is measured against its full size (4 MB → 400 MB
    // allowed), so here the total limit of 4 × 5 MiB is what stops the bomb.
    const limits = bundleLimitsFor(5 * MiB);
    const fileBytes = 8 * MiB;
    const parts = Array.from({ length: 512 }, (_, index) => [
      { chunk: tarHeader({ name: `zeros-${index}.bin`, size: fileBytes }), times: 1 },
      { chunk: zeroMiB, times: fileBytes / MiB },
    ]).flat();
    const bomb = gzipRepeatedChunks(parts);
    assert.ok(bomb.length <= limits.maxCompressedBytes);
    let types: string[] = [];
    const growth = await peakGrowthWhileReading(async () => {
      types = await typesOf(bomb, limits);
    });
    assert.deepEqual(types, ["bundle.limits"]);
    assertBounded(growth);
  });
});

describe("readBundle accepts only what every tar program reads the same way", () => {
  const FILE = (name: string, extra: Partial<TarEntry> = {}): TarEntry => ({
    name,
    content: "data",
    ...extra,
  });

  test("GNU-format archives with GNU long names, as GNU tar and tarfile write them", async () => {
    const longName = `${"deep/".repeat(30)}file.txt`;
    const archive = buildTarGz([
      { ...MANIFEST, format: "gnu" },
      { name: longName.slice(0, 100), gnuLongName: longName, content: "long", format: "gnu" },
    ]);
    const bundle = await readBundle(archive, LIMITS);
    assert.deepEqual(
      bundle.files.map((file) => file.path),
      ["capability.yaml", longName],
    );
  });

  test("a ustar name split into prefix and name", async () => {
    const archive = buildTarGz([MANIFEST, FILE("file.txt", { prefix: "some/dir" })]);
    const bundle = await readBundle(archive, LIMITS);
    assert.deepEqual(
      bundle.files.map((file) => file.path),
      ["capability.yaml", "some/dir/file.txt"],
    );
  });

  test("an old-style regular file (typeflag NUL)", async () => {
    const archive = buildTarGz([
      MANIFEST,
      { name: "dir", type: "directory" },
      FILE("dir/a.txt", { typeflag: "\0" }),
    ]);
    const bundle = await readBundle(archive, LIMITS);
    assert.deepEqual(
      bundle.files.map((file) => file.path),
      ["capability.yaml", "dir/a.txt"],
    );
  });

  const refused: [string, TarEntry[], Parameters<typeof buildTarGz>[1], string][] = [
    [
      "a global pax header setting path=../../evil",
      [MANIFEST],
      { globalPax: { path: "../../evil" } },
      "bundle.entry_type",
    ],
    [
      "a harmless global pax header (a comment)",
      [MANIFEST],
      { globalPax: { comment: "x" } },
      "bundle.entry_type",
    ],
    [
      "a GNU long link name (K)",
      [MANIFEST, FILE("a.txt", { extended: [{ typeflag: "K", data: "../../etc/passwd\0" }] })],
      {},
      "bundle.entry_type",
    ],
    [
      "an old GNU long name (N), which tarfile unpacks as a file",
      [MANIFEST, FILE("a.txt", { extended: [{ typeflag: "N", data: "../evil\0" }] })],
      {},
      "bundle.entry_type",
    ],
    [
      "a GNU sparse file (S)",
      [MANIFEST, FILE("sparse.bin", { typeflag: "S", format: "gnu" })],
      {},
      "bundle.entry_type",
    ],
    [
      "a volume header (V)",
      [MANIFEST, FILE("volume", { typeflag: "V", format: "gnu" })],
      {},
      "bundle.entry_type",
    ],
    [
      "a multi-volume continuation (M)",
      [MANIFEST, FILE("rest", { typeflag: "M", format: "gnu" })],
      {},
      "bundle.entry_type",
    ],
    ["a Solaris extended header (X)", [MANIFEST, FILE("x", { typeflag: "X" })], {}, "bundle.entry_type"],
    ["a vendor typeflag (Q)", [MANIFEST, FILE("q", { typeflag: "Q" })], {}, "bundle.entry_type"],
    [
      "a pax header with GNU sparse records",
      [MANIFEST, FILE("a.txt", { pax: { "GNU.sparse.major": "1", "GNU.sparse.name": "../evil" } })],
      {},
      "bundle.entry_type",
    ],
    [
      "a pax hdrcharset record",
      [MANIFEST, FILE("a.txt", { pax: { hdrcharset: "BINARY" } })],
      {},
      "bundle.entry_type",
    ],
    [
      "a pax path whose ustar name climbs out",
      [MANIFEST, FILE("../../evil.txt", { pax: { path: "fine.txt" } })],
      {},
      "bundle.path",
    ],
    [
      "a GNU long name whose ustar name is absolute",
      [MANIFEST, FILE("/etc/evil", { gnuLongName: "fine.txt", format: "gnu" })],
      {},
      "bundle.path",
    ],
    [
      "a regular file (typeflag 0) whose name ends in /",
      [MANIFEST, FILE("dir/", { content: "" })],
      {},
      "bundle.entry_type",
    ],
    [
      "an old-style directory (typeflag NUL and a trailing slash), a file to tar-stream",
      [MANIFEST, FILE("dir/", { content: "", typeflag: "\0" })],
      {},
      "bundle.entry_type",
    ],
    [
      "a pax size that differs from the header",
      [MANIFEST, FILE("a.txt", { pax: { size: "2" } })],
      {},
      "bundle.format",
    ],
    [
      "a pax size parseInt would read (4x)",
      [MANIFEST, FILE("a.txt", { pax: { size: "4x" } })],
      {},
      "bundle.format",
    ],
    [
      "a pax header and a GNU long name for one entry",
      [MANIFEST, FILE("a.txt", { pax: { path: "b.txt" }, gnuLongName: "c.txt" })],
      {},
      "bundle.format",
    ],
    [
      "a malformed pax record (length off by one)",
      [MANIFEST, FILE("a.txt", { extended: [{ typeflag: "x", data: "13 path=b.txt\n" }] })],
      {},
      "bundle.format",
    ],
    [
      "a pax record given twice",
      [MANIFEST, FILE("a.txt", { extended: [{ typeflag: "x", data: "13 path=b.txt\n13 path=c.txt\n" }] })],
      {},
      "bundle.format",
    ],
    ["an empty pax path", [MANIFEST, FILE("a.txt", { pax: { path: "" } })], {}, "bundle.format"],
    [
      "a GNU header whose incremental fields tarfile would read as a prefix",
      [MANIFEST, FILE("a.txt", { format: "gnu", prefix: "../../evil" })],
      {},
      "bundle.format",
    ],
    [
      "a directory entry that claims data",
      [MANIFEST, { name: "dir", type: "directory", declaredSize: 512 }],
      {},
      "bundle.format",
    ],
    [
      "an entry after the end-of-archive blocks",
      [MANIFEST],
      { trailing: buildTar([FILE("hidden.txt")]) },
      "bundle.format",
    ],
  ];
  for (const [label, entries, options, type] of refused) {
    test(`refuses ${label} (${type})`, async () => {
      const types = await typesOf(buildTarGz(entries, options));
      assert.ok(types.includes(type), `expected ${type} among ${JSON.stringify(types)}`);
    });
  }

  test("a size field with garbage that parseInt would read as a number (bundle.format)", async () => {
    const header = tarHeader({ name: "capability.yaml", size: 4 });
    header.write("0000000004x\0", 124, "latin1");
    header.fill(" ", 148, 156);
    let checksum = 0;
    for (const byte of header) checksum += byte;
    header.write(`${checksum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    const archive = gzipSync(Buffer.concat([header, Buffer.alloc(512), Buffer.alloc(1024)]));
    assert.deepEqual(await typesOf(archive), ["bundle.format"]);
  });
});

describe("readBundle refuses spellings of one path (bundle.duplicate)", () => {
  test("NFC and NFD spellings of one name", async () => {
    const nfc = "caf\u00e9.txt";
    const nfd = "cafe\u0301.txt";
    const issues = await issuesOf(
      buildTarGz([MANIFEST, { name: nfc, content: "a" }, { name: nfd, content: "b" }]),
    );
    assert.deepEqual(
      issues.map((issue) => issue.type),
      ["bundle.duplicate"],
    );
  });

  test("NFD and NFC spellings that also differ in case", async () => {
    const types = await typesOf(
      buildTarGz([MANIFEST, { name: "Cafe\u0301.txt" }, { name: "caf\u00e9.txt" }]),
    );
    assert.deepEqual(types, ["bundle.duplicate"]);
  });

  test("a file inside another file's NFD spelling", async () => {
    const types = await typesOf(buildTarGz([MANIFEST, { name: "caf\u00e9" }, { name: "cafe\u0301/x.txt" }]));
    assert.deepEqual(types, ["bundle.duplicate"]);
  });
});

describe("readBundle accepts what real packers write", () => {
  // Real GNU tar and Python tarfile output, when the machine has them: the strict reading above
  // must never refuse an ordinary archive.
  const longName = `${"nested-directory/".repeat(8)}a-file-with-a-long-name.txt`;
  const files: Record<string, string> = {
    "capability.yaml": "schema: 1\nname: demo\n",
    "agents/helper.md": "hi",
    [longName]: "long",
    "docs/caf\u00e9 \u00fcber.md": "unicode",
  };
  function sourceDirectory(): string {
    const dir = mkdtempSync(path.join(tmpdir(), "capstan-packers-"));
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), content);
    }
    return dir;
  }
  const available = (command: string) => spawnSync(command, ["--version"]).status === 0;

  for (const format of ["gnu", "posix", "oldgnu"]) {
    test(`GNU tar --format=${format}`, { skip: !available("tar") && "tar is not installed" }, async () => {
      const dir = sourceDirectory();
      try {
        const archive = spawnSync("tar", [`--format=${format}`, "-czf", "-", "-C", dir, "."], {
          maxBuffer: 1e8,
        });
        assert.equal(archive.status, 0, String(archive.stderr));
        const bundle = await readBundle(archive.stdout, LIMITS);
        assert.deepEqual(bundle.files.map((file) => file.path).sort(), Object.keys(files).sort());
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  for (const format of ["PAX_FORMAT", "GNU_FORMAT"]) {
    test(`Python tarfile ${format}`, {
      skip: !available("python3") && "python3 is not installed",
    }, async () => {
      const dir = sourceDirectory();
      try {
        const script = `import sys, tarfile\nwith tarfile.open(fileobj=sys.stdout.buffer, mode="w|gz", format=tarfile.${format}) as t: t.add(sys.argv[1], arcname=".")`;
        const archive = spawnSync("python3", ["-c", script, dir], { maxBuffer: 1e8 });
        assert.equal(archive.status, 0, String(archive.stderr));
        const bundle = await readBundle(archive.stdout, LIMITS);
        assert.deepEqual(bundle.files.map((file) => file.path).sort(), Object.keys(files).sort());
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
