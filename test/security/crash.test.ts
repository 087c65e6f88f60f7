// kill -9 during publishes and binding writes, then a restart on the same data: every version has
// its blobs and a consistent "latest", no binding names a missing version, no version is half
// written, and no temporary file survives the next boot. The real server runs as a child process,
// on the test database of the pass (SQLite file or a fresh PostgreSQL database).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../../src/config.js";
import { connectDatabase } from "../../src/db/connect.js";
import { runtimeDigestOf } from "../../src/domain/digests.js";
import { compareSemver } from "../../src/domain/semver.js";
import type { FileManifestEntry } from "../../src/domain/types.js";
import { generateApiKey } from "../../src/lib/api-key-format.js";
import { FsBlobStore } from "../../src/storage/fs-blob-store.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.js";
import { buildTarGz } from "../helpers/tar-builder.js";

const ORG = "/api/v1/org/default";
const WS = `${ORG}/ws/main`;

/** ~1.5 MB of incompressible files: long enough to spool, inspect and store that a kill lands inside. */
function bundle(name: string, version: string): Buffer {
  const files = Array.from({ length: 15 }, (_, i) => ({
    name: `assets/blob-${i}.bin`,
    content: randomBytes(100 * 1024),
  }));
  return buildTarGz([
    {
      name: "capability.yaml",
      content: `schema: 1\nname: ${name}\nversion: "${version}"\ndescription: Crash test.\n`,
    },
    { name: "agents/helper.md", content: `---\nname: helper\n---\nVersion ${version}.\n` },
    ...files,
  ]);
}

/** Every `*.tmp` file anywhere under the data directory, wherever a writer put it. */
function temporaryFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return temporaryFiles(full);
    return entry.name.endsWith(".tmp") ? [full] : [];
  });
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}

