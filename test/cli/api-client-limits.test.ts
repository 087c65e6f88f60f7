// The CLI's HTTP client against a local server that misbehaves on purpose: bodies that never end,
// answers that trickle or never come, downloads cut short. Timeouts are shortened to a few hundred
// milliseconds; the limits on body sizes are the real ones.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ApiClient,
  ApiError,
  MAX_ERROR_BODY_BYTES,
  MAX_JSON_BODY_BYTES,
  NetworkError,
} from "../../src/cli/api-client.js";
import { downloadVerified } from "../../src/cli/bundle-download.js";
import { reportFailure } from "../../src/cli/output.js";
import { fakeIo, runCli } from "./helpers/cli-harness.js";

/** What the kernel and the streams on both sides may hold beyond what the client read. */
const IN_FLIGHT_ALLOWANCE = 16 * 1024 * 1024;
/** Where a pouring server gives up if the client never stops reading. */
const POUR_LIMIT = 512 * 1024 * 1024;

const REQUEST_TIMEOUT_MS = 300;
const IDLE_TIMEOUT_MS = 300;
const TRICKLE_INTERVAL_MS = 50;
/** Longer than the request's deadline, shorter than the idle timeout of the upload test's client. */
const UPLOAD_PAUSE_MS = 2 * REQUEST_TIMEOUT_MS;

const BUNDLE = Buffer.from("0123456789");
const BUNDLE_DIGEST = `sha256:${createHash("sha256").update(BUNDLE).digest("hex")}`;

