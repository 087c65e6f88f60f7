// The hostile corpus: every kind of bundle an attacker has been seen (or could be expected) to
// publish, sent over HTTP through the real app. Each must be refused with the contract's status,
// envelope and error type, quickly, in bounded memory, and without storing anything.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { capabilityEntries, capabilityManifest, publishBundle } from "../helpers/capability-bundles.js";
import { assertEnvelope, type EnvelopeType } from "../helpers/envelope.js";
import {
  buildTar,
  buildTarGz,
  gzipRepeatedChunks,
  type TarEntry,
  tarHeader,
} from "../helpers/tar-builder.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const MiB = 1024 * 1024;
const MAX_BUNDLE_BYTES = 8 * MiB;
// Generous on purpose: the machine running the suite may be busy. Each case takes well under a
// second on an idle one.
const TIME_BOUND_MS = 10_000;
const RSS_GROWTH_BOUND = 256 * MiB;

interface HostileCase {
  label: string;
  build: () => Buffer;
  status: 400 | 422;
  type: EnvelopeType;
  /** Must appear among `errors[].type`. */
  errorType: string;
}

/** A valid capability plus `extra` entries (hostile ones usually). */
function bundleWith(extra: TarEntry[], options: Parameters<typeof buildTarGz>[1] = {}): Buffer {
  return buildTarGz([...capabilityEntries({ name: "hostile" }), ...extra], options);
}

function manifestWith(text: string): Buffer {
  return buildTarGz([
    { name: "capability.yaml", content: text },
    ...capabilityEntries({ name: "hostile" }).slice(1),
  ]);
}

const FAST = { gzipLevel: 1 };

/**
 * `[0,1,1,0,…]` of random bits: varied enough to stay under the 100:1 expansion ratio (the bundle
 * reader would refuse a list of one repeated item before any YAML is read), as in the report.
 */
function flowList(items: number): string {
  const bits = randomBytes(Math.ceil(items / 8));
  const text = Buffer.alloc(items * 2 + 1);
  text[0] = 0x5b;
  for (let i = 0; i < items; i++) {
    text[1 + i * 2] = 0x30 + ((bits[i >> 3] >> (i & 7)) & 1);
    text[2 + i * 2] = 0x2c;
  }
  text[items * 2] = 0x5d;
  return text.toString("latin1");
}

/** `bytes` characters of 0 and 1 at random, for large files that still compress under 100:1. */
function randomDigits(bytes: number): string {
  return flowList(Math.ceil(bytes / 2)).replace(/[[\],]/g, "");
}

const manyKeys = (keys: number) => Array.from({ length: keys }, (_, i) => `k${i}: ${i}`).join("\n");
const frontmatter = (yaml: string) => `---\n${yaml}\n---\nBody\n`;

function rejected(status: 400, errorType: string): Pick<HostileCase, "status" | "type" | "errorType">;
function rejected(status: 422, errorType: string): Pick<HostileCase, "status" | "type" | "errorType">;
function rejected(status: 400 | 422, errorType: string) {
  return { status, type: status === 400 ? "invalid_error" : "validation_error", errorType } as const;
}