describe("kill -9 during writes, then a restart", () => {
  const adminKey = generateApiKey().key;
  let dataDir: string;
  let database: TestDatabase;
  let env: Record<string, string>;
  let server: ServerProcess | null = null;

  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${server!.url}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const publish = (archive: Buffer) =>
    fetch(`${server!.url}${ORG}/capabilities`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/gzip" },
      body: new Uint8Array(archive),
    }).then((res) => res.status);

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "capstan-crash-"));
    database = await createTestDatabase(dataDir);
    env = {
      CAPSTAN_DATA_DIR: dataDir,
      CAPSTAN_DATABASE_URL: database.url,
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
      CAPSTAN_RATE_LIMIT_WRITE_RPM: "0",
    };
    server = await startServerProcess(env);
    assert.equal(await publish(bundle("base", "1.0.0")), 201);
  });
  after(async () => {
    await server?.stop();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function killNow(): Promise<void> {
    const child = server!.child;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    server = null;
  }

  /** Publishes and binding writes in flight, and a kill at the moment `killWhen` names. */
  async function trial(round: number, killWhen: "upload" | "blob" | "response"): Promise<void> {
    const runtimes = await call("GET", `${WS}/runtimes`);
    const runtimeId = runtimes.body.items.find((r: { key: string }) => r.key === "default").id;
    let answered = 0;
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      writes.push(publish(bundle("crashy", `${round}.0.${i}`)).then(() => (answered += 1)));
      writes.push(
        call("POST", `${WS}/runtimes`, {
          key: `rt-${round}-${i}`,
          name: `Runtime ${round}.${i}`,
          config: { version: "v2", capabilities: [{ name: "base", version: "1.0.0" }] },
        }),
      );
      writes.push(
        call("PUT", `${WS}/runtimes/${runtimeId}/config`, {
          config: { version: "v2", capabilities: [{ name: "base", version: "1.0.0", enabled: i % 2 === 0 }] },
        }),
      );
    }
    const settled = Promise.allSettled(writes);
    const uploadDir = path.join(dataDir, "tmp");
    const blobTemp = path.join(dataDir, "blobs", ".tmp");
    const seen = (dir: string) => existsSync(dir) && readdirSync(dir).length > 0;
    const moment =
      killWhen === "upload"
        ? () => seen(uploadDir)
        : killWhen === "blob"
          ? () => seen(blobTemp)
          : () => answered > 0;
    // If that moment never comes (a fast machine), the kill still lands while the rest are in flight.
    await until(moment, 20_000);
    await killNow();
    await settled;
  }

  async function restartAndCheck(): Promise<void> {
    server = await startServerProcess(env);
    // The boot sweep ran before the server listened.
    assert.deepEqual(temporaryFiles(dataDir), [], "temporary files survived the boot");
    await checkInvariants();
  }

  async function checkInvariants(): Promise<void> {
    const config = loadConfig({}, { CAPSTAN_DATA_DIR: dataDir, CAPSTAN_DATABASE_URL: database.url });
    const handle = connectDatabase(config.database);
    const blobs = new FsBlobStore(path.join(dataDir, "blobs"));
    try {
      const { db } = handle;
      const versions = await db.selectFrom("capability_versions").selectAll().execute();
      const published = new Set(
        (
          await db
            .selectFrom("audit_events")
            .select("target_id")
            .where("action", "=", "capability.version.published")
            .execute()
        ).map((row) => row.target_id),
      );
      for (const version of versions) {
        const label = `version ${version.version} (${version.status})`;
        assert.ok(published.has(version.id), `${label} has no audit event: half written`);
        const manifest = JSON.parse(version.file_manifest) as FileManifestEntry[];
        assert.equal(runtimeDigestOf(manifest), version.runtime_digest, `${label}: digest mismatch`);
        if (version.status === "deleted") continue;
        assert.ok(await blobs.has(version.artifact_sha256), `${label}: archive blob missing`);
        for (const entry of manifest) {
          assert.ok(await blobs.has(entry.sha256), `${label}: blob of ${entry.path} missing`);
        }
      }
      for (const capability of await db.selectFrom("capabilities").selectAll().execute()) {
        const candidates = versions
          .filter(
            (v) => v.capability_id === capability.id && (v.status === "active" || v.status === "deprecated"),
          )
          .sort((a, b) => compareSemver(b.version, a.version));
        assert.equal(capability.latest_version, candidates[0]?.version ?? null, `${capability.name}: latest`);
        assert.equal(
          capability.latest_version_id,
          candidates[0]?.id ?? null,
          `${capability.name}: latest id`,
        );
      }
      const live = new Set(versions.filter((v) => v.status !== "deleted").map((v) => v.id));
      for (const binding of await db.selectFrom("bindings").select(["id", "version_id"]).execute()) {
        assert.ok(live.has(binding.version_id), `binding ${binding.id} names a missing version`);
      }
    } finally {
      await handle.close();
    }
  }

  // Each boot of the TypeScript server takes a few seconds, many more on a loaded machine.
  test("kills in different phases; after each restart the data is whole and the server works", {
    timeout: 300_000,
  }, async () => {
    // Uploads are being spooled in both: four publishes, two inspected at a time.
    const phases = ["blob", "response"] as const;
    for (const [round, phase] of phases.entries()) {
      await trial(round + 1, phase);
      await restartAndCheck();
    }
    // Still fully usable: a publish, a binding to it, and its bundle download.
    assert.equal(await publish(bundle("after", "1.0.0")), 201);
    const runtimes = await call("GET", `${WS}/runtimes`);
    const runtimeId = runtimes.body.items.find((r: { key: string }) => r.key === "default").id;
    const bound = await call("POST", `${WS}/runtimes/${runtimeId}/capabilities`, {
      name: "after",
      version: "1.0.0",
    });
    assert.equal(bound.status, 201, JSON.stringify(bound.body));
    const link = await call("GET", `${ORG}/capabilities/after/1.0.0/bundle`);
    assert.equal(link.status, 200);
    const download = await fetch(link.body.download_url);
    assert.equal(download.status, 200);
    await download.arrayBuffer();
  });
});
