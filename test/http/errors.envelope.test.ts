import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import SqliteDatabase from "better-sqlite3";
import type { InjectOptions } from "fastify";
import pg from "pg";
import { assertEnvelope, type EnvelopeType } from "../helpers/envelope.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const API_KEYS = "/api/v1/user/api-keys";
const RUNTIMES = "/api/v1/org/default/ws/main/runtimes";
/** The spec's reference example of an upper-case UUID (SPEC §2.1). */
const UPPERCASE_UUID = "2489E9AD-2EE2-8E00-8EC9-32D5F69181C0";

interface Case {
  name: string;
  request: (t: TestApp) => InjectOptions;
  status: number;
  type: EnvelopeType;
  loc?: (string | number)[];
}

const json = (t: TestApp) => ({ ...bearer(t.adminKey), "content-type": "application/json" });

const cases: Case[] = [
  {
    name: "malformed JSON is 400 invalid_error",
    request: (t) => ({ method: "POST", url: API_KEYS, headers: json(t), payload: '{"name": ' }),
    status: 400,
    type: "invalid_error",
  },
  {
    name: "a text/plain body on a JSON route is 400 invalid_error",
    request: (t) => ({
      method: "POST",
      url: API_KEYS,
      headers: { ...bearer(t.adminKey), "content-type": "text/plain" },
      payload: "name=ci",
    }),
    status: 400,
    type: "invalid_error",
  },
  {
    name: "an empty JSON body is 400 invalid_error",
    request: (t) => ({ method: "POST", url: API_KEYS, headers: json(t), payload: "" }),
    status: 400,
    type: "invalid_error",
  },
  {
    name: "a body over 1 MiB is 400 invalid_error",
    request: (t) => ({
      method: "POST",
      url: API_KEYS,
      headers: json(t),
      payload: JSON.stringify({ name: "x".repeat(1024 * 1024) }),
    }),
    status: 400,
    type: "invalid_error",
  },
  {
    name: "a __proto__ key in the body is 400 invalid_error",
    request: (t) => ({
      method: "POST",
      url: API_KEYS,
      headers: json(t),
      payload: '{"name":"ci","__proto__":{"x":1}}',
    }),
    status: 400,
    type: "invalid_error",
  },
  {
    name: "a constructor.prototype key in the body is 400 invalid_error",
    request: (t) => ({
      method: "POST",
      url: API_KEYS,
      headers: json(t),
      payload: '{"name":"ci","constructor":{"prototype":{"x":1}}}',
    }),
    status: 400,
    type: "invalid_error",
  },
  {
    name: "an undecodable URL is 400 invalid_error",
    request: (t) => ({ method: "GET", url: `${RUNTIMES}/%E0%A4%A`, headers: bearer(t.adminKey) }),
    status: 400,
    type: "invalid_error",
  },
  {
    name: "an unknown body field is 422 with its loc",
    request: (t) => ({
      method: "POST",
      url: API_KEYS,
      headers: json(t),
      payload: { name: "ci", read_onyl: true },
    }),
    status: 422,
    type: "validation_error",
    loc: ["body", "read_onyl"],
  },
  {
    name: "a field of the wrong type is 422 with its loc",
    request: (t) => ({
      method: "POST",
      url: API_KEYS,
      headers: json(t),
      payload: { name: "ci", read_only: "yes" },
    }),
    status: 422,
    type: "validation_error",
    loc: ["body", "read_only"],
  },
  {
    name: "a NUL character (\\u0000) in a JSON string is 400 invalid_error, on either database",
    request: (t) => ({
      method: "POST",
      url: API_KEYS,
      headers: json(t),
      payload: String.raw`{"name":"ci\u0000"}`,
    }),
    status: 400,
    type: "invalid_error",
  },
  {
    name: "a NUL character in catalog search text is 422 at its place",
    request: (t) => ({
      method: "GET",
      url: "/api/v1/org/default/capabilities?search=%00&keywords=a%00",
      headers: bearer(t.adminKey),
    }),
    status: 422,
    type: "validation_error",
    loc: ["query", "search"],
  },
  {
    name: "a PostgreSQL refusal of text it cannot store is 400 invalid_error",
    request: () => ({ method: "GET", url: "/test/pg-nul" }),
    status: 400,
    type: "invalid_error",
  },
  {
    name: "a missing required field is 422 with its loc",
    request: (t) => ({ method: "POST", url: API_KEYS, headers: json(t), payload: {} }),
    status: 422,
    type: "validation_error",
    loc: ["body", "name"],
  },
  {
    name: "a runtime id that is not a UUID is 422 at path.runtime_id",
    request: (t) => ({ method: "GET", url: `${RUNTIMES}/not-a-uuid`, headers: bearer(t.adminKey) }),
    status: 422,
    type: "validation_error",
    loc: ["path", "runtime_id"],
  },
  {
    name: "an upper-case UUID is accepted as a UUID (404, not 422)",
    request: (t) => ({ method: "GET", url: `${RUNTIMES}/${UPPERCASE_UUID}`, headers: bearer(t.adminKey) }),
    status: 404,
    type: "not_found_error",
  },
  {
    name: "an unknown route is 404 not_found_error",
    request: () => ({ method: "GET", url: "/api/v1/no-such-thing" }),
    status: 404,
    type: "not_found_error",
  },
  {
    name: "a wrong method on a known path is 404, not 405",
    request: (t) => ({ method: "DELETE", url: "/api/v1/user/me", headers: bearer(t.adminKey) }),
    status: 404,
    type: "not_found_error",
  },
  {
    name: "a wrong method with a malformed body is still 404",
    request: (t) => ({ method: "PUT", url: "/api/v1/user/me", headers: json(t), payload: "{" }),
    status: 404,
    type: "not_found_error",
  },
  {
    name: "a missing key is 401 authentication_error",
    request: () => ({ method: "GET", url: "/api/v1/user/me" }),
    status: 401,
    type: "authentication_error",
  },
  {
    name: "a credential outside the key format is 401 token_error",
    request: () => ({ method: "GET", url: "/api/v1/user/me", headers: bearer("hunter2") }),
    status: 401,
    type: "token_error",
  },
  {
    name: "an exception nobody expected is 500 server_error",
    request: () => ({ method: "GET", url: "/test/crash" }),
    status: 500,
    type: "server_error",
  },
  {
    name: "SQLite busy beyond its timeout is 500 database_error",
    request: () => ({ method: "GET", url: "/test/sqlite-busy" }),
    status: 500,
    type: "database_error",
  },
  {
    name: "SQLite locked is 500 database_error",
    request: () => ({ method: "GET", url: "/test/sqlite-locked" }),
    status: 500,
    type: "database_error",
  },
  {
    name: "an unreachable PostgreSQL is 500 database_error",
    request: () => ({ method: "GET", url: "/test/pg-unreachable" }),
    status: 500,
    type: "database_error",
  },
  {
    name: "a PostgreSQL statement timeout is 504 gateway_timeout_error",
    request: () => ({ method: "GET", url: "/test/pg-statement-timeout" }),
    status: 504,
    type: "gateway_timeout_error",
  },
];