const CASES: HostileCase[] = [
  // --- archive format ------------------------------------------------------------------------------
  {
    label: "bytes that are not gzip",
    build: () => Buffer.from("not a bundle"),
    ...rejected(400, "bundle.format"),
  },
  {
    label: "a truncated gzip stream",
    build: () => bundleWith([]).subarray(0, 60),
    ...rejected(400, "bundle.format"),
  },
  {
    label: "a tar without its end-of-archive blocks",
    build: () => gzipSync(buildTar(capabilityEntries({ name: "hostile" }), { omitEndOfArchive: true })),
    ...rejected(400, "bundle.format"),
  },
  {
    label: "an entry hidden after the end-of-archive blocks",
    build: () => bundleWith([], { trailing: buildTar([{ name: "hidden.txt", content: "x" }]) }),
    ...rejected(400, "bundle.format"),
  },
  {
    label: "garbage after the gzip stream",
    build: () => Buffer.concat([bundleWith([]), Buffer.from("trailing garbage")]),
    ...rejected(400, "bundle.format"),
  },
  // --- size limits and bombs -------------------------------------------------------------------------
  {
    label: "an upload over CAPSTAN_MAX_BUNDLE_BYTES",
    build: () => Buffer.alloc(MAX_BUNDLE_BYTES + 1, 1),
    ...rejected(400, "bundle.too_large"),
  },
  {
    label: "a gzip bomb: a file declaring 4 GiB, of zeros",
    build: () =>
      gzipRepeatedChunks([
        { chunk: tarHeader({ name: "capability.yaml", size: 4 * 1024 * MiB }), times: 1 },
        { chunk: Buffer.alloc(MiB), times: 64 },
      ]),
    ...rejected(400, "bundle.limits"),
  },
  {
    label: "64 MiB of zero blocks that never yield an entry",
    build: () => gzipRepeatedChunks([{ chunk: Buffer.alloc(MiB), times: 64 }]),
    ...rejected(400, "bundle.limits"),
  },
  {
    label: "a header declaring a 64 GiB file",
    build: () =>
      gzipSync(
        Buffer.concat([tarHeader({ name: "capability.yaml", size: 64 * 1024 * MiB }), Buffer.alloc(1024)]),
      ),
    ...rejected(400, "bundle.limits"),
  },
  {
    label: "more than 10,000 entries",
    build: () =>
      bundleWith(Array.from({ length: 10_001 }, (_, i) => ({ name: `d${i}`, type: "directory" as const }))),
    ...rejected(400, "bundle.limits"),
  },
  // --- names -------------------------------------------------------------------------------------------
  {
    label: "a ../ traversal",
    build: () => bundleWith([{ name: "../../evil.sh", content: "x" }]),
    ...rejected(400, "bundle.path"),
  },
  {
    label: "an absolute path",
    build: () => bundleWith([{ name: "/etc/cron.d/evil", content: "x" }]),
    ...rejected(400, "bundle.path"),
  },
  {
    label: "a backslash path",
    build: () => bundleWith([{ name: "..\\evil", content: "x" }]),
    ...rejected(400, "bundle.path"),
  },
  {
    label: "a NUL in a pax path",
    build: () => bundleWith([{ name: "a", pax: { path: "a\0b" }, content: "x" }]),
    ...rejected(400, "bundle.path"),
  },
  {
    label: "a name that is not UTF-8",
    build: () => bundleWith([{ name: Buffer.from([0x66, 0xff, 0xfe]), content: "x" }]),
    ...rejected(400, "bundle.path"),
  },
  {
    label: "a pax path 100,000 directories deep",
    build: () =>
      bundleWith([{ name: "placeholder", pax: { path: `${"a/".repeat(100_000)}x` }, content: "x" }]),
    ...rejected(400, "bundle.path"),
  },
  {
    label: "a pax path whose ustar name climbs out (for extractors that ignore pax)",
    build: () => bundleWith([{ name: "../../evil.txt", pax: { path: "fine.txt" }, content: "x" }]),
    ...rejected(400, "bundle.path"),
  },
  // --- entry types -------------------------------------------------------------------------------------
  {
    label: "a symlink",
    build: () => bundleWith([{ name: "link", type: "symlink", linkname: "/etc/passwd" }]),
    ...rejected(400, "bundle.entry_type"),
  },
  {
    label: "a hard link",
    build: () => bundleWith([{ name: "hard", type: "link", linkname: "capability.yaml" }]),
    ...rejected(400, "bundle.entry_type"),
  },
  {
    label: "a character device",
    build: () => bundleWith([{ name: "dev", type: "char" }]),
    ...rejected(400, "bundle.entry_type"),
  },
  {
    label: "a FIFO",
    build: () => bundleWith([{ name: "fifo", type: "fifo" }]),
    ...rejected(400, "bundle.entry_type"),
  },
  {
    label: "a global pax header with path=../../evil",
    build: () => bundleWith([], { globalPax: { path: "../../evil" } }),
    ...rejected(400, "bundle.entry_type"),
  },
  {
    label: "a GNU long link name (K)",
    build: () =>
      bundleWith([{ name: "a.txt", content: "x", extended: [{ typeflag: "K", data: "/etc/passwd\0" }] }]),
    ...rejected(400, "bundle.entry_type"),
  },
  {
    label: "an old GNU long name (N)",
    build: () =>
      bundleWith([{ name: "a.txt", content: "x", extended: [{ typeflag: "N", data: "../evil\0" }] }]),
    ...rejected(400, "bundle.entry_type"),
  },
  {
    label: "a GNU sparse file",
    build: () => bundleWith([{ name: "sparse.bin", typeflag: "S", format: "gnu", content: "x" }]),
    ...rejected(400, "bundle.entry_type"),
  },
  {
    label: "pax GNU.sparse records naming another file",
    build: () => bundleWith([{ name: "a.txt", content: "x", pax: { "GNU.sparse.name": "../evil" } }]),
    ...rejected(400, "bundle.entry_type"),
  },
  {
    label: "a volume header",
    build: () => bundleWith([{ name: "volume", typeflag: "V", format: "gnu" }]),
    ...rejected(400, "bundle.entry_type"),
  },
  {
    label: "a contiguous file",
    build: () => bundleWith([{ name: "contig", type: "contiguous", content: "x" }]),
    ...rejected(400, "bundle.entry_type"),
  },
  {
    label: "a pax size that disagrees with the header",
    build: () => bundleWith([{ name: "a.txt", content: "abcd", pax: { size: "0" } }]),
    ...rejected(400, "bundle.format"),
  },
  // --- duplicates ----------------------------------------------------------------------------------
  {
    label: "the same path twice",
    build: () =>
      bundleWith([
        { name: "a.txt", content: "1" },
        { name: "a.txt", content: "2" },
      ]),
    ...rejected(400, "bundle.duplicate"),
  },
  {
    label: "NFC and NFD spellings of café.txt",
    build: () =>
      bundleWith([
        { name: "caf\u00e9.txt", content: "1" },
        { name: "cafe\u0301.txt", content: "2" },
      ]),
    ...rejected(400, "bundle.duplicate"),
  },
  {
    label: "two paths equal ignoring case",
    build: () =>
      bundleWith([
        { name: "Notes.txt", content: "1" },
        { name: "notes.TXT", content: "2" },
      ]),
    ...rejected(400, "bundle.duplicate"),
  },
  {
    label: "no capability.yaml",
    build: () => buildTarGz([{ name: "README.md", content: "x" }]),
    ...rejected(400, "bundle.no_manifest"),
  },
  // --- capability.yaml (SPEC §4.2) ---------------------------------------------------------------------
  {
    label: "a capability.yaml over 256 KiB",
    build: () =>
      manifestWith(`${capabilityManifest({ name: "hostile" })}padding: "${"x".repeat(256 * 1024)}"\n`),
    ...rejected(422, "manifest.yaml"),
  },
  {
    label: "a billion-laughs capability.yaml",
    build: () => {
      const levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      for (let i = 1; i < 10; i++)
        levels.push(
          `a${i}: &a${i} [${Array(10)
            .fill(`*a${i - 1}`)
            .join(",")}]`,
        );
      return manifestWith(`${capabilityManifest({ name: "hostile" })}produces:\n  ${levels.join("\n  ")}\n`);
    },
    ...rejected(422, "manifest.yaml"),
  },
  {
    label: "a capability.yaml nested 100,000 levels deep",
    build: () =>
      manifestWith(
        `${capabilityManifest({ name: "hostile" })}produces: {x: ${"[".repeat(100_000)}${"]".repeat(100_000)}}\n`,
      ),
    ...rejected(422, "manifest.yaml"),
  },
  // --- documents read by discovery (SPEC §4.1) ---------------------------------------------------------
  {
    label: "a skill whose frontmatter is a flow list of 6 million items",
    build: () =>
      bundleWith(
        [{ name: "skills/evil/SKILL.md", content: frontmatter(`items: ${flowList(6_000_000)}`) }],
        FAST,
      ),
    ...rejected(422, "manifest.limits"),
  },
  {
    label: "an agent whose frontmatter holds 70,000 keys",
    build: () => bundleWith([{ name: "agents/keys.md", content: frontmatter(manyKeys(70_000)) }]),
    ...rejected(422, "manifest.limits"),
  },
  {
    label: "a tool YAML file with a flow list of a million items",
    build: () => bundleWith([{ name: "tools/evil.yaml", content: `tools: ${flowList(1_000_000)}` }], FAST),
    ...rejected(422, "manifest.limits"),
  },
  {
    label: "a tool YAML file of half a million items in under 1 MiB",
    build: () => bundleWith([{ name: "tools/evil.yaml", content: `tools: ${flowList(500_000)}` }]),
    ...rejected(422, "manifest.limits"),
  },
  {
    label: "300,000 JSON tool definitions",
    build: () =>
      bundleWith([
        {
          name: "tools/defs.json",
          content: JSON.stringify({ tools: Array.from({ length: 300_000 }, (_, i) => ({ name: `t${i}` })) }),
        },
      ]),
    ...rejected(422, "manifest.limits"),
  },
  {
    label: "30,000 JSON tool definitions in under 1 MiB (over 2,000 components)",
    build: () =>
      bundleWith([
        {
          name: "tools/defs.json",
          content: JSON.stringify({ tools: Array.from({ length: 30_000 }, (_, i) => ({ name: `t${i}` })) }),
        },
      ]),
    ...rejected(422, "manifest.limits"),
  },
  {
    label: "an .mcp.json nested 100,000 levels deep",
    build: () =>
      bundleWith([
        { name: ".mcp.json", content: `{"mcpServers": ${"[".repeat(100_000)}${"]".repeat(100_000)}}` },
      ]),
    ...rejected(422, "manifest.limits"),
  },
  {
    label: "many agents whose frontmatter together exceeds the capability's parse budget",
    build: () =>
      bundleWith(
        Array.from({ length: 20 }, (_, i) => ({
          name: `agents/many/a${i}.md`,
          content: frontmatter(`list: ${flowList(10_000)}`),
        })),
      ),
    ...rejected(422, "manifest.limits"),
  },
];

