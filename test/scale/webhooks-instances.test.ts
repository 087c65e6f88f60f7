// Webhook delivery in scale mode (SPEC §8, §15): two server processes on one PostgreSQL database,
// 1,000 mutations sent to both at once, two endpoints. Each event reaches each endpoint exactly
// once (nothing here fails, so nothing is retried): neither the fan-out nor the sending is done
// by both instances. Runs in the PostgreSQL pass of the suite only.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { generateApiKey } from "../../src/lib/api-key-format.js";
import { createTestDatabase, type TestDatabase, testDialect } from "../helpers/database.js";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.js";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.js";

const ORG = "/api/v1/org/default";
const MUTATIONS = 1_000;
/** Requests in flight at once, over both instances. */
const CONCURRENCY = 16;

describe("webhooks on two instances", { skip: testDialect() !== "postgres" }, () => {
  const adminKey = generateApiKey().key;
  let database: TestDatabase;
  let dataDir: string;
  let a: ServerProcess;
  let b: ServerProcess;
  const receivers: WebhookReceiver[] = [];

  const call = async (server: ServerProcess, method: string, url: string, body?: unknown) => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "capstan-webhooks-scale-"));
    database = await createTestDatabase(dataDir);
    const env = {
      CAPSTAN_DATABASE_URL: database.url,
      CAPSTAN_BLOB_STORE: "postgres",
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
      CAPSTAN_SIGNING_SECRET: "shared-secret-of-the-whole-fleet",
      CAPSTAN_WEBHOOK_ALLOW_PRIVATE: "true",
      CAPSTAN_RATE_LIMIT_WRITE_RPM: "0",
    };
    [a, b] = await Promise.all([
      startServerProcess({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "a") }),
      startServerProcess({ ...env, CAPSTAN_DATA_DIR: path.join(dataDir, "b") }),
    ]);
    for (let i = 0; i < 2; i++) receivers.push(await startWebhookReceiver());
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    for (const receiver of receivers) await receiver.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("1,000 concurrent mutations: every event reaches each endpoint exactly once", async () => {
    for (const [index, receiver] of receivers.entries()) {
      const created = await call(index === 0 ? a : b, "POST", `${ORG}/webhooks`, {
        url: receiver.url,
        events: ["runtime.created"],
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    let next = 0;
    const worker = async () => {
      while (next < MUTATIONS) {
        const n = next++;
        const res = await call(n % 2 ? a : b, "POST", `${ORG}/ws/main/runtimes`, {
          key: `scaled-${n}`,
          name: `Scaled ${n}`,
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await Promise.all(receivers.map((receiver) => receiver.waitFor(MUTATIONS, 120_000)));

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      // A message arrives before its sender records the attempt: wait (bounded) for the last
      // records, so that what is read next is the settled state.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const open = await client.query(
          "select count(*)::int as n from webhook_deliveries where status = 'pending'",
        );
        if (open.rows[0].n === 0 || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // All settled, each on its first attempt: no delivery is left for anyone to send again.
      const { rows } = await client.query(
        "select status, attempts, count(*)::int as n from webhook_deliveries group by status, attempts",
      );
      assert.deepEqual(rows, [{ status: "succeeded", attempts: 1, n: 2 * MUTATIONS }]);
      const attempts = await client.query("select count(*)::int as n from webhook_delivery_attempts");
      assert.equal(attempts.rows[0].n, 2 * MUTATIONS);
    } finally {
      await client.end();
    }
    for (const receiver of receivers) {
      assert.equal(receiver.messages.length, MUTATIONS);
      const ids = new Set(receiver.messages.map((message) => message.headers["webhook-id"]));
      assert.equal(ids.size, MUTATIONS);
      const names = new Set(receiver.messages.map((message) => JSON.parse(message.body).data.key));
      assert.equal(names.size, MUTATIONS);
    }
  });
});