/** Writes `chunk` until the client goes away (or POUR_LIMIT); resolves with the bytes written. */
function pour(res: ServerResponse, chunk: Buffer): Promise<number> {
  return new Promise((resolve) => {
    let written = 0;
    const write = () => {
      while (!res.destroyed && written < POUR_LIMIT) {
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once("drain", write);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    res.on("close", () => resolve(written));
    write();
  });
}

/** Sends `data` one byte every TRICKLE_INTERVAL_MS, then ends (unless the client left first). */
async function trickle(res: ServerResponse, data: Buffer): Promise<void> {
  res.flushHeaders();
  for (const byte of data) {
    await sleep(TRICKLE_INTERVAL_MS);
    if (res.destroyed) return;
    res.write(Buffer.from([byte]));
  }
  res.end();
}

describe("the CLI's HTTP client against a misbehaving server", () => {
  let server: Server;
  let baseUrl: string;
  /** The bytes each pouring route managed to write before its client stopped reading. */
  const poured = new Map<string, Promise<number>>();

  function route(req: IncomingMessage, res: ServerResponse): void {
    const { pathname } = new URL(req.url ?? "/", "http://localhost");
    switch (pathname) {
      case "/api/v1/user/me":
      case "/api/v1/huge": {
        res.writeHead(200, { "content-type": "application/json" });
        res.write("[");
        poured.set(pathname, pour(res, Buffer.from(`"${"x".repeat(64 * 1024 - 4)}",`)));
        return;
      }
      case "/api/v1/endless-error": {
        res.writeHead(500, { "content-type": "text/plain" });
        poured.set(pathname, pour(res, Buffer.alloc(64 * 1024, "e")));
        return;
      }
      case "/api/v1/trickle": {
        res.writeHead(200, { "content-type": "application/json" });
        void trickle(res, Buffer.from(`{"padding": "${" ".repeat(200)}"}`));
        return;
      }
      case "/api/v1/never":
      case "/bundle/never":
        return;
      case "/api/v1/upload": {
        // Reads nothing for a while, so the upload stalls on the socket, then takes it all.
        req.pause();
        setTimeout(() => {
          let received = 0;
          req.on("data", (chunk: Buffer) => {
            received += chunk.length;
          });
          req.on("end", () => {
            res.writeHead(201, { "content-type": "application/json" });
            res.end(JSON.stringify({ received }));
          });
          req.resume();
        }, UPLOAD_PAUSE_MS);
        return;
      }
      case "/api/v1/upload-never-read":
        req.pause();
        return;
      case "/bundle/trickle": {
        res.writeHead(200, { "content-type": "application/gzip", "content-length": BUNDLE.length });
        void trickle(res, BUNDLE);
        return;
      }
      case "/bundle/stall": {
        res.writeHead(200, { "content-type": "application/gzip", "content-length": BUNDLE.length });
        res.write(BUNDLE.subarray(0, 3));
        return;
      }
      case "/bundle/truncated": {
        res.writeHead(200, { "content-type": "application/gzip", "content-length": 1000 });
        res.write(BUNDLE);
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      default:
        res.writeHead(404).end();
    }
  }

  before(async () => {
    server = createServer(route);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const client = (timeouts: { requestTimeoutMs?: number; idleTimeoutMs?: number } = {}) =>
    new ApiClient({
      baseUrl,
      token: "key",
      userAgent: "capstan-cli/test",
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      ...timeouts,
    });

  /** What the CLI's entry point would print for `error`, and the exit code. */
  function reported(error: unknown): { code: number; stderr: string } {
    const fake = fakeIo();
    const code = reportFailure(fake.io, error);
    return { code, stderr: fake.stderr() };
  }

  async function failure(promise: Promise<unknown>): Promise<unknown> {
    return promise.then(
      () => assert.fail("expected a failure"),
      (error: unknown) => error,
    );
  }

  function assertReadableNetworkError(error: unknown, message: RegExp): void {
    assert.ok(error instanceof NetworkError, `not a NetworkError: ${String(error)}`);
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, /secret/, "the query string is a credential");
    const { code, stderr } = reported(error);
    assert.equal(code, 1);
    assert.equal(stderr, `capstan: ${error.message}\n`);
  }

  test("an endless JSON body fails as an invalid response once past the limit", async () => {
    const error = await failure(client().get("/huge"));
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.type, "invalid_response");
    assert.match(error.detail, new RegExp(`/api/v1/huge is larger than ${MAX_JSON_BODY_BYTES} bytes`));
    const written = await poured.get("/api/v1/huge");
    assert.ok(written !== undefined && written < MAX_JSON_BODY_BYTES + IN_FLIGHT_ALLOWANCE, `${written}`);
  });

  test("the CLI reports an endless JSON body with exit code 1 and no stack trace", async () => {
    const run = await runCli(["whoami"], {
      env: {
        CAPSTAN_URL: baseUrl,
        CAPSTAN_TOKEN: "key",
        CAPSTAN_CONFIG: path.join(tmpdir(), "capstan-limits-none.json"),
      },
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^invalid_response: the answer from .*\/api\/v1\/user\/me is larger than/);
    assert.doesNotMatch(run.stderr, /unexpected failure|\n\s+at /);
    const written = await poured.get("/api/v1/user/me");
    assert.ok(written !== undefined && written < MAX_JSON_BODY_BYTES + IN_FLIGHT_ALLOWANCE, `${written}`);
  });

  test("an endless error body is read only up to its limit, and the status is reported", async () => {
    const error = await failure(client().get("/endless-error"));
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 500);
    assert.equal(error.type, "http_500");
    assert.match(error.detail, /^e{200}…$/);
    const written = await poured.get("/api/v1/endless-error");
    assert.ok(written !== undefined && written < MAX_ERROR_BODY_BYTES + IN_FLIGHT_ALLOWANCE, `${written}`);
  });

  test("an answer trickling a byte at a time fails at the request's deadline", async () => {
    const error = await failure(client().get("/trickle", { query: { token: "secret" } }));
    assertReadableNetworkError(
      error,
      new RegExp(`^no complete answer from ${baseUrl}/api/v1/trickle within 0.3 s$`),
    );
  });

  test("a server that never answers fails at the request's deadline", async () => {
    const error = await failure(client().post("/never", { json: {}, query: { token: "secret" } }));
    assertReadableNetworkError(error, new RegExp(`^no complete answer from ${baseUrl}/api/v1/never within`));
  });

  test("the caller's own abort passes through as an abort, not a network error", async () => {
    const api = new ApiClient({ baseUrl, token: null, userAgent: "capstan-cli/test" });
    const error = await failure(api.get("/never", { signal: AbortSignal.timeout(50) }));
    assert.ok(!(error instanceof NetworkError));
    assert.equal((error as Error).name, "TimeoutError");
  });

  test("an upload that progresses slowly is not cut by the request's deadline", async () => {
    // Far more than the socket buffers hold: the upload waits for the server to read.
    const data = Buffer.alloc(64 * 1024 * 1024);
    const response = await client({ idleTimeoutMs: 4 * UPLOAD_PAUSE_MS }).post<{ received: number }>(
      "/upload",
      {
        raw: { data, contentType: "application/gzip" },
      },
    );
    assert.equal(response.status, 201);
    assert.equal(response.body.received, data.length);
  });

  test("an upload the server stops taking fails after the idle timeout", async () => {
    const data = Buffer.alloc(64 * 1024 * 1024);
    const error = await failure(
      client().post("/upload-never-read", { raw: { data, contentType: "application/gzip" } }),
    );
    assertReadableNetworkError(
      error,
      new RegExp(`^nothing could be sent to ${baseUrl}/api/v1/upload-never-read for 0.3 s$`),
    );
  });

  test("a download that keeps trickling outlasts the idle timeout and completes", async () => {
    const archive = await downloadVerified(client(), `${baseUrl}/bundle/trickle?sig=secret`, BUNDLE_DIGEST, {
      maxBytes: 1024,
    });
    assert.deepEqual(archive, BUNDLE);
  });

  test("a download that stalls fails after the idle timeout", async () => {
    const error = await failure(
      downloadVerified(client(), `${baseUrl}/bundle/stall?sig=secret`, BUNDLE_DIGEST, { maxBytes: 1024 }),
    );
    assertReadableNetworkError(
      error,
      new RegExp(`^cannot download a bundle: nothing received from ${baseUrl}/bundle/stall for 0.3 s$`),
    );
  });

  test("a download whose headers never come fails after the idle timeout", async () => {
    const error = await failure(
      downloadVerified(client(), `${baseUrl}/bundle/never?sig=secret`, BUNDLE_DIGEST, { maxBytes: 1024 }),
    );
    assertReadableNetworkError(
      error,
      new RegExp(`^cannot download a bundle: nothing received from ${baseUrl}/bundle/never for 0.3 s$`),
    );
  });

  test("a download cut short of its Content-Length is a network error", async () => {
    const error = await failure(
      downloadVerified(client(), `${baseUrl}/bundle/truncated?sig=secret`, BUNDLE_DIGEST, {
        maxBytes: 1024,
      }),
    );
    assertReadableNetworkError(
      error,
      new RegExp(`^cannot download a bundle: the connection to ${baseUrl}/bundle/truncated broke off`),
    );
  });
});
