// Adversarial review of the events, webhooks, audit verify and backup routes: each test is a
// problem found by attacking them, kept so that it stays fixed.
import assert from "node:assert/strict";
import { type ClientRequest, get as httpGet, type IncomingMessage } from "node:http";
import { after, before, describe, test } from "node:test";
import { MAX_WEBHOOKS_PER_ORG } from "../../src/domain/webhooks.js";
import { callApi } from "../helpers/api.js";
import { newOrg, newUserKey } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const ORG = "/api/v1/org/default";
const HOOKS = `${ORG}/webhooks`;

describe("a webhook URL's token", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { CAPSTAN_WEBHOOK_ALLOW_PRIVATE: "true" } });
  });
  after(() => t.close());

  test("does not reach org readers (or other webhooks) through the events", async () => {
    // Chat hooks carry their token in the path; webhooks are the owners', events are every reader's.
    const created = await callApi(t, "POST", HOOKS, t.adminKey, {
      url: "http://127.0.0.1:9/services/T0001/B0001/PathToken1?ci=QueryToken1",
      events: ["binding.*"],
    });
    assert.equal(created.statusCode, 201, created.body);
    const { id } = created.json();
    const patched = await callApi(t, "PATCH", `${HOOKS}/${id}`, t.adminKey, {
      url: "http://127.0.0.1:9/services/T0001/B0001/PathToken2",
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal((await callApi(t, "DELETE", `${HOOKS}/${id}`, t.adminKey)).statusCode, 204);

    const reader = await newUserKey(t, { role: "reader" });
    const events = await callApi(t, "GET", `${ORG}/events?types=webhook.*`, reader.key);
    assert.equal(events.statusCode, 200, events.body);
    const items = events.json().items as { type: string; data: { url?: string } }[];
    assert.deepEqual(
      items.map((item) => item.type),
      ["webhook.created", "webhook.updated", "webhook.deleted"],
    );
    for (const item of items) assert.equal(item.data.url, "http://127.0.0.1:9");
    for (const token of ["PathToken1", "PathToken2", "QueryToken1", "T0001"]) {
      assert.equal(events.body.includes(token), false, `${token} leaked into the events`);
    }
  });

  test("the per-org cap holds against concurrent registrations", async () => {
    const { key: org } = await newOrg(t, "hookcap");
    const make = () =>
      callApi(t, "POST", `/api/v1/org/${org}/webhooks`, t.adminKey, {
        url: "http://127.0.0.1:9/cap",
        events: ["binding.*"],
      });
    for (let i = 0; i < MAX_WEBHOOKS_PER_ORG - 1; i++) assert.equal((await make()).statusCode, 201);
    const statuses = (await Promise.all(Array.from({ length: 6 }, make))).map((res) => res.statusCode);
    assert.deepEqual(statuses.sort(), [201, 409, 409, 409, 409, 409], "exactly one more webhook fits");
    const list = await callApi(t, "GET", `/api/v1/org/${org}/webhooks`, t.adminKey);
    assert.equal(list.json().items.length, MAX_WEBHOOKS_PER_ORG);
  });

  test("an id in upper case acts on the webhook it names, or on nothing", async () => {
    const created = await callApi(t, "POST", HOOKS, t.adminKey, {
      url: "http://127.0.0.1:9/upper",
      events: ["binding.*"],
    });
    const id = created.json().id as string;
    const upper = `${HOOKS}/${id.toUpperCase()}`;
    const patched = await callApi(t, "PATCH", upper, t.adminKey, { status: "disabled" });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().id, id);
    // What the answer said is what was stored: the webhook is disabled.
    const stored = await callApi(t, "GET", `${HOOKS}/${id}`, t.adminKey);
    assert.equal(stored.json().status, "disabled");
    const audit = await callApi(t, "GET", `${ORG}/audit?action=webhook.updated`, t.adminKey);
    assert.equal(audit.body.includes(id.toUpperCase()), false, "the audit names the stored id");
    assert.equal((await callApi(t, "DELETE", upper, t.adminKey)).statusCode, 204);
    assert.equal((await callApi(t, "GET", `${HOOKS}/${id}`, t.adminKey)).statusCode, 404);
  });

  test("with white space or control characters is refused, not stored unlike what is sent", async () => {
    for (const url of ["http://127.0.0.1:9/a\nb", "http://127.0.0.1:9/a\tb", "http://127.0.0.1:9/a b"]) {
      const res = await callApi(t, "POST", HOOKS, t.adminKey, { url, events: ["binding.*"] });
      assert.equal(res.statusCode, 422, `${JSON.stringify(url)}: ${res.body}`);
      assert.deepEqual(
        res.json().errors.map((issue: { loc: unknown[] }) => issue.loc),
        [["body", "url"]],
      );
    }
  });
});

