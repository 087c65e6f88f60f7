// The fast lane (src/http/fast-lane.ts) answers the binding list and the resolved set from memory
// in front of Fastify. These tests hold it to Fastify's answers over real HTTP: every request is
// sent twice, once as is (the lane may answer) and once with a query string the routes ignore (the
// lane never answers those, so Fastify does), and both answers must be the same. A spy on the lane
// says which requests it answered, so a test also fails if the lane silently stops answering.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { seedCapability } from "../../scripts/seed.js";
import { backgroundRefreshesSettled } from "../../src/services/refresh-ahead-cache.js";
import { callApi } from "../helpers/api.js";
import {
  bind,
  bindingsUrl,
  bindingUrl,
  mintRuntimeToken,
  newRuntime,
  resolvedUrl,
} from "../helpers/bindings.js";
import { assertEnvelope } from "../helpers/envelope.js";
import { newOrg, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp, type TestAppOptions } from "../helpers/test-app.js";

/** Set by the server on every response, so never compared. */
const PER_RESPONSE = new Set(["date", "x-request-id", "ratelimit-remaining", "ratelimit-reset"]);

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Whether the fast lane answered (rather than Fastify). */
  fast: boolean;
}

interface LiveApp {
  t: TestApp;
  origin: string;
  /** GET `path` with `headers`: the lane's answer and Fastify's, after checking they are the same. */
  both(path: string, headers?: Record<string, string>): Promise<{ fast: Answer; full: Answer }>;
  get(path: string, headers?: Record<string, string>, method?: string): Promise<Answer>;
  close(): Promise<void>;
}

/** A test app listening on a real port, with a spy recording which requests the lane answered. */
async function liveApp(options: TestAppOptions = {}): Promise<LiveApp> {
  // Whether the lane answers depends on cached keys and roles that expire after 2 s: real time
  // passing between two requests on a loaded machine must not decide it.
  const t = await buildTestApp({ frozenClock: true, ...options });
  const lane = t.app.fastLane;
  const answeredByLane = new WeakSet<IncomingMessage>();
  const serve = lane.serve.bind(lane);
  lane.serve = (request: IncomingMessage, response: ServerResponse) => {
    const answered = serve(request, response);
    if (answered) answeredByLane.add(request);
    return answered;
  };
  let lastRequest: IncomingMessage | undefined;
  t.app.server.prependListener("request", (request: IncomingMessage) => {
    lastRequest = request;
  });
  const origin = await t.app.listen({ host: "127.0.0.1", port: 0 });

  const get = async (path: string, headers: Record<string, string> = {}, method = "GET") => {
    // One connection per request, so `lastRequest` is this request's.
    const res = await fetch(`${origin}${path}`, { method, headers: { connection: "close", ...headers } });
    const body = await res.text();
    const answer: Answer = {
      status: res.status,
      headers: Object.fromEntries(res.headers),
      body,
      fast: lastRequest !== undefined && answeredByLane.has(lastRequest),
    };
    return answer;
  };
  const both = async (path: string, headers: Record<string, string> = {}) => {
    const fast = await get(path, headers);
    const full = await get(`${path}?via=fastify`, headers);
    assert.equal(full.fast, false, "a request with a query string must not take the lane");
    assertSameAnswer(fast, full);
    return { fast, full };
  };
  return { t, origin, both, get, close: () => t.close() };
}

function assertSameAnswer(fast: Answer, full: Answer): void {
  assert.equal(
    fast.status,
    full.status,
    `lane ${fast.status} ${fast.body} vs Fastify ${full.status} ${full.body}`,
  );
  const comparable = (headers: Record<string, string>) =>
    Object.fromEntries(Object.entries(headers).filter(([name]) => !PER_RESPONSE.has(name)));
  assert.deepEqual(comparable(fast.headers), comparable(full.headers));
  for (const name of PER_RESPONSE) {
    assert.equal(name in fast.headers, name in full.headers, `header ${name} on one path only`);
  }
  if (fast.status >= 400) {
    // Error envelopes carry the request id: equal but for it.
    const withoutId = (body: string) => ({ ...JSON.parse(body), request_id: undefined });
    assert.deepEqual(withoutId(fast.body), withoutId(full.body));
  } else {
    assert.equal(fast.body, full.body);
  }
}

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

