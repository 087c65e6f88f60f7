// Scale mode (SPEC §8): two server processes on one PostgreSQL database, driven concurrently.
// Runs in the PostgreSQL pass of the suite only (CAPSTAN_TEST_DATABASE_URL set).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { generateApiKey } from "../../src/lib/api-key-format.js";
import { createTestDatabase, type TestDatabase, testDialect } from "../helpers/database.js";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.js";
import { buildTarGz } from "../helpers/tar-builder.js";

const ORG = "/api/v1/org/default";
const WS = `${ORG}/ws/main`;

function bundle(version: string, flags = true): Buffer {
  const manifest = [
    "schema: 1",
    "name: scaled",
    `version: "${version}"`,
    "description: Published from two instances at once.",
    ...(flags ? ["flags:", "  verbose:", "    description: Log more"] : []),
  ].join("\n");
  return buildTarGz([
    { name: "capability.yaml", content: `${manifest}\n` },
    { name: "agents/helper.md", content: `---\nname: helper\n---\nHelps with ${version}.\n` },
  ]);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

describe("two instances on one PostgreSQL database", { skip: testDialect() !== "postgres" }, () => {
  const adminKey = generateApiKey().key;
  let database: TestDatabase;
  let dataDir: string;
  let a: ServerProcess;
  let b: ServerProcess;
  let runtimeId: string;

  const call = async (server: ServerProcess, method: string, url: string, options: RequestInit = {}) => {
    const headers = new Headers(options.headers);
    if (!headers.has("authorization")) headers.set("authorization", `Bearer ${adminKey}`);
    const res = await fetch(`${server.url}${url}`, { ...options, method, headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
  const json = (body: unknown): RequestInit => ({
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  const gzip = (data: Buffer): RequestInit => ({
    body: new Uint8Array(data),
    headers: { "content-type": "application/gzip" },
  });

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "capstan-scale-"));
    // Empty, so that both instances find the migrations to run and one waits for the other.
    database = await createTestDatabase(dataDir, { empty: true });
    const env = {
      CAPSTAN_DATABASE_URL: database.url,
      CAPSTAN_BLOB_STORE: "postgres",
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
      CAPSTAN_SIGNING_SECRET: "shared-secret-of-the-whole-fleet",
    };
    // Started together: one migrates and bootstraps, the other waits on the boot lock.
    [a, b] = await Promise.all([
      startServerProcess({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "a") }),
      startServerProcess({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "b") }),
    ]);
    const runtimes = await call(a, "GET", `${WS}/runtimes`);
    assert.equal(runtimes.status, 200, JSON.stringify(runtimes.body));
    runtimeId = runtimes.body.items.find((r: { key: string }) => r.key === "default").id;
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("bootstraps exactly once when both start together", async () => {
    const members = await call(b, "GET", `${ORG}/members`);
    assert.equal(members.status, 200);
    assert.equal(members.body.length, 1);
    const runtimes = await call(b, "GET", `${WS}/runtimes`);
    assert.equal(runtimes.body.items.filter((r: { key: string }) => r.key === "default").length, 1);
  });

  test("parallel publishes of one new version on both instances store exactly one artifact", async () => {
    const body = bundle("1.0.0");
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(i % 2 ? a : b, "POST", `${ORG}/capabilities`, gzip(body))),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses: ${statuses}`);
    assert.ok(
      statuses.every((s) => s === 201 || s === 200 || s === 409),
      `statuses: ${statuses}`,
    );
    assert.equal(new Set(results.filter((r) => r.status < 300).map((r) => r.body.id)).size, 1);
    const versions = await call(a, "GET", `${ORG}/capabilities/scaled/versions`);
    const items = Array.isArray(versions.body) ? versions.body : versions.body.versions;
    assert.equal(items.filter((v: { version: string }) => v.version === "1.0.0").length, 1);
  });

  test("parallel publishes of different versions on both instances leave the highest as latest", async () => {
    const versions = ["1.0.1", "1.2.0", "1.10.0", "1.9.3", "1.1.0", "1.3.0"];
    const results = await Promise.all(
      versions.map((v, i) => call(i % 2 ? a : b, "POST", `${ORG}/capabilities`, gzip(bundle(v)))),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      versions.map(() => 201),
    );
    for (const server of [a, b]) {
      const latest = await call(server, "GET", `${ORG}/capabilities/scaled`);
      assert.equal(latest.body.version, "1.10.0");
    }
  });

  test("concurrent conditional PATCHes of one binding on both instances never lose an update", async () => {
    const installed = await call(
      a,
      "POST",
      `${WS}/runtimes/${runtimeId}/capabilities`,
      json({ name: "scaled" }),
    );
    assert.equal(installed.status, 201, JSON.stringify(installed.body));
    const bindingId: string = installed.body.id;
    const startRevision: number = installed.body.revision;
    let successes = 0;
    const worker = async (server: ServerProcess) => {
      for (let done = 0; done < 3; ) {
        const list = await call(server, "GET", `${WS}/runtimes/${runtimeId}/capabilities`);
        const current = list.body.items.find((item: { id: string }) => item.id === bindingId);
        const res = await call(server, "PATCH", `${WS}/runtimes/${runtimeId}/capabilities/${bindingId}`, {
          // Toggling makes every successful PATCH a real change, so each one bumps the revision.
          ...json({ flags: { verbose: !(current.flags.verbose ?? false) } }),
          headers: { "content-type": "application/json", "if-match": `"${current.revision}"` },
        });
        if (res.status === 200) {
          successes++;
          done++;
        } else {
          assert.equal(res.status, 409, JSON.stringify(res.body));
          assert.equal(res.body.type, "conflict_error");
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, (_, i) => worker(i % 2 ? a : b)));
    // Every successful PATCH bumped the revision exactly once: none was overwritten. The other
    // instance's cached list converges within the invalidation window.
    assert.equal(successes, 18);
    await waitFor("both instances to show the final revision", async () => {
      const lists = await Promise.all(
        [a, b].map((s) => call(s, "GET", `${WS}/runtimes/${runtimeId}/capabilities`)),
      );
      return lists.every(
        (list) =>
          list.body.items.find((item: { id: string }) => item.id === bindingId).revision ===
          startRevision + successes,
      );
    });
  });

  test("a change on one instance reaches the other's cached binding list within 5 s", async () => {
    const path = `${WS}/runtimes/${runtimeId}/capabilities`;
    const before = await call(b, "GET", path);
    const binding = before.body.items.find(
      (item: { capability_name: string }) => item.capability_name === "scaled",
    );
    const patched = await call(a, "PATCH", `${path}/${binding.id}`, json({ enabled: !binding.enabled }));
    assert.equal(patched.status, 200);
    await waitFor("the other instance to see the change", async () => {
      const after = await call(b, "GET", path);
      return (
        after.body.items.find((item: { id: string }) => item.id === binding.id).enabled === !binding.enabled
      );
    });
  });

  test("a key revoked on one instance is refused by the other within 5 s", async () => {
    const created = await call(a, "POST", "/api/v1/user/api-keys", json({ name: "short-lived" }));
    assert.equal(created.status, 201);
    const key: string = created.body.key;
    const asKey = { headers: { authorization: `Bearer ${key}` } };
    assert.equal((await call(b, "GET", "/api/v1/user/me", asKey)).status, 200);
    assert.equal((await call(a, "DELETE", `/api/v1/user/api-keys/${created.body.id}`)).status, 204);
    await waitFor("the revocation to reach the other instance", async () => {
      return (await call(b, "GET", "/api/v1/user/me", asKey)).status === 401;
    });
  });

  test("bundles stored in PostgreSQL download through a signed URL from either instance", async () => {
    const meta = await call(a, "GET", `${ORG}/capabilities/scaled/1.10.0/bundle`);
    assert.equal(meta.status, 200);
    const url = new URL(meta.body.download_url);
    const res = await fetch(`${b.url}${url.pathname}${url.search}`);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bundle("1.10.0"));
  });
});

describe("rate limits across two instances", { skip: testDialect() !== "postgres" }, () => {
  test("a key's requests on one instance count against its limit on the other", async () => {
    const adminKey = generateApiKey().key;
    const dataDir = mkdtempSync(path.join(tmpdir(), "capstan-limits-"));
    const database = await createTestDatabase(dataDir);
    const env = {
      CAPSTAN_DATABASE_URL: database.url,
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
      CAPSTAN_RATE_LIMIT_RPM: "60",
    };
    const servers = await Promise.all([
      startServerProcess({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "c") }),
      startServerProcess({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "d") }),
    ]);
    const [c, d] = servers;
    const me = async (server: ServerProcess) => {
      const res = await fetch(`${server.url}/api/v1/user/me`, {
        headers: { authorization: `Bearer ${adminKey}` },
      });
      await res.arrayBuffer();
      return { status: res.status, remaining: Number(res.headers.get("ratelimit-remaining")) };
    };
    try {
      const started = Date.now();
      let admitted = 0;
      for (let i = 0; i < 30; i++) {
        assert.equal((await me(c)).status, 200);
        admitted++;
      }
      // Until D hears from C (a report a second), D counts only its own requests: 60 - n after its
      // n-th. Each look costs D a token too, which is why C spends only half of the 60.
      let onD = 0;
      await waitFor(
        "the other instance to count the first one's requests",
        async () => {
          const res = await me(d);
          assert.equal(res.status, 200);
          admitted++;
          onD++;
          return res.remaining < 60 - onD - 15;
        },
        60_000,
      );
      let refused = false;
      for (let i = 0; i < 60 && !refused; i++) {
        const res = await me(d);
        if (res.status === 429) refused = true;
        else admitted++;
      }
      assert.ok(refused, "the key is refused on D once its 60 are spent across both");
      // A token comes back every second of real time (these are two real servers), so what is
      // admitted beyond the 60 grows with how long a loaded machine took to run this; without the
      // shared count, D alone would have admitted 60 more on top of C's 30.
      const seconds = Math.ceil((Date.now() - started) / 1000);
      assert.ok(admitted <= 65 + seconds, `admitted ${admitted} requests of a limit of 60 in ${seconds} s`);
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("migration lock", { skip: testDialect() !== "postgres" }, () => {
  test("an instance that waits too long for the lock exits with migration_lock_timeout_error", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "capstan-lock-"));
    const database = await createTestDatabase(dataDir);
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query("select pg_advisory_lock($1)", [0x63617073]);
      await assert.rejects(
        startServerProcess({
          CAPSTAN_DATABASE_URL: database.url,
          CAPSTAN_DATA_DIR: dataDir,
          CAPSTAN_MIGRATION_LOCK_TIMEOUT_MS: "1500",
        }),
        /exited with 1[\s\S]*migration_lock_timeout_error/,
      );
    } finally {
      await holder.end();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