/** Routes that fail the way production code can, registered on this test app only. */
function failingRoutes(app: TestApp["app"]): void {
  const open = { config: { public: true } };
  app.get("/test/crash", open, async () => {
    const error = new Error(
      "SELECT * FROM api_keys WHERE key_hash = ? failed in /srv/capstan/dist/db.js:12:3",
    );
    throw error;
  });
  app.get("/test/sqlite-busy", open, async () => {
    throw new SqliteDatabase.SqliteError("database is locked", "SQLITE_BUSY");
  });
  app.get("/test/sqlite-locked", open, async () => {
    throw new SqliteDatabase.SqliteError("database table is locked: runtimes", "SQLITE_LOCKED_SHAREDCACHE");
  });
  app.get("/test/pg-unreachable", open, async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const pool = new pg.Pool({ connectionString: "postgres://capstan:secret@127.0.0.1:1/capstan" });
    try {
      await pool.query("select 1");
    } finally {
      await pool.end();
    }
  });
  app.get("/test/pg-nul", open, async () => {
    const error = new pg.DatabaseError('invalid byte sequence for encoding "UTF8": 0x00', 0, "error");
    error.code = "22021";
    throw error;
  });
  app.get("/test/pg-statement-timeout", open, async () => {
    const error = new pg.DatabaseError("canceling statement due to statement timeout", 0, "error");
    error.code = "57014";
    throw error;
  });
}