const responseOf = (answer: Answer) => ({
  statusCode: answer.status,
  headers: answer.headers,
  body: answer.body,
});

describe("the fast lane answers as Fastify does", () => {
  let live: LiveApp;
  let t: TestApp;
  let runtimeId: string;
  let etag: string;

  before(async () => {
    live = await liveApp();
    t = live.t;
    await seedCapability(t.deps, {
      name: "alpha",
      versions: [{ version: "1.0.0", flags: { readonly: { default: true }, verbose: {} } }, "2.0.0"],
    });
    await seedCapability(t.deps, { name: "beta", versions: ["1.0.0"] });
    runtimeId = await newRuntime(t, "lane");
    await bind(t, runtimeId, { name: "alpha", version: "1.0.0", flags: { verbose: true } });
    await bind(t, runtimeId, { name: "beta", enabled: false });
    // The first reads fill the caches (through Fastify); from then on the lane can answer.
    const first = await live.get(resolvedUrl(runtimeId), auth(t.adminKey));
    etag = first.headers.etag;
    await live.get(bindingsUrl(runtimeId), auth(t.adminKey));
  });
  after(() => live.close());

  test("the binding list, once its view is cached", async () => {
    const { fast } = await live.both(bindingsUrl(runtimeId), auth(t.adminKey));
    assert.equal(fast.status, 200);
    assert.equal(fast.fast, true);
    assert.deepEqual(
      JSON.parse(fast.body).items.map((item: { capability_name: string }) => item.capability_name),
      ["alpha", "beta"],
    );
    assert.equal(fast.headers["content-length"], String(Buffer.byteLength(fast.body)));
  });

  test("the resolved set, and its 304 for every If-None-Match form that names the digest", async () => {
    const { fast } = await live.both(resolvedUrl(runtimeId), auth(t.adminKey));
    assert.equal(fast.status, 200);
    assert.equal(fast.fast, true);
    assert.equal(fast.headers.etag, etag);
    for (const ifNoneMatch of [etag, `W/${etag}`, `"sha256:other", ${etag}`, "*"]) {
      const answers = await live.both(resolvedUrl(runtimeId), {
        ...auth(t.adminKey),
        "if-none-match": ifNoneMatch,
      });
      assert.equal(answers.fast.status, 304, ifNoneMatch);
      assert.equal(answers.fast.fast, true, ifNoneMatch);
      assert.equal(answers.fast.body, "");
    }
    const stale = await live.both(resolvedUrl(runtimeId), {
      ...auth(t.adminKey),
      "if-none-match": '"sha256:old"',
    });
    assert.equal(stale.fast.status, 200);
  });

  test("the key in X-API-Key, a runtime UUID in capitals, an incoming request id", async () => {
    const viaHeader = await live.both(bindingsUrl(runtimeId), { "x-api-key": t.adminKey });
    assert.equal(viaHeader.fast.fast, true);
    const upper = await live.both(bindingsUrl(runtimeId.toUpperCase()), auth(t.adminKey));
    assert.equal(upper.fast.status, 200);
    assert.equal(upper.fast.fast, true);
    const traced = await live.both(bindingsUrl(runtimeId), {
      ...auth(t.adminKey),
      "x-request-id": "trace-42",
    });
    assert.equal(traced.fast.headers["x-request-id"], "trace-42");
    assert.equal(traced.full.headers["x-request-id"], "trace-42");
    const malformed = await live.both(bindingsUrl(runtimeId), {
      ...auth(t.adminKey),
      "x-request-id": "bad id!",
    });
    assert.notEqual(malformed.fast.headers["x-request-id"], "bad id!");
  });

  test("a runtime token reads its own runtime in the lane, and is refused elsewhere as before", async () => {
    const token = await mintRuntimeToken(t, runtimeId);
    await live.get(bindingsUrl(runtimeId), auth(token)); // caches the token's key
    const own = await live.both(bindingsUrl(runtimeId), auth(token));
    assert.equal(own.fast.fast, true);
    const otherRuntime = await newRuntime(t, "other-lane");
    await live.get(bindingsUrl(otherRuntime), auth(t.adminKey)); // the other runtime's view is cached too
    const elsewhere = await live.both(bindingsUrl(otherRuntime), auth(token));
    assertEnvelope(responseOf(elsewhere.fast), 403, "forbidden_error");
    assert.equal(elsewhere.fast.fast, false);
  });

  test("another org's or workspace's path to a cached runtime is 404 on both paths", async () => {
    await newOrg(t, "lane-elsewhere");
    await newWorkspace(t, "default", "lane-ws");
    for (const path of [
      bindingsUrl(runtimeId, "lane-elsewhere"),
      bindingsUrl(runtimeId, "default", "lane-ws"),
      bindingsUrl(runtimeId, "no-such-org"),
      `${bindingsUrl(runtimeId, "lane-elsewhere")}/resolved`,
    ]) {
      await live.get(path, auth(t.adminKey)); // the caller's role there is cached from now on
      const { fast } = await live.both(path, auth(t.adminKey));
      assertEnvelope(responseOf(fast), 404, "not_found_error");
      assert.equal(fast.fast, false, path);
    }
  });

  test("requests the lane leaves to Fastify: no key, a bad key, HEAD, a trailing slash", async () => {
    for (const headers of [{}, auth("not-a-key"), { authorization: `Basic ${t.adminKey}` }]) {
      const { fast } = await live.both(bindingsUrl(runtimeId), headers);
      assert.equal(fast.status === 401 || fast.status === 400, true, `${fast.status} ${fast.body}`);
      assert.equal(fast.fast, false);
    }
    const head = await live.get(bindingsUrl(runtimeId), auth(t.adminKey), "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.fast, false);
    const slash = await live.get(`${bindingsUrl(runtimeId)}/`, auth(t.adminKey));
    assert.equal(slash.status, 200);
    assert.equal(slash.fast, false);
  });

  test("a change is seen by the very next read in the lane", async () => {
    const before = JSON.parse((await live.both(bindingsUrl(runtimeId), auth(t.adminKey))).fast.body);
    const beta = before.items.find((item: { capability_name: string }) => item.capability_name === "beta");
    const patched = await callApi(t, "PATCH", bindingUrl(runtimeId, beta.id), t.adminKey, { enabled: true });
    assert.equal(patched.statusCode, 200, patched.body);
    // The PATCH dropped the views: this read refills them through Fastify …
    const refill = await live.get(resolvedUrl(runtimeId), auth(t.adminKey));
    assert.notEqual(refill.headers.etag, etag, "beta enabled: the resolved content changed");
    assert.equal(refill.fast, false);
    // … and the lane answers the new state from then on.
    const after = await live.both(resolvedUrl(runtimeId), { ...auth(t.adminKey), "if-none-match": etag });
    assert.equal(after.fast.status, 200);
    assert.equal(after.fast.fast, true);
    assert.deepEqual(
      JSON.parse(after.fast.body).capabilities.map((entry: { name: string }) => entry.name),
      ["alpha", "beta"],
    );
    etag = after.fast.headers.etag;
  });

  test("a revoked key is refused on the next request, not served from the lane", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    await live.get(bindingsUrl(runtimeId), auth(reader.key)); // caches the key and the role
    const served = await live.both(bindingsUrl(runtimeId), auth(reader.key));
    assert.equal(served.fast.status, 200);
    assert.equal(served.fast.fast, true);
    const keys = await callApi(t, "GET", "/api/v1/user/api-keys", reader.key);
    const keyId = keys.json()[0].id;
    const revoked = await callApi(t, "DELETE", `/api/v1/user/api-keys/${keyId}`, reader.key);
    assert.equal(revoked.statusCode, 204, revoked.body);
    const { fast } = await live.both(bindingsUrl(runtimeId), auth(reader.key));
    assertEnvelope(responseOf(fast), 401, "authentication_error");
    assert.equal(fast.fast, false);
  });

  test("a member who is removed loses the lane at once", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    await live.get(bindingsUrl(runtimeId), auth(reader.key));
    assert.equal((await live.both(bindingsUrl(runtimeId), auth(reader.key))).fast.fast, true);
    const removed = await callApi(t, "DELETE", `/api/v1/org/default/members/${reader.userId}`, t.adminKey);
    assert.equal(removed.statusCode, 204, removed.body);
    const { fast } = await live.both(bindingsUrl(runtimeId), auth(reader.key));
    assertEnvelope(responseOf(fast), 404, "not_found_error");
    assert.equal(fast.fast, false);
  });

  test("a key limited to another org is refused, not served from its user's cached role", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    await live.get(bindingsUrl(runtimeId), auth(reader.key)); // caches the user's role in `default`
    assert.equal((await live.both(bindingsUrl(runtimeId), auth(reader.key))).fast.fast, true);
    await newOrg(t, `elsewhere-${runtimeId.slice(-6)}`);
    const elsewhere = `elsewhere-${runtimeId.slice(-6)}`;
    const added = await callApi(t, "POST", `/api/v1/org/${elsewhere}/members`, t.adminKey, {
      email: reader.email,
      role: "reader",
    });
    assert.equal(added.statusCode, 201, added.body);
    const minted = await callApi(t, "POST", "/api/v1/user/api-keys", reader.key, {
      name: "x",
      org: elsewhere,
    });
    assert.equal(minted.statusCode, 201, minted.body);
    const limited = minted.json().key;
    await live.get(bindingsUrl(runtimeId), auth(limited)); // caches the limited key
    const { fast } = await live.both(bindingsUrl(runtimeId), auth(limited));
    assertEnvelope(responseOf(fast), 404, "not_found_error");
    assert.equal(fast.fast, false);
  });

  test("a runtime token whose creator is removed loses the lane at once", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    const minted = await callApi(
      t,
      "POST",
      `${bindingsUrl(runtimeId).replace(/\/capabilities$/, "")}/tokens`,
      contributor.key,
    );
    assert.equal(minted.statusCode, 201, minted.body);
    const token = minted.json().token;
    await live.get(resolvedUrl(runtimeId), auth(token));
    assert.equal((await live.both(resolvedUrl(runtimeId), auth(token))).fast.fast, true);
    const removed = await callApi(
      t,
      "DELETE",
      `/api/v1/org/default/members/${contributor.userId}`,
      t.adminKey,
    );
    assert.equal(removed.statusCode, 204, removed.body);
    for (const url of [bindingsUrl(runtimeId), resolvedUrl(runtimeId)]) {
      const { fast } = await live.both(url, auth(token));
      assertEnvelope(responseOf(fast), 404, "not_found_error");
      assert.equal(fast.fast, false);
    }
  });

  test("an expired key, and a resolved set whose signed URLs are due, go to Fastify", async () => {
    const expiring = await newUserKey(t, { role: "reader", expiresInDays: 1 });
    await live.get(bindingsUrl(runtimeId), auth(expiring.key));
    assert.equal((await live.both(bindingsUrl(runtimeId), auth(expiring.key))).fast.fast, true);
    const before = JSON.parse((await live.both(resolvedUrl(runtimeId), auth(t.adminKey))).fast.body);
    t.advanceClock(2 * 24 * 3600_000);
    const expired = await live.both(bindingsUrl(runtimeId), auth(expiring.key));
    assertEnvelope(responseOf(expired.fast), 401, "expired_token_error");
    assert.equal(expired.fast.fast, false);
    // Two days on, every URL of the cached body has expired: the set is signed again, not served stale.
    const resigned = await live.get(resolvedUrl(runtimeId), auth(t.adminKey));
    assert.equal(resigned.fast, false);
    const after = JSON.parse(resigned.body);
    assert.equal(after.runtime_digest, before.runtime_digest);
    assert.notEqual(after.capabilities[0].download_url, before.capabilities[0].download_url);
    assert.equal((await live.both(resolvedUrl(runtimeId), auth(t.adminKey))).fast.fast, true);
  });

  test("a key and a role in steady use are refreshed behind the lane, never waited for", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    await live.get(bindingsUrl(runtimeId), auth(reader.key)); // key and role read from the database
    // 1.5 s on (past the refresh point, before the 2 s TTL): answered from memory, refreshed behind.
    t.advanceClock(1_500);
    assert.equal((await live.get(bindingsUrl(runtimeId), auth(reader.key))).fast, true);
    await backgroundRefreshesSettled();
    // 2.5 s after the first read, 1 s after the refresh: still from memory, no request waited.
    t.advanceClock(1_000);
    assert.equal((await live.get(bindingsUrl(runtimeId), auth(reader.key))).fast, true);
    // Left alone past the TTL, they are read again, by Fastify, on the next request.
    t.advanceClock(2_500);
    const idle = await live.get(bindingsUrl(runtimeId), auth(reader.key));
    assert.equal(idle.status, 200);
    assert.equal(idle.fast, false);
  });

  test("lane requests are counted in /metrics under their route, as Fastify counts them", async () => {
    const count = async () => {
      const text = (await live.get("/metrics")).body;
      const line = text
        .split("\n")
        .find(
          (l) =>
            l.startsWith("capstan_http_requests_total{") &&
            l.includes('route="/api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/capabilities"') &&
            l.includes('status="200"'),
        );
      return Number(line?.split(" ").at(-1) ?? 0);
    };
    await live.get(bindingsUrl(runtimeId), auth(t.adminKey)); // whatever the clock did before
    const before = await count();
    const { fast } = await live.both(bindingsUrl(runtimeId), auth(t.adminKey));
    assert.equal(fast.fast, true);
    assert.equal(await count(), before + 2);
  });

  test("once the server starts closing, Fastify answers (the last test of this app)", async () => {
    await live.get(bindingsUrl(runtimeId), auth(t.adminKey));
    assert.equal((await live.get(bindingsUrl(runtimeId), auth(t.adminKey))).fast, true);
    // What the app's preClose hook does; closing the app itself would end this suite's server.
    t.app.fastLane.close();
    const closing = await live.get(bindingsUrl(runtimeId), auth(t.adminKey));
    assert.equal(closing.status, 200);
    assert.equal(closing.fast, false);
  });
});