function countBlobFiles(t: TestApp): number {
  const walk = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (sum, entry) => sum + (entry.isDirectory() ? walk(path.join(dir, entry.name)) : 1),
      0,
    );
  try {
    return walk(path.join(t.dataDir, "blobs"));
  } catch {
    return 0;
  }
}

async function countVersions(t: TestApp): Promise<number> {
  const row = await t.deps.db
    .selectFrom("capability_versions")
    .select((eb) => eb.fn.countAll().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function settledRss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

describe("the hostile bundle corpus, published over HTTP", () => {
  let t: TestApp;
  let baselineRss = 0;
  let peakRss = 0;
  before(async () => {
    t = await buildTestApp({ env: { CAPSTAN_MAX_BUNDLE_BYTES: String(MAX_BUNDLE_BYTES) } });
    baselineRss = settledRss();
  });
  after(() => t.close());

  for (const hostile of CASES) {
    test(`${hostile.label}: ${hostile.status} ${hostile.errorType}, quickly, storing nothing`, async () => {
      const versionsBefore = await countVersions(t);
      const blobsBefore = countBlobFiles(t);
      const bundle = hostile.build();
      const start = performance.now();
      const res = await publishBundle(t, bundle);
      const ms = performance.now() - start;
      const envelope = assertEnvelope(res, hostile.status, hostile.type);
      const types = (envelope.errors ?? []).map((item) => item.type);
      assert.ok(
        types.includes(hostile.errorType),
        `expected ${hostile.errorType} among ${JSON.stringify(types)}`,
      );
      assert.ok(ms < TIME_BOUND_MS, `took ${Math.round(ms)} ms`);
      assert.equal(await countVersions(t), versionsBefore);
      assert.equal(countBlobFiles(t), blobsBefore);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    });
  }

  test("a valid bundle is still published afterwards, and memory did not grow without bound", async () => {
    const res = await publishBundle(t, bundleWith([]));
    assert.equal(res.statusCode, 201, res.body);
    const growth = Math.max(peakRss, settledRss()) - baselineRss;
    assert.ok(growth < RSS_GROWTH_BOUND, `RSS grew by ${Math.round(growth / MiB)} MiB`);
  });

  test("a .capstanignore of backtracking patterns is published, its costly rules with a warning", async () => {
    // Compiled to regular expressions, the first two took seconds and minutes on these paths, and a
    // publish held a bundle worker until its timeout.
    const rules = [`${"**/".repeat(10)}z`, `${"*a".repeat(10)}*b`];
    // 500 times: one costs a table of 402 × 2,002 cells on the deep path, 500 are over the budget.
    const costlyRules = Array.from({ length: 500 }, () => `${"**/a/".repeat(200)}c/b`);
    const paths = [`${"a/".repeat(22)}y`, `names/${"a".repeat(60)}`, `${"a/".repeat(2000)}b`];
    const publish = (name: string, lines: string[]) =>
      publishBundle(
        t,
        buildTarGz([
          ...capabilityEntries({ name }),
          { name: ".capstanignore", content: `${lines.join("\n")}\n` },
          ...paths.map((file, i) => ({ name: `long${i}`, pax: { path: file }, content: "x" })),
        ]),
      );
    const typesOf = (res: Awaited<ReturnType<typeof publish>>) =>
      res.json().warnings.map((item: { type: string }) => item.type);

    const quick = await publish("ignore-backtracking", rules);
    assert.equal(quick.statusCode, 201, quick.body);
    assert.deepEqual(typesOf(quick), []);

    const costly = await publish("ignore-costly", [...rules, ...costlyRules]);
    assert.equal(costly.statusCode, 201, costly.body);
    assert.deepEqual(typesOf(costly), ["bundle.ignore_rules"]);
    assert.match(costly.json().warnings[0].msg, /costs too much to apply/);
  });

  test("a single-line Python tool file of megabytes is published with a warning, not scanned", async () => {
    // The reported file was 24 MB; anything over the scan limit takes the same path.
    const line = `x = "${randomDigits(4 * MiB)}"\n`;
    const source = `${line}from dreadnode import tool\n\n@tool\ndef hidden() -> None:\n    pass\n`;
    const start = performance.now();
    const res = await publishBundle(
      t,
      buildTarGz([...capabilityEntries({ name: "big-python" }), { name: "tools/big.py", content: source }]),
    );
    const ms = performance.now() - start;
    assert.equal(res.statusCode, 201, res.body);
    const artifact = res.json();
    assert.ok(ms < TIME_BOUND_MS, `took ${Math.round(ms)} ms`);
    assert.equal(artifact.component_counts.tools, 0);
    assert.deepEqual(
      artifact.warnings.map((item: { type: string; loc: unknown[] }) => [item.type, item.loc]),
      [["manifest.limits", ["bundle", "tools/big.py"]]],
    );
  });
});
