// Events across instances (SPEC §15): two server processes on one PostgreSQL database take 1,000
// concurrent mutations of one org; the org's `seq` ends up 1…N with no gap and no duplicate, and a
// stream open on one instance receives what the other one wrote. PostgreSQL pass only.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { get as httpGet, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { readSse } from "../../src/cli/sse.js";
import { generateApiKey } from "../../src/lib/api-key-format.js";
import { createTestDatabase, type TestDatabase, testDialect } from "../helpers/database.js";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.js";

const ORG = "/api/v1/org/default";
const MUTATIONS = 1000;
const CONCURRENCY = 24;

describe("events from two instances on one PostgreSQL database", {
  skip: testDialect() !== "postgres",
}, () => {
  const adminKey = generateApiKey().key;
  let database: TestDatabase;
  let dataDir: string;
  let a: ServerProcess;
  let b: ServerProcess;

  const call = async (server: ServerProcess, method: string, url: string, body?: unknown) => {
    const res = await fetch(`${server.url}${url}`, {
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

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "capstan-events-scale-"));
    database = await createTestDatabase(dataDir);
    const env = {
      CAPSTAN_DATABASE_URL: database.url,
      CAPSTAN_BLOB_STORE: "postgres",
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
      CAPSTAN_SIGNING_SECRET: "shared-secret-of-the-whole-fleet",
      CAPSTAN_RATE_LIMIT_WRITE_RPM: "0",
    };
    [a, b] = await Promise.all([
      startServerProcess({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "a") }),
      startServerProcess({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "b") }),
    ]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test(`${MUTATIONS} concurrent mutations over both instances: seq has no gap and no duplicate`, async () => {
    // A stream on B, opened before the writes, must see A's events too (the change feed wakes it).
    const start = (await call(a, "GET", `${ORG}/events?after=0&limit=1`)).body;
    assert.ok(start, "the list answers");
    const head = await lastSeq(a);
    const streamed: number[] = [];
    const stream = await openStream(b, head);
    const reading = (async () => {
      for await (const item of readSse(stream.res)) {
        if (item.kind !== "message") continue;
        streamed.push(Number(item.id));
        if (streamed.length === MUTATIONS) break;
      }
    })();

    let next = 0;
    const worker = async () => {
      while (next < MUTATIONS) {
        const n = next++;
        const server = n % 2 === 0 ? a : b;
        const res = await call(server, "PUT", `${ORG}/ws/main/secrets/S_${n % 50}`, { value: `value-${n}` });
        assert.ok(res.status === 200 || res.status === 201, JSON.stringify(res.body));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    const seqs: number[] = [];
    let cursor = 0;
    for (;;) {
      const page = await call(b, "GET", `${ORG}/events?after=${cursor}&limit=1000`);
      assert.equal(page.status, 200);
      seqs.push(...page.body.items.map((event: { seq: number }) => event.seq));
      cursor = page.body.next_after;
      if (!page.body.has_more) break;
    }
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => i + 1),
    );
    assert.equal(seqs.length, head + MUTATIONS);

    await reading;
    stream.req.destroy();
    assert.deepEqual(
      streamed,
      Array.from({ length: MUTATIONS }, (_, i) => head + i + 1),
    );
  });

  async function lastSeq(server: ServerProcess): Promise<number> {
    let cursor = 0;
    for (;;) {
      const page = await call(server, "GET", `${ORG}/events?after=${cursor}&limit=1000`);
      cursor = page.body.next_after;
      if (!page.body.has_more) return cursor;
    }
  }

  function openStream(server: ServerProcess, after: number) {
    return new Promise<{ req: ReturnType<typeof httpGet>; res: IncomingMessage }>((resolve, reject) => {
      const req = httpGet(
        `${server.url}${ORG}/events/stream?types=secret.*`,
        { headers: { authorization: `Bearer ${adminKey}`, "last-event-id": String(after) }, agent: false },
        (res) => {
          assert.equal(res.statusCode, 200);
          resolve({ req, res });
        },
      );
      req.on("error", reject);
    });
  }
});