describe("the fast lane keeps the guards' other duties", () => {
  test("rate limits: one budget for both paths, and the 429 comes from Fastify", async () => {
    // A token comes back every 10 s of the app's clock, which only the test moves.
    const live = await liveApp({ env: { CAPSTAN_RATE_LIMIT_RPM: "6" } });
    try {
      const { t } = live;
      const runtimeId = await newRuntime(t, "limited");
      await live.get(bindingsUrl(runtimeId), auth(t.adminKey)); // fills the view: 2 of 6 used
      const { fast, full } = await live.both(bindingsUrl(runtimeId), auth(t.adminKey)); // 4 of 6
      assert.equal(fast.fast, true);
      assert.equal(fast.headers["ratelimit-limit"], "6");
      assert.equal(
        Number(fast.headers["ratelimit-remaining"]),
        Number(full.headers["ratelimit-remaining"]) + 1,
      );
      await live.get(bindingsUrl(runtimeId), auth(t.adminKey)); // 5
      await live.get(bindingsUrl(runtimeId), auth(t.adminKey)); // 6
      const limited = await live.get(bindingsUrl(runtimeId), auth(t.adminKey));
      assertEnvelope(responseOf(limited), 429, "usage_limit_exceeded_error");
      assert.equal(limited.fast, false);
      assert.ok(Number(limited.headers["retry-after"]) >= 1);
    } finally {
      await live.close();
    }
  });

  test("an outdated CLI gets its 426 from Fastify, a current one is served in the lane", async () => {
    const live = await liveApp({ env: { CAPSTAN_MIN_CLIENT_VERSION: "2.0.0" } });
    try {
      const { t } = live;
      const runtimeId = await newRuntime(t, "versions");
      await live.get(bindingsUrl(runtimeId), auth(t.adminKey));
      const old = await live.both(bindingsUrl(runtimeId), {
        ...auth(t.adminKey),
        "user-agent": "capstan-cli/1.9.0",
      });
      assertEnvelope(responseOf(old.fast), 426, "upgrade_required_error");
      assert.equal(old.fast.fast, false);
      const current = await live.both(bindingsUrl(runtimeId), {
        ...auth(t.adminKey),
        "user-agent": "capstan-cli/2.1.0",
      });
      assert.equal(current.fast.status, 200);
      assert.equal(current.fast.fast, true);
    } finally {
      await live.close();
    }
  });

  /**
   * The lines each path logs for one list request with `headers` (after a first read that fills the
   * caches), checked to be the same on both paths; returns the "incoming request" lines.
   */
  const logLinesOfBothPaths = async (options: TestAppOptions, headers: Record<string, string>) => {
    let text = "";
    const logStream = new Writable({
      write(chunk, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    const live = await liveApp({ ...options, logStream });
    try {
      const { t } = live;
      const runtimeId = await newRuntime(t, "logged");
      await live.get(bindingsUrl(runtimeId), auth(t.adminKey));
      text = "";
      // One request id for both, or the lines could not be the same.
      const { fast, full } = await live.both(bindingsUrl(runtimeId), {
        ...auth(t.adminKey),
        "x-request-id": "log-check",
        ...headers,
      });
      assert.equal(fast.fast, true);
      assert.equal(full.fast, false);
      assert.ok(!text.includes(t.adminKey), "keys never reach the logs");
      const lines = text
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      assert.equal(lines.length, 4, text);
      const shape = (line: Record<string, unknown>) => ({
        ...line,
        time: undefined,
        responseTime: typeof line.responseTime,
        req: line.req && { ...(line.req as object), url: undefined, remotePort: undefined },
      });
      const [incomingFast, completedFast, incomingFull, completedFull] = lines;
      assert.equal(incomingFast.msg, "incoming request");
      assert.equal(completedFast.msg, "request completed");
      assert.deepEqual(shape(incomingFast), shape(incomingFull));
      assert.deepEqual(shape(completedFast), shape(completedFull));
      return { incomingFast, incomingFull };
    } finally {
      await live.close();
    }
  };

  test("request logs: the same two lines, with the same fields, on both paths", async () => {
    const { incomingFast } = await logLinesOfBothPaths({}, {});
    assert.equal(incomingFast.reqId, "log-check");
  });

  test("request logs behind a trusted proxy: both paths log the forwarded client and host", async () => {
    const { incomingFast, incomingFull } = await logLinesOfBothPaths(
      { env: { CAPSTAN_TRUST_PROXY: "loopback" } },
      { "x-forwarded-for": "203.0.113.7", "x-forwarded-host": "capstan.example.com" },
    );
    for (const line of [incomingFast, incomingFull]) {
      assert.equal(line.req.remoteAddress, "203.0.113.7");
      assert.equal(line.req.host, "capstan.example.com");
    }
  });
});
