import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertEnvelope } from "../helpers/envelope.js";
import { registeredRoutes } from "../helpers/route-table.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const ERROR_STATUSES_OF_EVERY_API_ROUTE = ["400", "401", "403", "404", "409", "422", "426", "429", "500"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  security?: unknown[];
}

/** A route's path as the document writes it: the file route's wildcard is the named `{path}`. */
const openApiPath = (url: string) => url.replace(/:(\w+)/g, "{$1}").replace(/\*$/, "{path}");

describe("operational endpoints (SPEC §1)", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("GET /healthz answers without a key", async () => {
    const res = await t.app.inject({ method: "GET", url: "/healthz" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: "ok" });
  });

  test("GET /readyz answers when the database is reachable", async () => {
    const res = await t.app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: "ready" });
  });

  test("GET /metrics counts requests by route template and status, with a latency histogram", async () => {
    await t.app.inject({ method: "GET", url: "/api/v1/user/me", headers: bearer(t.adminKey) });
    await t.app.inject({ method: "GET", url: "/api/v1/user/me" });
    await t.app.inject({
      method: "GET",
      url: `/api/v1/org/default/ws/main/runtimes/${t.runtimeId}`,
      headers: bearer(t.adminKey),
    });
    await t.app.inject({ method: "GET", url: "/no/such/route" });

    const res = await t.app.inject({ method: "GET", url: "/metrics" });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/plain/);
    const text = res.body;
    assert.match(
      text,
      /^capstan_http_requests_total\{route="\/api\/v1\/user\/me",method="GET",status="200"\} 1$/m,
    );
    assert.match(
      text,
      /^capstan_http_requests_total\{route="\/api\/v1\/user\/me",method="GET",status="401"\} 1$/m,
    );
    assert.match(
      text,
      /^capstan_http_requests_total\{route="\/api\/v1\/org\/:org\/ws\/:workspace\/runtimes\/:runtime_id",method="GET",status="\d{3}"\} 1$/m,
    );
    assert.match(text, /^capstan_http_requests_total\{route="unmatched",method="GET",status="404"\} 1$/m);
    assert.ok(!text.includes(t.runtimeId), "ids in paths never become label values");
    assert.ok(!text.includes("/no/such/route"), "unknown URLs never become label values");
    assert.match(text, /^# TYPE capstan_http_request_duration_seconds histogram$/m);
    assert.match(
      text,
      /^capstan_http_request_duration_seconds_bucket\{le="\+Inf",route="\/api\/v1\/user\/me"/m,
    );
  });

  test("GET /docs serves the API reference as HTML", async () => {
    const res = await t.app.inject({ method: "GET", url: "/docs" });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/html/);
    assert.match(res.body, /<html/i);
  });

  describe("GET /openapi.json", () => {
    let document: {
      openapi: string;
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, { required?: string[] }> };
    };
    before(async () => {
      const res = await t.app.inject({ method: "GET", url: "/openapi.json" });
      assert.equal(res.statusCode, 200);
      document = res.json();
    });

    test("is OpenAPI 3.1 and declares the error envelope once", () => {
      assert.equal(document.openapi, "3.1.0");
      assert.deepEqual(document.components.schemas.ErrorEnvelope.required?.sort(), [
        "code",
        "detail",
        "type",
      ]);
    });

    test("lists every route the app serves, except the docs UI itself", () => {
      const routes = registeredRoutes(t.app).filter(({ url }) => !url.startsWith("/docs"));
      assert.ok(
        routes.some(({ method, url }) => method === "GET" && url === "/api/v1/user/me"),
        "the route tree was read",
      );
      const missing = routes
        .filter(({ method, url }) => document.paths[openApiPath(url)]?.[method.toLowerCase()] === undefined)
        .map(({ method, url }) => `${method} ${url}`);
      assert.deepEqual(missing, []);
    });

    test("gives every API operation the error responses of the envelope", () => {
      for (const [path, operations] of Object.entries(document.paths)) {
        if (!path.startsWith("/api/")) continue;
        for (const [method, operation] of Object.entries(operations)) {
          for (const status of ERROR_STATUSES_OF_EVERY_API_ROUTE) {
            const schema = operation.responses[status]?.content?.["application/json"]?.schema;
            assert.equal(schema?.$ref, "#/components/schemas/ErrorEnvelope", `${method} ${path} → ${status}`);
          }
        }
      }
    });

    test("marks the operational routes as needing no key", () => {
      for (const path of ["/healthz", "/readyz", "/metrics", "/openapi.json"]) {
        assert.deepEqual(document.paths[path].get.security, [], path);
      }
    });
  });

  describe("X-Request-Id", () => {
    const responses: [string, () => Promise<{ statusCode: number; headers: Record<string, unknown> }>][] = [
      ["a success", () => t.app.inject({ method: "GET", url: "/healthz" })],
      ["an authentication failure", () => t.app.inject({ method: "GET", url: "/api/v1/user/me" })],
      ["an unknown route", () => t.app.inject({ method: "POST", url: "/nowhere" })],
      [
        "a validation failure",
        () =>
          t.app.inject({
            method: "GET",
            url: "/api/v1/org/default/ws/main/runtimes/nope",
            headers: bearer(t.adminKey),
          }),
      ],
      ["an undecodable URL", () => t.app.inject({ method: "GET", url: "/api/v1/org/%E0%A4%A" })],
    ];
    for (const [what, send] of responses) {
      test(`is on ${what}`, async () => {
        const res = await send();
        assert.match(String(res.headers["x-request-id"]), UUID);
      });
    }

    test("echoes a well-formed incoming id, on errors too", async () => {
      for (const url of ["/healthz", "/api/v1/user/me", "/nowhere"]) {
        const res = await t.app.inject({ method: "GET", url, headers: { "x-request-id": "lb-7f3a.42:1" } });
        assert.equal(res.headers["x-request-id"], "lb-7f3a.42:1", url);
      }
    });

    test("replaces a malformed or oversized incoming id", async () => {
      for (const incoming of ["has spaces", "<script>", "x".repeat(129), ""]) {
        const res = await t.app.inject({
          method: "GET",
          url: "/healthz",
          headers: { "x-request-id": incoming },
        });
        assert.match(String(res.headers["x-request-id"]), UUID, JSON.stringify(incoming));
      }
    });

    test("is different on every request", async () => {
      const first = await t.app.inject({ method: "GET", url: "/healthz" });
      const second = await t.app.inject({ method: "GET", url: "/healthz" });
      assert.notEqual(first.headers["x-request-id"], second.headers["x-request-id"]);
    });
  });
});

describe("GET /readyz without a database", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("answers 500 database_error", async () => {
    await t.deps.db.destroy();
    const res = await t.app.inject({ method: "GET", url: "/readyz" });
    assertEnvelope(res, 500, "database_error");
    const health = await t.app.inject({ method: "GET", url: "/healthz" });
    assert.equal(health.statusCode, 200, "the process itself is still up");
  });
});