describe("error envelope (SPEC §2.4)", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ extraRoutes: failingRoutes });
  });
  after(() => t.close());

  for (const c of cases) {
    test(c.name, async () => {
      const res = await t.app.inject(c.request(t));
      const body = assertEnvelope(res, c.status, c.type);
      if (c.loc) {
        assert.ok(
          body.errors?.some((item) => JSON.stringify(item.loc) === JSON.stringify(c.loc)),
          `expected an error at ${JSON.stringify(c.loc)}: ${res.body}`,
        );
      }
    });
  }

  test("an upper-case UUID finds the resource, which is returned with its id in lower case", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: `${RUNTIMES}/${t.runtimeId.toUpperCase()}`,
      headers: bearer(t.adminKey),
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().id, t.runtimeId);
  });

  test("a 5xx detail names the request id sent in X-Request-Id", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/test/crash",
      headers: { "x-request-id": "crash-42" },
    });
    const body = assertEnvelope(res, 500, "server_error");
    assert.equal(res.headers["x-request-id"], "crash-42");
    assert.match(body.detail, /crash-42/);
  });

  test("a DELETE with a JSON content type and no body is not a malformed body", async () => {
    const res = await t.app.inject({
      method: "DELETE",
      url: `${API_KEYS}/${UPPERCASE_UUID}`,
      headers: json(t),
    });
    assertEnvelope(res, 404, "not_found_error");
  });

  /** Sends `text` on a raw socket to the listening app; the answer, split into status line, headers, body. */
  let origin: string | undefined;
  const overSocket = async (text: string) => {
    origin ??= await t.app.listen({ host: "127.0.0.1", port: 0 });
    const url = new URL(origin);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let received = "";
      socket.on("data", (chunk) => {
        received += chunk;
        // A keep-alive answer never closes the socket: stop once the whole body is in.
        const [head, body = ""] = received.split("\r\n\r\n");
        const length = /content-length: (\d+)/i.exec(head)?.[1];
        if (length !== undefined && Buffer.byteLength(body) >= Number(length)) socket.destroy();
      });
      socket.on("close", () => resolve(received));
      socket.on("error", reject);
      socket.write(text);
    });
    const [head, body] = raw.split("\r\n\r\n");
    const headers = Object.fromEntries(
      head
        .split("\r\n")
        .slice(1)
        .map((line) => [
          line.slice(0, line.indexOf(":")).toLowerCase(),
          line.slice(line.indexOf(":") + 1).trim(),
        ]),
    );
    return { statusLine: head.split("\r\n")[0], headers, body };
  };

  test("unparseable HTTP on a real socket gets a 400 envelope", async () => {
    const { statusLine, headers, body } = await overSocket("NOT HTTP AT ALL\r\n\r\n");
    assert.match(statusLine, /^HTTP\/1\.1 400 /);
    assertEnvelope({ statusCode: 400, headers, body }, 400, "invalid_error");
  });

  test("CONNECT on a real socket gets the 404 envelope of an unknown method", async () => {
    const { statusLine, headers, body } = await overSocket(
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n",
    );
    assert.match(statusLine, /^HTTP\/1\.1 404 /);
    assertEnvelope({ statusCode: 404, headers, body }, 404, "not_found_error");
  });

  test("an Expect other than 100-continue is ignored: the request is answered as usual", async () => {
    const { statusLine, headers, body } = await overSocket(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: garbage\r\nConnection: close\r\n\r\n",
    );
    assert.match(statusLine, /^HTTP\/1\.1 200 /);
    assert.ok(headers["x-request-id"]);
    assert.ok(body.length > 0);
  });
});
