// Blobs no live version names are collected once older than the grace period; blobs a version
// names, fresh ones, and ones a publish has just put again are kept. Temporary files a killed
// process left are swept. Runs on the fs store, and on the PostgreSQL store in the PostgreSQL pass.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { BLOB_GRACE_MS, collectOrphanBlobs, sweepTemporaryFiles } from "../../src/services/blob-collector.js";
import { tempFileName } from "../../src/storage/temp-files.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { testDialect } from "../helpers/database.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const HOUR = 60 * 60 * 1000;
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const later = (ms: number) => new Date(Date.now() + ms);

const stores = testDialect() === "postgres" ? ["fs", "postgres"] : ["fs"];

for (const store of stores) {
  describe(`collecting unreferenced blobs (${store} blob store)`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(store === "postgres" ? { env: { CAPSTAN_BLOB_STORE: "postgres" } } : {});
    });
    after(() => t.close());

    /** Makes a blob look written `ms` ago, as the store records it. */
    async function age(digest: string, ms: number): Promise<void> {
      const when = new Date(Date.now() - ms);
      if (store === "postgres") {
        await t.deps.db
          .updateTable("blobs")
          .set({ created_at: when.toISOString() })
          .where("sha256", "=", digest)
          .execute();
      } else {
        const { utimes } = await import("node:fs/promises");
        await utimes(
          path.join(t.dataDir, "blobs", digest.slice(0, 2), digest.slice(2, 4), digest),
          when,
          when,
        );
      }
    }

    test("an orphan past the grace period goes; named, fresh and deleted-version blobs as expected", async () => {
      const kept = await publishOk(t, { name: "kept" });
      const gone = await publishOk(t, { name: "gone", salt: "only in gone" });
      const del = await t.app.inject({
        method: "DELETE",
        url: "/api/v1/org/default/capabilities/gone/1.0.0",
        headers: bearer(t.adminKey),
      });
      assert.equal(del.statusCode, 204, del.body);
      const orphan = Buffer.from("stored by a publish that never committed");
      const fresh = Buffer.from("stored a moment ago by a publish still running");
      await t.deps.blobs.put(sha256(orphan), orphan);
      await t.deps.blobs.put(sha256(fresh), fresh);

      // Two hours from now, everything stored so far is past the one-hour grace period but `fresh`,
      // which is made to look just written then.
      const now = later(2 * HOUR);
      await age(sha256(fresh), -2 * HOUR);
      const report = await collectOrphanBlobs(t.deps, now);
      assert.ok(report);

      assert.equal(await t.deps.blobs.has(sha256(orphan)), false, "the orphan is collected");
      assert.equal(await t.deps.blobs.has(sha256(fresh)), true, "a blob inside the grace period stays");
      assert.equal(await t.deps.blobs.has(kept.artifact_sha256), true, "a live version's archive stays");
      for (const entry of kept.file_manifest) assert.equal(await t.deps.blobs.has(entry.sha256), true);
      assert.equal(await t.deps.blobs.has(gone.artifact_sha256), false, "a deleted version's archive goes");

      // The kept version still downloads and serves its files.
      const readme = await t.app.inject({
        method: "GET",
        url: "/api/v1/org/default/capabilities/kept/1.0.0/readme",
        headers: bearer(t.adminKey),
      });
      assert.equal(readme.statusCode, 200, readme.body);
    });

    test("nothing is collected inside the grace period", async () => {
      const orphan = Buffer.from("young orphan");
      await t.deps.blobs.put(sha256(orphan), orphan);
      await collectOrphanBlobs(t.deps, later(BLOB_GRACE_MS / 2));
      assert.equal(await t.deps.blobs.has(sha256(orphan)), true);
    });

    test("a blob put again by a publish in flight is fresh again and survives a collection", async () => {
      const data = Buffer.from("old content a new publish reuses");
      await t.deps.blobs.put(sha256(data), data);
      await age(sha256(data), 3 * HOUR);
      // A publish reusing this content puts it again before its transaction names it.
      await t.deps.blobs.put(sha256(data), data);
      await collectOrphanBlobs(t.deps, new Date());
      assert.equal(await t.deps.blobs.has(sha256(data)), true);
      assert.deepEqual(await t.deps.blobs.read(sha256(data)), data);
    });

    test("an archive stored from a file round-trips and is checked against its digest", async () => {
      const data = Buffer.alloc(600 * 1024, 7);
      const file = path.join(t.dataDir, "archive.bin");
      writeFileSync(file, data);
      await t.deps.blobs.putFile(sha256(data), file);
      assert.deepEqual(await t.deps.blobs.read(sha256(data)), data);
      const wrong = sha256(Buffer.from("something else"));
      await assert.rejects(t.deps.blobs.putFile(wrong, file), { type: "s3_error" });
      assert.equal(await t.deps.blobs.has(wrong), false);
    });
  });
}

describe("temporary files", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("at boot, files no live process writes are removed; another host's recent ones stay until stale", async () => {
    const uploads = path.join(t.dataDir, "tmp");
    const blobTemp = path.join(t.dataDir, "blobs", ".tmp");
    mkdirSync(uploads, { recursive: true });
    mkdirSync(blobTemp, { recursive: true });
    // Named with this process's pid: at boot that process cannot have written them yet.
    const ownUpload = tempFileName("upload");
    const ownBlob = tempFileName("a".repeat(64));
    const otherHost = "upload.00000000-1.0123456789ab.tmp";
    writeFileSync(path.join(uploads, ownUpload), "partial upload");
    writeFileSync(path.join(blobTemp, ownBlob), "partial blob");
    writeFileSync(path.join(uploads, otherHost), "another instance's upload in progress");

    const removed = await sweepTemporaryFiles(t.deps, { atBoot: true, nowMs: Date.now() });
    assert.equal(removed, 2);
    assert.deepEqual(readdirSync(uploads), [otherHost]);
    assert.deepEqual(readdirSync(blobTemp), []);

    // Later, past the grace period, nobody can still be writing it.
    await sweepTemporaryFiles(t.deps, { atBoot: false, nowMs: Date.now() + 2 * HOUR });
    assert.deepEqual(readdirSync(uploads), []);
  });

  test("outside boot, this process's own temporary files are left alone", async () => {
    const uploads = path.join(t.dataDir, "tmp");
    const own = tempFileName("upload");
    writeFileSync(path.join(uploads, own), "an upload this process is receiving");
    await sweepTemporaryFiles(t.deps, { atBoot: false, nowMs: Date.now() });
    assert.deepEqual(readdirSync(uploads), [own]);
  });
});

describe("one collector at a time", { skip: testDialect() !== "postgres" }, () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { CAPSTAN_BLOB_STORE: "postgres" } });
  });
  after(() => t.close());

  test("a collection while another instance holds the lock does nothing and says so", async () => {
    const orphan = Buffer.from("an orphan the other instance will collect");
    await t.deps.blobs.put(sha256(orphan), orphan);
    assert.equal(t.config.database.dialect, "postgres");
    const other = new pg.Client({
      connectionString: t.config.database.dialect === "postgres" ? t.config.database.url : undefined,
    });
    await other.connect();
    try {
      await other.query("select pg_advisory_lock($1)", [0x63617074]);
      assert.equal(await collectOrphanBlobs(t.deps, later(2 * HOUR)), null);
      assert.equal(await t.deps.blobs.has(sha256(orphan)), true);
    } finally {
      await other.end();
    }
    assert.ok(await collectOrphanBlobs(t.deps, later(2 * HOUR)));
    assert.equal(await t.deps.blobs.has(sha256(orphan)), false);
  });
});
