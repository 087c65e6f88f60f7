// The CLI's HTTP client against a local server that misbehaves on purpose: bodies that never end,
// answers that trickle or never come, downloads cut short. The limits on body sizes are the real ones.
// No outcome here may depend on the machine's speed (a loaded CI once let a 0.3 s deadline beat the
// size limit): a test of a timeout shortens only that timeout, against a server that never does what
// would beat it; every other timeout is out of reach; and where a timeout must not fire while bytes
// keep moving, the client runs on a clock the test moves by hand.
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
  type SetTimer,
} from "../../src/cli/api-client.js";
import { downloadVerified } from "../../src/cli/bundle-download.js";
import { reportFailure } from "../../src/cli/output.js";
import { fakeIo, runCli } from "./helpers/cli-harness.js";

/** What the kernel and the streams on both sides may hold beyond what the client read. */
const IN_FLIGHT_ALLOWANCE = 16 * 1024 * 1024;
/** Where a pouring server gives up if the client never stops reading. */
const POUR_LIMIT = 512 * 1024 * 1024;

/** The timeout a test is about; the server never does what could beat it. */
const SHORT_TIMEOUT_MS = 300;
/** A timeout the test is not about: the test runner's own timeout comes first. */
const OUT_OF_REACH_MS = 10 * 60_000;
const TRICKLE_INTERVAL_MS = 50;
/** The upload test's server reads nothing for this long: past the request's deadline, had it been armed. */
const UPLOAD_PAUSE_MS = 2 * SHORT_TIMEOUT_MS;

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

/** Sends `prefix`, then a space every TRICKLE_INTERVAL_MS, one byte at a time, until the client leaves. */
async function trickleForever(res: ServerResponse, prefix: string): Promise<void> {
  res.flushHeaders();
  for (const byte of Buffer.from(prefix)) {
    await sleep(TRICKLE_INTERVAL_MS);
    if (res.destroyed) return;
    res.write(Buffer.from([byte]));
  }
  while (!res.destroyed) {
    await sleep(TRICKLE_INTERVAL_MS);
    if (!res.destroyed) res.write(" ");
  }
}

/** Timers that fire only when the test moves the clock; `armed` counts every timer set. */
class ManualTimers {
  armed = 0;
  private now = 0;
  private readonly pending = new Set<{ due: number; callback: () => void }>();
  private onArm: (() => void) | null = null;

  readonly setTimer: SetTimer = (callback, ms) => {
    const entry = { due: this.now + ms, callback };
    this.pending.add(entry);
    this.armed++;
    this.onArm?.();
    return () => {
      this.pending.delete(entry);
    };
  };

  advance(ms: number): void {
    this.now += ms;
    for (const entry of [...this.pending]) {
      if (entry.due > this.now) continue;
      this.pending.delete(entry);
      entry.callback();
    }
  }

  /** Resolves once more than `count` timers have been set in all. */
  async armedMoreThan(count: number): Promise<void> {
    while (this.armed <= count) {
      await new Promise<void>((resolve) => {
        this.onArm = resolve;
      });
    }
  }
}

