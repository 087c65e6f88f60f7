// Slow bodies and connection hoarding (issue #12): connections trickling a declared 1 MB body were
// held open indefinitely (only headers timed out). Over real sockets, with deadlines made tiny through
// configuration: a trickler is cut while other clients are served, an honest upload slower than the
// grace period still completes, and one address cannot hold more than its share of connections.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { capabilityBundle } from "../helpers/capability-bundles.js";
import { assertEnvelope } from "../helpers/envelope.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

/** Far longer than any deadline configured here: only a server that never closes runs into it. */
const NEVER_MS = 20_000;

interface Conversation {
  socket: Socket;
  /** Everything the server sent, once it closed the connection. */
  closed: Promise<string>;
}

/** A raw connection from `localAddress` (any 127.x.y.z is this host on Linux: another "client"). */
function open(port: number, localAddress = "127.0.0.1"): Promise<Conversation> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress });
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk;
    });
    socket.on("error", () => {});
    const closed = new Promise<string>((done) => socket.on("close", () => done(received)));
    socket.once("connect", () => resolve({ socket, closed }));
    socket.once("error", reject);
  });
}

/** Resolves with what `promise` gives, or fails the test once NEVER_MS have passed. */
async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${NEVER_MS} ms`)), NEVER_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Status, headers and body of one HTTP/1.1 answer in `raw`. */
function parseAnswer(raw: string) {
  const [head, ...rest] = raw.split("\r\n\r\n");
  const lines = head.split("\r\n");
  const headers = Object.fromEntries(
    lines
      .slice(1)
      .map((line) => [
        line.slice(0, line.indexOf(":")).toLowerCase(),
        line.slice(line.indexOf(":") + 1).trim(),
      ]),
  );
  const statusCode = Number(lines[0].split(" ")[1]);
  return { statusCode, headers, body: rest.join("\r\n\r\n") };
}

describe("slow request bodies", () => {
  let t: TestApp;
  let port: number;
  before(async () => {
    t = await buildTestApp({
      env: { CAPSTAN_BODY_TIMEOUT_MS: "200", CAPSTAN_BODY_MIN_BYTES_PER_SECOND: "1000" },
    });
    port = Number(new URL(await t.app.listen({ host: "127.0.0.1", port: 0 })).port);
  });
  after(() => t.close());

  test("tricklers of a declared 1 MB body are closed while other clients are served", async () => {
    // Unauthenticated ones are refused at once (401) and Node then drains their body; authenticated
    // ones are waited for by the body parser. Either way the connection used to stay open.
    const credentials = [
      "",
      "",
      "",
      `Authorization: Bearer ${t.adminKey}\r\n`,
      `X-API-Key: ${t.adminKey}\r\n`,
    ];
    const tricklers = await Promise.all(credentials.map(() => open(port)));
    const timers: NodeJS.Timeout[] = [];
    tricklers.forEach(({ socket }, i) => {
      socket.write(
        `POST /api/v1/orgs HTTP/1.1\r\nHost: x\r\n${credentials[i]}` +
          "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{",
      );
      // 50 bytes a second, against a minimum of 1,000 once the 200 ms grace period is over.
      timers.push(setInterval(() => socket.writable && socket.write(" "), 20));
    });
    try {
      const served = await fetch(`http://127.0.0.1:${port}/api/v1/orgs`, {
        method: "POST",
        headers: { ...bearer(t.adminKey), "content-type": "application/json" },
        body: JSON.stringify({ key: "served", name: "Served meanwhile" }),
      });
      assert.equal(served.status, 201, await served.text());
      for (const [i, trickler] of tricklers.entries()) {
        const answer = parseAnswer(await within("closing a trickler", trickler.closed));
        if (credentials[i] === "") {
          assertEnvelope(answer, 401, "authentication_error");
        } else {
          const body = assertEnvelope(answer, 400, "invalid_error");
          assert.match(body.detail, /not received in time/);
          assert.equal(answer.headers.connection, "close");
        }
      }
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
  });

  test("an honest upload that takes longer than the grace period completes", async () => {
    const bundle = capabilityBundle({ name: "slowly", files: { "data.bin": randomBytes(40_000) } });
    const { socket, closed } = await open(port);
    socket.write(
      "POST /api/v1/org/default/capabilities HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
        `Authorization: Bearer ${t.adminKey}\r\nContent-Type: application/gzip\r\n` +
        `Content-Length: ${bundle.length}\r\n\r\n`,
    );
    // 2 KB every 30 ms: ~600 ms in all, three times the grace period, at 60 times the minimum rate.
    // (This process sends and serves: when it stalls, the server does not count that against the
    // client, which is what lets a stalled sender here keep within its grace period.)
    for (let offset = 0; offset < bundle.length; offset += 2048) {
      socket.write(bundle.subarray(offset, offset + 2048));
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    const answer = parseAnswer(await within("the upload's answer", closed));
    assert.equal(answer.statusCode, 201, answer.body);
  });
});

describe("connections per client address", () => {
  let t: TestApp;
  let port: number;
  before(async () => {
    t = await buildTestApp({
      env: { CAPSTAN_MAX_CONNECTIONS_PER_CLIENT: "3", CAPSTAN_TRUST_PROXY: "127.0.0.4" },
    });
    port = Number(new URL(await t.app.listen({ host: "127.0.0.1", port: 0 })).port);
  });
  after(() => t.close());

  const healthzFrom = async (localAddress: string) => {
    const { socket, closed } = await open(port, localAddress);
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return parseAnswer(await within("an answer", closed));
  };

  test("one more than the limit is answered 429 and closed; other addresses are served", async () => {
    const held = await Promise.all([1, 2, 3].map(() => open(port, "127.0.0.2")));
    const extra = await open(port, "127.0.0.2");
    const refused = parseAnswer(await within("closing the extra connection", extra.closed));
    const body = assertEnvelope(refused, 429, "usage_limit_exceeded_error");
    assert.match(body.detail, /at most 3/);
    assert.equal(refused.headers["retry-after"], "1");

    assert.equal((await healthzFrom("127.0.0.3")).statusCode, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);

    // Once one of the three is closed, the address may open another.
    held[0].socket.destroy();
    await held[0].closed;
    let answer = await healthzFrom("127.0.0.2");
    // The server may not have seen that close yet when the next connection arrives.
    for (let attempt = 0; answer.statusCode === 429 && attempt < 100; attempt++) {
      answer = await healthzFrom("127.0.0.2");
    }
    assert.equal(answer.statusCode, 200);
    for (const { socket } of held) socket.destroy();
  });

  test("a trusted proxy is not limited: it carries many clients", async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => open(port, "127.0.0.4")));
    assert.equal((await healthzFrom("127.0.0.4")).statusCode, 200);
    for (const { socket } of held) socket.destroy();
  });
});
