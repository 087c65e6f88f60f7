import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { extract as createTarExtract, type Header } from "tar-stream";
import { packBundle, readCapabilitySource } from "../../src/cli/bundle-pack.js";
import { readCapabilityDir } from "../../src/cli/read-capability-dir.js";
import { bundleLimitsFor, readBundle } from "../../src/domain/bundle-reader.js";
import { buildFileManifest, runtimeDigestOf, sha256Hex } from "../../src/domain/digests.js";

const FULL_FIXTURE = path.resolve("test/fixtures/capabilities/full");
const LIMITS = bundleLimitsFor(50 * 1024 * 1024);

async function headersOf(archive: Buffer): Promise<Header[]> {
  const headers: Header[] = [];
  const tar = createTarExtract();
  const done = (async () => {
    for await (const entry of tar) {
      headers.push(entry.header);
      entry.resume();
    }
  })();
  tar.end(gunzipSync(archive));
  await done;
  return headers;
}

async function touchEverything(dir: string, when: Date): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    await utimes(path.join(entry.parentPath, entry.name), when, when);
  }
}

describe("capability pack", () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "capstan-pack-"));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  test("packing the same directory twice gives identical bytes", async () => {
    const files = await readCapabilitySource(FULL_FIXTURE);
    const first = await packBundle(files);
    const second = await packBundle(await readCapabilitySource(FULL_FIXTURE));
    assert.ok(first.archive.equals(second.archive));
    assert.equal(first.sha256, sha256Hex(first.archive));
  });

  test("a copy with other timestamps packs to the same bytes", async () => {
    const copy = path.join(scratch, "copy");
    await cp(FULL_FIXTURE, copy, { recursive: true });
    await touchEverything(copy, new Date("2001-02-03T04:05:06Z"));
    const original = await packBundle(await readCapabilitySource(FULL_FIXTURE));
    const copied = await packBundle(await readCapabilitySource(copy));
    assert.ok(original.archive.equals(copied.archive));
  });

  test("the runtime digest is the one the server computes from the unpacked bundle", async () => {
    const packed = await packBundle(await readCapabilitySource(FULL_FIXTURE));
    const read = await readBundle(packed.archive, LIMITS);
    assert.equal(packed.runtimeDigest, runtimeDigestOf(buildFileManifest(read.files)));
    assert.equal(read.archiveSha256, packed.sha256);
    assert.deepEqual(
      read.files.map((file) => file.path),
      [...(await readCapabilityDir(FULL_FIXTURE)).keys()].sort(),
    );
  });

  test("entries are sorted, directories first, with fixed times, owners and modes", async () => {
    const packed = await packBundle(await readCapabilitySource(FULL_FIXTURE));
    const headers = await headersOf(packed.archive);
    const names = headers.map((header) => header.name);
    assert.deepEqual(
      names,
      [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    assert.ok(names.indexOf("agents/") < names.indexOf("agents/planner.md"));
    for (const header of headers) {
      assert.equal(header.mtime.getTime(), 0, header.name);
      assert.equal(header.uid, 0);
      assert.equal(header.gid, 0);
      assert.equal(header.uname, "");
      assert.equal(header.gname, "");
      assert.equal(header.mode, header.type === "directory" ? 0o755 : 0o644, header.name);
      assert.ok(header.type === "file" || header.type === "directory");
    }
  });

  test("the gzip header has no time, no file name and a fixed OS byte", async () => {
    const { archive } = await packBundle(await readCapabilitySource(FULL_FIXTURE));
    assert.deepEqual([...archive.subarray(0, 3)], [0x1f, 0x8b, 8]);
    assert.equal(archive[3], 0, "no FNAME/FCOMMENT/FEXTRA flags");
    assert.equal(archive.readUInt32LE(4), 0, "mtime is 0");
    assert.equal(archive[9], 3);
  });

  test("version-control directories are left out", async () => {
    const dir = path.join(scratch, "with-git");
    await cp(path.resolve("test/fixtures/capabilities/basic"), dir, { recursive: true });
    await mkdir(path.join(dir, ".git", "objects"), { recursive: true });
    await writeFile(path.join(dir, ".git", "objects", "blob"), "history");
    await writeFile(path.join(dir, ".gitignore"), "*.tar.gz\n");
    const files = await readCapabilitySource(dir);
    assert.ok(files.has(".gitignore"));
    assert.ok(![...files.keys()].some((file) => file.startsWith(".git/")));
  });

  test("a path that is not a directory is refused", async () => {
    await assert.rejects(readCapabilitySource(path.join(scratch, "missing")), /is not a directory/);
  });
});