describe("the CLI's HTTP client against a misbehaving server", () => {
  let server: Server;
  let baseUrl: string;
  /** The bytes each pouring route managed to write before its client stopped reading. */
  const poured = new Map<string, Promise<number>>();
  /** The answer of /bundle/on-demand, once its headers are sent: the test writes its body. */
  let onDemand: (res: ServerResponse) => void = () => {};

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
        void trickleForever(res, '{"padding": "');
        return;
      }
      case "/api/v1/never":
      case "/bundle/never":
        return;
      case "/api/v1/upload": {
        // Reads nothing for a while, so the upload stalls on the socket, then takes it all and
        // never answers.
        req.pause();
        setTimeout(() => req.resume(), UPLOAD_PAUSE_MS);
        return;
      }
      case "/api/v1/upload-never-read":
        req.pause();
        return;
      case "/bundle/on-demand": {
        res.writeHead(200, { "content-type": "application/gzip", "content-length": BUNDLE.length });
        res.flushHeaders();
        onDemand(res);
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

  const client = (
    timeouts: { requestTimeoutMs?: number; idleTimeoutMs?: number; setTimer?: SetTimer } = {},
  ) =>
    new ApiClient({
      baseUrl,
      token: "key",
      userAgent: "capstan-cli/test",
      requestTimeoutMs: OUT_OF_REACH_MS,
      idleTimeoutMs: OUT_OF_REACH_MS,
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
    const error = await failure(
      client({ requestTimeoutMs: SHORT_TIMEOUT_MS }).get("/trickle", { query: { token: "secret" } }),
    );
    assertReadableNetworkError(
      error,
      new RegExp(`^no complete answer from ${baseUrl}/api/v1/trickle within 0.3 s$`),
    );
  });

  test("a server that never answers fails at the request's deadline", async () => {
    const error = await failure(
      client({ requestTimeoutMs: SHORT_TIMEOUT_MS }).post("/never", { json: {}, query: { token: "secret" } }),
    );
    assertReadableNetworkError(error, new RegExp(`^no complete answer from ${baseUrl}/api/v1/never within`));
  });

  test("the caller's own abort passes through as an abort, not a network error", async () => {
    const api = new ApiClient({
      baseUrl,
      token: null,
      userAgent: "capstan-cli/test",
      requestTimeoutMs: OUT_OF_REACH_MS,
    });
    const error = await failure(api.get("/never", { signal: AbortSignal.timeout(50) }));
    assert.ok(!(error instanceof NetworkError));
    assert.equal((error as Error).name, "TimeoutError");
  });

  test("an upload that outlasts the request's deadline is not cut by it: the deadline starts after", async () => {
    // Far more than the socket buffers hold: the upload waits for the server to read. Had the
    // deadline been armed while it went, it would have fired (in this same process) before the
    // server's longer pause ended, with most of the data still unsent.
    const data = Buffer.alloc(64 * 1024 * 1024);
    let sent = 0;
    const error = await failure(
      client({ requestTimeoutMs: SHORT_TIMEOUT_MS }).post("/upload", {
        raw: {
          data,
          contentType: "application/gzip",
          onProgress: (bytes) => {
            sent = bytes;
          },
        },
      }),
    );
    assert.equal(sent, data.length);
    assertReadableNetworkError(
      error,
      new RegExp(`^no complete answer from ${baseUrl}/api/v1/upload within 0.3 s$`),
    );
  });

  test("an upload the server stops taking fails after the idle timeout", async () => {
    const data = Buffer.alloc(64 * 1024 * 1024);
    const error = await failure(
      client({ idleTimeoutMs: SHORT_TIMEOUT_MS }).post("/upload-never-read", {
        raw: { data, contentType: "application/gzip" },
      }),
    );
    assertReadableNetworkError(
      error,
      new RegExp(`^nothing could be sent to ${baseUrl}/api/v1/upload-never-read for 0.3 s$`),
    );
  });

  test("a download that keeps trickling outlasts the idle timeout and completes", async () => {
    const timers = new ManualTimers();
    const held = new Promise<ServerResponse>((resolve) => {
      onDemand = resolve;
    });
    let received = 0;
    let onReceived = () => {};
    const download = downloadVerified(
      client({ idleTimeoutMs: SHORT_TIMEOUT_MS, setTimer: timers.setTimer }),
      `${baseUrl}/bundle/on-demand?sig=secret`,
      BUNDLE_DIGEST,
      {
        maxBytes: 1024,
        onProgress: (bytes) => {
          received = bytes;
          onReceived();
        },
      },
    );
    const res = await held;
    for (const [index, byte] of BUNDLE.entries()) {
      // All but the last millisecond of the idle timeout passes before each byte: ten times
      // the timeout in all. A timer that the bytes did not restart fires here and fails the download.
      timers.advance(SHORT_TIMEOUT_MS - 1);
      const armed = timers.armed;
      const arrived = new Promise<void>((resolve) => {
        onReceived = () => received > index && resolve();
      });
      res.write(Buffer.from([byte]));
      await Promise.race([arrived, download]);
      // The client asks for the next chunk without waiting on anything but promises.
      for (let turn = 0; turn < 100 && timers.armed === armed; turn++) await new Promise(setImmediate);
      assert.ok(timers.armed > armed, `byte ${index + 1} did not restart the idle timeout`);
    }
    res.end();
    assert.deepEqual(await download, BUNDLE);
  });

  test("a download that stalls fails after the idle timeout", async () => {
    const error = await failure(
      downloadVerified(
        client({ idleTimeoutMs: SHORT_TIMEOUT_MS }),
        `${baseUrl}/bundle/stall?sig=secret`,
        BUNDLE_DIGEST,
        { maxBytes: 1024 },
      ),
    );
    assertReadableNetworkError(
      error,
      new RegExp(`^cannot download a bundle: nothing received from ${baseUrl}/bundle/stall for 0.3 s$`),
    );
  });

  test("a download whose headers never come fails after the idle timeout", async () => {
    const error = await failure(
      downloadVerified(
        client({ idleTimeoutMs: SHORT_TIMEOUT_MS }),
        `${baseUrl}/bundle/never?sig=secret`,
        BUNDLE_DIGEST,
        { maxBytes: 1024 },
      ),
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
