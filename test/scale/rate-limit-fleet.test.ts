// The write limit across two instances on one PostgreSQL database (issue #12): 185 of 300 writes
// were admitted in 1.4 s against 120 a minute, as each instance spent its whole bucket before it
// heard from the other. Runs in the PostgreSQL pass of the suite only (CAPSTAN_TEST_DATABASE_URL).
// The assertion is a count bound that holds however fast or loaded the machine is: the bucket with a
// quarter to spare for reports that run late, plus the refill over however long the burst took. How
// far the old code overshot depended on how many writes each instance served per report interval,
// so on a slow machine this catches it only narrowly; test/unit/rate-limiter.test.ts drives two
// limiters through the reported burst deterministically.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { generateApiKey } from "../../src/lib/api-key-format.js";
import { createTestDatabase, type TestDatabase, testDialect } from "../helpers/database.js";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.js";

const WRITE_RPM = 60;
const WRITES = 300;
/** Requests in flight per instance. */
const CONCURRENCY = 16;

describe("the write limit across two instances", { skip: testDialect() !== "postgres" }, () => {
  const adminKey = generateApiKey().key;
  let database: TestDatabase;
  let dataDir: string;
  let a: ServerProcess;
  let b: ServerProcess;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "capstan-fleet-limit-"));
    database = await createTestDatabase(dataDir);
    const env = {
      CAPSTAN_DATABASE_URL: database.url,
      CAPSTAN_BLOB_STORE: "postgres",
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
      CAPSTAN_RATE_LIMIT_RPM: "100000",
      CAPSTAN_RATE_LIMIT_WRITE_RPM: String(WRITE_RPM),
    };
    [a, b] = await Promise.all([
      startServerProcess({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "a") }),
      startServerProcess({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "b") }),
    ]);
    // Each instance shares only after its first reports (a second apart); sooner, it is stricter.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test(`${WRITES} writes of one key on both instances at once get the limit once`, async () => {
    // A write the route refuses (422) after the limit has counted it: nothing is stored.
    const write = async (server: ServerProcess): Promise<number> => {
      const res = await fetch(`${server.url}/api/v1/orgs`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
        body: "{}",
      });
      await res.arrayBuffer();
      return res.status;
    };
    const statuses: number[] = [];
    let next = 0;
    const worker = async (server: ServerProcess) => {
      while (next < WRITES) {
        next++;
        statuses.push(await write(server));
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: 2 * CONCURRENCY }, (_, i) => worker(i % 2 ? a : b)));
    const seconds = (performance.now() - started) / 1000;

    assert.ok(
      statuses.every((status) => status === 422 || status === 429),
      `statuses: ${[...new Set(statuses)]}`,
    );
    const admitted = statuses.filter((status) => status === 422).length;
    // The documented bound (the bucket once, the refill, one per instance) assumes reports arrive on
    // time; on a loaded machine a late report lets each instance take a few more. The count that
    // matters is far below what each instance spending its whole bucket gives (2 × WRITE_RPM): the
    // exact bound is checked deterministically in test/unit/rate-limiter.test.ts.
    const bound = Math.ceil(WRITE_RPM * 1.25) + Math.ceil((seconds * WRITE_RPM) / 60) + 2;
    assert.ok(admitted >= WRITE_RPM / 4, `the fleet admits a burst: ${admitted}`);
    assert.ok(
      admitted <= bound,
      `${admitted} of ${WRITES} admitted in ${seconds.toFixed(1)} s (bound ${bound})`,
    );
  });
});
