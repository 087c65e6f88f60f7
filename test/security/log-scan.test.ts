// No credential ever reaches a log line (SPEC §2.2), at the most talkative level the server offers.
// A run through the real server process over real sockets (so the fast lane and Node's client-error
// path take part) and one through app.inject each use every kind of secret the server sees: API keys
// in `Authorization` and in `X-API-Key`, a key shown once at creation, the bootstrap token, a runtime
// token, the signatures of download URLs, a credential in a request Node cannot parse, a credential
// in a query string, and requests that fail. Then every captured line is searched for each secret
// and for a key's secret part alone, also inside byte arrays a record might carry.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { generateApiKey } from "../../src/lib/api-key-format.js";
import { capabilityBundle } from "../helpers/capability-bundles.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const WS = "/api/v1/org/default/ws/main";
/** A credential that is not in the key format: only the header redaction can keep it out. */
const MALFORMED_CREDENTIAL = "cst_not-a-real-key_hunter2hunter2";
const UNKNOWN_KEY = `cst_zzzzzzzzzzzz_${"Q7".repeat(24)}`;

type Send = (
  method: string,
  url: string,
  headers?: Record<string, string>,
  body?: Buffer | string,
) => Promise<{ status: number; json: () => Record<string, unknown> }>;

/** Everything a test run made secret, to be searched for in the logs afterwards. */
class Secrets {
  readonly values = new Set<string>();

  add(secret: string): string {
    this.values.add(secret);
    // The secret part of a key alone is as good as the key.
    const key = /^cst_[a-z2-7]{12}_([A-Za-z0-9]+)$/.exec(secret);
    if (key) this.values.add(key[1]);
    return secret;
  }

  /** The signature of a signed download URL. */
  addSignatureOf(url: string): void {
    const sig = new URL(url).searchParams.get("sig");
    assert.ok(sig && sig.length >= 16, `a signed URL: ${url}`);
    this.values.add(sig);
  }
}

/** The text of a log line plus any byte arrays in it (a Buffer serializes as `{type, data}`). */
function searchableText(line: string): string {
  const parts = [line];
  const visit = (value: unknown): void => {
    if (value === null || typeof value !== "object") return;
    const record = value as Record<string, unknown>;
    if (record.type === "Buffer" && Array.isArray(record.data)) {
      parts.push(Buffer.from(record.data as number[]).toString("latin1"));
      return;
    }
    for (const child of Object.values(record)) visit(child);
  };
  try {
    visit(JSON.parse(line));
  } catch {
    // Not JSON: the line itself is searched.
  }
  return parts.join("\n");
}

function assertNoSecretIn(lines: string[], secrets: Secrets): void {
  const leaks: string[] = [];
  for (const line of lines) {
    const text = searchableText(line);
    for (const secret of secrets.values) {
      if (text.includes(secret)) leaks.push(`${secret.slice(0, 8)}… in ${line.slice(0, 300)}`);
    }
  }
  assert.deepEqual(leaks, [], "credentials leaked into the logs");
}

/** Every request of the scenario, through `send`; the secrets it met go into `secrets`. */
async function exercise(send: Send, adminKey: string, runtimeId: string, secrets: Secrets): Promise<void> {
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  const json = (key: string) => ({ ...auth(key), "content-type": "application/json" });

  assert.equal((await send("GET", "/api/v1/user/me", auth(adminKey))).status, 200);
  assert.equal((await send("GET", "/api/v1/user/me", { "x-api-key": adminKey })).status, 200);

  const created = await send("POST", "/api/v1/user/api-keys", json(adminKey), JSON.stringify({ name: "ci" }));
  assert.equal(created.status, 201);
  const minted = secrets.add(created.json().key as string);
  assert.equal((await send("GET", "/api/v1/user/me", { "x-api-key": minted })).status, 200);

  const published = await send(
    "POST",
    "/api/v1/org/default/capabilities",
    { ...auth(minted), "content-type": "application/gzip" },
    capabilityBundle({ name: "scanned" }),
  );
  assert.equal(published.status, 201);
  const version = published.json().version as string;
  const link = await send("GET", `/api/v1/org/default/capabilities/scanned/${version}/bundle`, auth(minted));
  assert.equal(link.status, 200);
  const downloadUrl = link.json().download_url as string;
  secrets.addSignatureOf(downloadUrl);
  const download = new URL(downloadUrl);
  assert.equal((await send("GET", `${download.pathname}${download.search}`)).status, 200);
  // A tampered signature fails (403) and is logged with its URL: the signature must not be.
  const tampered = `${download.pathname}?exp=${download.searchParams.get("exp")}&sig=${"f".repeat(64)}`;
  secrets.values.add("f".repeat(64));
  assert.equal((await send("GET", tampered)).status, 403);

  const rt = `${WS}/runtimes/${runtimeId}`;
  const bound = await send("POST", `${rt}/capabilities`, json(adminKey), JSON.stringify({ name: "scanned" }));
  assert.equal(bound.status, 201);
  const token = await send("POST", `${rt}/tokens`, json(adminKey), JSON.stringify({ name: "edge" }));
  assert.equal(token.status, 201);
  const runtimeToken = secrets.add(token.json().token as string);
  // Twice each: the second read is answered from memory (by the fast lane, over a socket).
  for (let i = 0; i < 2; i++) {
    assert.equal((await send("GET", `${rt}/capabilities`, auth(runtimeToken))).status, 200);
    const resolved = await send("GET", `${rt}/capabilities/resolved`, { "x-api-key": runtimeToken });
    assert.equal(resolved.status, 200);
    for (const item of resolved.json().capabilities as { download_url: string }[]) {
      secrets.addSignatureOf(item.download_url);
    }
  }

  // Failing requests of every kind, each carrying a credential.
  assert.equal((await send("GET", "/api/v1/user/me", auth(UNKNOWN_KEY))).status, 401);
  assert.equal((await send("GET", "/api/v1/user/me", auth(MALFORMED_CREDENTIAL))).status, 401);
  assert.equal((await send("GET", "/api/v1/no-such-route", auth(adminKey))).status, 404);
  assert.equal((await send("POST", `${WS}/runtimes`, json(adminKey), "{not json")).status, 400);
  assert.equal((await send("POST", `${WS}/runtimes`, json(runtimeToken), "{}")).status, 403);
  assert.equal((await send("GET", `/api/v1/user/me?api_key=${minted}&token=${runtimeToken}`)).status, 401);
  assert.equal((await send("GET", `/api/v1/user/me?access_token=${adminKey}`)).status, 401);
}