/** Opens an event stream over real HTTP; resolves with its status once the headers arrive. */
function openStream(
  origin: string,
  key: string,
  org = "default",
): Promise<{ status: number; request: ClientRequest }> {
  return new Promise((resolve, reject) => {
    const request = httpGet(
      `${origin}/api/v1/org/${org}/events/stream`,
      { headers: bearer(key), agent: false },
      (res: IncomingMessage) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, request });
      },
    );
    request.on("error", reject);
  });
}

describe("event streams", () => {
  test("one reader's key cannot take every stream of its org", async () => {
    const t = await buildTestApp({ serviceOptions: { eventStreams: { maxPerOrg: 5, maxPerKey: 2 } } });
    const open: ClientRequest[] = [];
    try {
      const origin = (await t.app.listen({ port: 0, host: "127.0.0.1" })).replace("localhost", "127.0.0.1");
      const reader = await newUserKey(t, { role: "reader", readOnly: true });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const stream = await openStream(origin, reader.key);
        statuses.push(stream.status);
        open.push(stream.request);
      }
      assert.deepEqual(statuses, [200, 200, 429]);
      // The owner still gets one.
      const owner = await openStream(origin, t.adminKey);
      open.push(owner.request);
      assert.equal(owner.status, 200);
    } finally {
      for (const request of open) request.destroy();
      await t.close();
    }
  });

  test("the per-key cap counts a key's streams in every org (a user may create orgs at will)", async () => {
    const t = await buildTestApp({ serviceOptions: { eventStreams: { maxPerKey: 2 } } });
    const open: ClientRequest[] = [];
    try {
      const origin = (await t.app.listen({ port: 0, host: "127.0.0.1" })).replace("localhost", "127.0.0.1");
      const statuses: number[] = [];
      for (const org of ["default", (await newOrg(t, "spare-a")).key, (await newOrg(t, "spare-b")).key]) {
        const stream = await openStream(origin, t.adminKey, org);
        statuses.push(stream.status);
        open.push(stream.request);
      }
      assert.deepEqual(statuses, [200, 200, 429]);
    } finally {
      for (const request of open) request.destroy();
      await t.close();
    }
  });

  test("streams opened all at once cannot pass the caps together", async () => {
    const t = await buildTestApp({ serviceOptions: { eventStreams: { maxPerOrg: 3, maxPerKey: 100 } } });
    const open: ClientRequest[] = [];
    try {
      const origin = (await t.app.listen({ port: 0, host: "127.0.0.1" })).replace("localhost", "127.0.0.1");
      const streams = await Promise.all(Array.from({ length: 12 }, () => openStream(origin, t.adminKey)));
      for (const stream of streams) open.push(stream.request);
      const statuses = streams.map((stream) => stream.status);
      assert.equal(statuses.filter((status) => status === 200).length, 3, String(statuses));
      assert.equal(statuses.filter((status) => status === 429).length, 9, String(statuses));
      assert.equal(t.app.services.events.size, 3);
    } finally {
      for (const request of open) request.destroy();
      await t.close();
    }
  });
});