class LogCapture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe("log scan at debug level", () => {
  describe("through the real server over real sockets", () => {
    const adminKey = generateApiKey().key;
    const secrets = new Secrets();
    let dataDir: string;
    let database: TestDatabase;
    let server: ServerProcess;

    before(async () => {
      secrets.add(adminKey);
      secrets.add(UNKNOWN_KEY);
      secrets.add(MALFORMED_CREDENTIAL);
      secrets.values.add("hunter2hunter2");
      dataDir = mkdtempSync(path.join(tmpdir(), "capstan-log-scan-"));
      database = await createTestDatabase(dataDir);
      server = await startServerProcess({
        CAPSTAN_DATA_DIR: dataDir,
        CAPSTAN_DATABASE_URL: database.url,
        CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
        CAPSTAN_LOG_LEVEL: "debug",
        CAPSTAN_RATE_LIMIT_RPM: "100000",
      });
    });
    after(async () => {
      await server?.stop();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    test("no line holds a key, a token or a signature", async () => {
      const send: Send = async (method, url, headers = {}, body) => {
        const res = await fetch(`${server.url}${url}`, {
          method,
          headers,
          body: typeof body === "string" ? body : body && new Uint8Array(body),
        });
        const text = await res.text();
        return { status: res.status, json: () => JSON.parse(text) };
      };
      const runtimes = await send("GET", `${WS}/runtimes`, { authorization: `Bearer ${adminKey}` });
      const runtimeId = (runtimes.json().items as { id: string; key: string }[]).find(
        (runtime) => runtime.key === "default",
      )?.id;
      assert.ok(runtimeId);
      await exercise(send, adminKey, runtimeId, secrets);

      // Bytes Node's parser refuses, with credentials in them: the client-error path.
      const url = new URL(server.url);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname);
        let received = "";
        socket.on("data", (chunk) => {
          received += chunk;
        });
        socket.on("close", () => resolve(received));
        socket.on("error", reject);
        socket.write(
          `GET /api/v1/user/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminKey}\r\n` +
            `X-API-Key: ${MALFORMED_CREDENTIAL}\r\nBad Header Line\r\n\r\n`,
        );
      });
      assert.match(answer, /^HTTP\/1\.1 400 /);

      await server.stop();
      const lines = server.output().split("\n");
      const text = server.output();
      assert.ok(text.includes('"msg":"client error"'), "the client error was logged at debug level");
      assert.ok(text.includes('"msg":"incoming request"'), "requests were logged");
      assert.ok(text.includes("/api/v1/blobs/"), "the download was logged, its URL included");
      assertNoSecretIn(lines, secrets);
    });
  });

  describe("through app.inject", () => {
    const logs = new LogCapture();
    const secrets = new Secrets();
    let t: TestApp;

    before(async () => {
      t = await buildTestApp({
        logStream: logs,
        logLevel: "debug",
        env: { CAPSTAN_RATE_LIMIT_RPM: "100000" },
        extraRoutes: (app) => {
          app.get("/test/crash", async (request) => {
            throw new Error(`boom at ${request.url}`);
          });
        },
      });
      secrets.add(t.adminKey);
      secrets.add(UNKNOWN_KEY);
      secrets.add(MALFORMED_CREDENTIAL);
      secrets.values.add("hunter2hunter2");
    });
    after(() => t.close());

    test("no line holds a key, a token or a signature", async () => {
      const send: Send = async (method, url, headers = {}, body) => {
        const res = await t.app.inject({
          method: method as "GET",
          url,
          headers,
          ...(body === undefined ? {} : { payload: body }),
        });
        return { status: res.statusCode, json: () => res.json() };
      };
      await exercise(send, t.adminKey, t.runtimeId, secrets);
      // A crash whose message holds the URL, signature and all.
      assert.equal(
        (await send("GET", `/test/crash?sig=${"a".repeat(64)}`, { "x-api-key": t.adminKey })).status,
        500,
      );
      secrets.values.add("a".repeat(64));

      assert.ok(logs.text.includes('"msg":"unhandled error"'), "the crash was logged");
      assertNoSecretIn(logs.text.split("\n"), secrets);
    });
  });
});
