// Events (SPEC §15): one per mutation, in its transaction, numbered without gaps per org; the
// cursor list, the Server-Sent Events stream (resume with Last-Event-ID, heartbeat, a revoked
// key's stream ends), tenancy, and secret values never reaching an event.
import assert from "node:assert/strict";
import { type ClientRequest, get as httpGet, type IncomingMessage } from "node:http";
import { after, before, describe, test } from "node:test";
import { readSse, type SseItem } from "../../src/cli/sse.js";
import { appendAudit } from "../../src/services/audit.js";
import type { EventView } from "../../src/services/event-service.js";
import { inTransaction } from "../../src/services/transaction.js";
import { callApi, expectError } from "../helpers/api.js";
import { bind, bindingUrl, newRuntime, runtimeUrl } from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

type EventJson = EventView;

const EVENTS = "/api/v1/org/default/events";
const CAP = "/api/v1/org/default/capabilities";
const SECRET_VALUE = "sup3r-s3cret-value-that-must-never-leak";

async function allEvents(t: TestApp, key = t.adminKey, url = EVENTS): Promise<EventJson[]> {
  const items: EventJson[] = [];
  let cursor = 0;
  for (;;) {
    const join = url.includes("?") ? "&" : "?";
    const res = await callApi(t, "GET", `${url}${join}after=${cursor}&limit=1000`, key);
    assert.equal(res.statusCode, 200, res.body);
    const page = res.json();
    items.push(...page.items);
    cursor = page.next_after;
    if (!page.has_more) return items;
  }
}

async function headSeq(t: TestApp): Promise<number> {
  const events = await allEvents(t);
  return events.length === 0 ? 0 : events[events.length - 1].seq;
}

/** Events appended since `since` (a seq), in order. */
async function eventsAfter(t: TestApp, since: number): Promise<EventJson[]> {
  const res = await callApi(t, "GET", `${EVENTS}?after=${since}&limit=1000`, t.adminKey);
  assert.equal(res.statusCode, 200, res.body);
  return res.json().items;
}

function assertGapFree(events: EventJson[]): void {
  assert.deepEqual(
    events.map((event) => event.seq),
    events.map((_, index) => index + 1),
  );
}

describe("events: one per mutation, with subject, workspace and actor", () => {
  let t: TestApp;
  let adminId: string;

  before(async () => {
    t = await buildTestApp();
    adminId = (await callApi(t, "GET", "/api/v1/user/me", t.adminKey)).json().id;
  });
  after(() => t.close());

  test("each mutation type emits its event", async () => {
    const start = await headSeq(t);
    await publishOk(t, { name: "evented", version: "1.0.0" });
    await publishOk(t, { name: "evented", version: "1.1.0" });
    assert.equal(
      (await callApi(t, "PATCH", `${CAP}/evented/1.0.0`, t.adminKey, { status: "deprecated" })).statusCode,
      200,
    );
    assert.equal(
      (await callApi(t, "PATCH", `${CAP}/evented/visibility`, t.adminKey, { is_public: true })).statusCode,
      200,
    );
    assert.equal(
      (await callApi(t, "PUT", `${CAP}/evented/tags/beta`, t.adminKey, { version: "1.1.0" })).statusCode,
      200,
    );
    const runtimeId = await newRuntime(t, "evented-rt");
    const binding = await bind(t, runtimeId, { name: "evented", version: "1.0.0" });
    assert.equal(
      (await callApi(t, "PATCH", bindingUrl(runtimeId, binding.id), t.adminKey, { enabled: false }))
        .statusCode,
      200,
    );
    assert.equal((await callApi(t, "DELETE", bindingUrl(runtimeId, binding.id), t.adminKey)).statusCode, 204);
    assert.equal(
      (await callApi(t, "PATCH", runtimeUrl(runtimeId), t.adminKey, { name: "Renamed" })).statusCode,
      200,
    );
    const report = { applied_digest: null, agent: { name: "test", version: "1.0.0" } };
    for (let i = 0; i < 3; i++)
      assert.equal(
        (await callApi(t, "PUT", `${runtimeUrl(runtimeId)}/status`, t.adminKey, report)).statusCode,
        200,
      );
    const secretUrl = "/api/v1/org/default/ws/main/secrets/API_TOKEN";
    assert.equal((await callApi(t, "PUT", secretUrl, t.adminKey, { value: SECRET_VALUE })).statusCode, 201);
    assert.equal(
      (await callApi(t, "PUT", secretUrl, t.adminKey, { value: `${SECRET_VALUE}-2` })).statusCode,
      200,
    );
    const member = await newUserKey(t, { role: "reader" });
    // A key limited to the org is the org's; an unlimited key belongs to no org's stream.
    const key = await callApi(t, "POST", "/api/v1/user/api-keys", t.adminKey, {
      name: "evented key",
      org: "default",
    });
    assert.equal(key.statusCode, 201);
    assert.equal(
      (await callApi(t, "DELETE", `/api/v1/user/api-keys/${key.json().id}`, t.adminKey)).statusCode,
      204,
    );
    assert.equal((await callApi(t, "DELETE", `${CAP}/evented/1.0.0`, t.adminKey)).statusCode, 204);
    assert.equal((await callApi(t, "DELETE", runtimeUrl(runtimeId), t.adminKey)).statusCode, 204);

    const events = await eventsAfter(t, start);
    assert.deepEqual(
      events.map((event) => event.seq),
      events.map((_, index) => start + index + 1),
    );
    const types = events.map((event) => event.type);
    for (const type of [
      "capability.published",
      "capability.version.status_changed",
      "capability.visibility_changed",
      "capability.tag_moved",
      "runtime.created",
      "binding.created",
      "binding.updated",
      "binding.deleted",
      "runtime.updated",
      "runtime.status_changed",
      "secret.changed",
      "member.added",
      "key.created",
      "key.revoked",
      "capability.version.deleted",
      "runtime.deleted",
    ])
      assert.ok(types.includes(type), `${type} in ${types.join(", ")}`);
    // Three identical reports: one status change.
    assert.equal(types.filter((type) => type === "runtime.status_changed").length, 1);
    assert.equal(types.filter((type) => type === "secret.changed").length, 2);

    for (const event of events) {
      assert.equal(event.org, "default");
      assert.ok(!JSON.stringify(event).includes(SECRET_VALUE), `${event.type} carries no secret value`);
    }
    const bindingCreated = events.find((event) => event.type === "binding.created") as EventJson;
    assert.deepEqual(bindingCreated.subject, { kind: "binding", id: binding.id, name: "evented" });
    assert.equal(bindingCreated.workspace, "main");
    assert.equal(typeof bindingCreated.workspace_id, "string");
    assert.deepEqual(bindingCreated.actor?.user_id, adminId);
    assert.equal(bindingCreated.data.runtime_id, runtimeId);
    const status = events.find((event) => event.type === "runtime.status_changed") as EventJson;
    assert.deepEqual(status.subject, { kind: "runtime", id: runtimeId });
    assert.equal(status.workspace, "main");
    const secret = events.find((event) => event.type === "secret.changed") as EventJson;
    assert.equal(secret.subject.name, "API_TOKEN");
    assert.equal(secret.workspace, "main");
    const added = events.find((event) => event.type === "member.added") as EventJson;
    assert.equal(added.subject.id, member.userId);
    assert.equal(added.workspace, undefined);
    // The tag move re-points nothing here; the runtime's deletion keeps the events' workspace id.
    const deleted = events.find((event) => event.type === "runtime.deleted") as EventJson;
    assert.equal(deleted.subject.id, runtimeId);
  });

  test("the list filters by exact types and prefixes, pages by seq, and refuses bad input with 422", async () => {
    const all = await allEvents(t);
    assertGapFree(all);
    const bindings = await allEvents(t, t.adminKey, `${EVENTS}?types=binding.*,key.revoked`);
    assert.ok(bindings.length > 0);
    assert.deepEqual(
      bindings.map((event) => event.seq),
      all
        .filter((event) => event.type.startsWith("binding.") || event.type === "key.revoked")
        .map((e) => e.seq),
    );
    // A page of a filtered read still moves the cursor past what the filter left out.
    const none = await callApi(t, "GET", `${EVENTS}?types=nothing.matches`, t.adminKey);
    assert.deepEqual(none.json(), { items: [], next_after: all.length, has_more: false });
    const paged = await callApi(t, "GET", `${EVENTS}?after=2&limit=3`, t.adminKey);
    assert.deepEqual(
      paged.json().items.map((event: EventJson) => event.seq),
      [3, 4, 5],
    );
    assert.equal(paged.json().next_after, 5);
    assert.equal(paged.json().has_more, true);
    // `_` and `%` are literal in a prefix.
    assert.equal((await callApi(t, "GET", `${EVENTS}?types=bind_ng.*`, t.adminKey)).json().items.length, 0);

    expectError(await callApi(t, "GET", `${EVENTS}?types=Binding`, t.adminKey), 422, "validation_error", [
      "query",
      "types",
    ]);
    expectError(await callApi(t, "GET", `${EVENTS}?types=binding.%25`, t.adminKey), 422, "validation_error", [
      "query",
      "types",
    ]);
    expectError(await callApi(t, "GET", `${EVENTS}?after=-1`, t.adminKey), 422, "validation_error");
    expectError(await callApi(t, "GET", `${EVENTS}?after=abc`, t.adminKey), 422, "validation_error");
    expectError(await callApi(t, "GET", `${EVENTS}?limit=1001`, t.adminKey), 422, "validation_error");
  });

  test("a rolled-back mutation leaves no event and no gap", async () => {
    const before = await headSeq(t);
    const org = (await callApi(t, "GET", "/api/v1/org/default", t.adminKey)).json();
    await assert.rejects(
      inTransaction(t.deps, async (trx) => {
        await appendAudit(
          trx,
          null,
          { orgId: org.id, action: "runtime.updated", targetType: "runtime", targetId: "x", data: {} },
          new Date().toISOString(),
        );
        throw new Error("rolled back");
      }),
      /rolled back/,
    );
    // A refused request (409: the workspace key is taken) rolls back as well.
    await newRuntime(t, "twice");
    const again = await callApi(t, "POST", "/api/v1/org/default/ws", t.adminKey, {
      key: "main",
      name: "Again",
    });
    assert.equal(again.statusCode, 409, again.body);
    await newRuntime(t, "after-rollback");
    const events = await eventsAfter(t, before);
    assert.deepEqual(
      events.map((event) => [event.seq, event.type]),
      [
        [before + 1, "runtime.created"],
        [before + 2, "runtime.created"],
      ],
    );
  });

  test("concurrent mutations get distinct, gap-free seqs", async () => {
    const runtimeId = await newRuntime(t, "concurrent");
    const before = await headSeq(t);
    // Each write changes something (a new name), so each appends exactly one event.
    const writes = Array.from({ length: 60 }, (_, i) =>
      callApi(t, "PATCH", runtimeUrl(runtimeId), t.adminKey, { name: `Concurrent ${i}` }),
    );
    for (const res of await Promise.all(writes)) assert.equal(res.statusCode, 200, res.body);
    const events = await eventsAfter(t, before);
    assert.equal(events.length, 60);
    assert.deepEqual(
      events.map((event) => event.seq),
      events.map((_, index) => before + index + 1),
    );
    assertGapFree(await allEvents(t));
  });

  test("an org's events are its own: other orgs' members get 404, runtime tokens 403", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", EVENTS, stranger.key), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${EVENTS}/stream`, stranger.key), 404, "not_found_error");
    const theirs = await allEvents(t, stranger.key, `/api/v1/org/${stranger.org}/events`);
    const ours = new Set((await allEvents(t)).map((event) => event.id));
    assert.ok(theirs.length > 0);
    for (const event of theirs) {
      assert.equal(event.org, stranger.org);
      assert.ok(!ours.has(event.id));
    }
    assertGapFree(theirs);
    const reader = await newUserKey(t, { role: "reader" });
    assert.equal((await callApi(t, "GET", EVENTS, reader.key)).statusCode, 200);
  });
});

/** A live stream over a real socket (its own connection), read message by message. */
class StreamClient {
  private request!: ClientRequest;
  private iterator!: AsyncGenerator<SseItem>;
  status = 0;
  body = "";

  static async open(origin: string, path: string, key: string, headers: Record<string, string> = {}) {
    const client = new StreamClient();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      client.request = httpGet(
        `${origin}${path}`,
        { headers: { ...bearer(key), ...headers }, agent: false },
        resolve,
      );
      client.request.on("error", reject);
    });
    client.status = res.statusCode ?? 0;
    if (client.status !== 200) {
      for await (const chunk of res) client.body += chunk;
      return client;
    }
    client.iterator = readSse(res);
    return client;
  }

  /** The next item (message or comment); null when the stream has ended. */
  async next(): Promise<SseItem | null> {
    const result = await this.iterator.next();
    return result.done ? null : result.value;
  }

  async nextMessage(): Promise<(SseItem & { kind: "message" }) | null> {
    for (;;) {
      const item = await this.next();
      if (item === null || item.kind === "message") return item;
    }
  }

  close(): void {
    this.request.destroy();
  }
}

/** A small deterministic generator (mulberry32): the test's random points repeat for its seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe("events: the Server-Sent Events stream", () => {
  let t: TestApp;
  let origin: string;
  let runtimeId: string;

  before(async () => {
    t = await buildTestApp({ serviceOptions: { eventStreams: { heartbeatMs: 50, batchSize: 7 } } });
    origin = (await t.app.listen({ port: 0, host: "127.0.0.1" })).replace("localhost", "127.0.0.1");
    runtimeId = await newRuntime(t, "streamed");
  });
  after(() => t.close());

  const mutate = (n: number) =>
    callApi(t, "PATCH", runtimeUrl(runtimeId), t.adminKey, { name: `Streamed ${n}` }).then((res) =>
      assert.equal(res.statusCode, 200, res.body),
    );

  test("a heartbeat comment arrives while the stream is idle", async () => {
    const client = await StreamClient.open(origin, `${EVENTS}/stream`, t.adminKey);
    assert.equal(client.status, 200);
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const item = await client.next();
      assert.ok(item !== null && item.kind === "comment");
      seen.push((item as { text: string }).text);
    }
    assert.ok(seen.includes("heartbeat"), seen.join(" | "));
    client.close();
  });

  test("a client that drops at random points and resumes with Last-Event-ID misses nothing", async () => {
    const random = seeded(20);
    const start = await headSeq(t);
    const total = 60;
    let written = 0;
    // Writers run alongside the readers, in bursts.
    const writer = (async () => {
      while (written < total) {
        const burst = Math.min(total - written, 1 + Math.floor(random() * 6));
        await Promise.all(Array.from({ length: burst }, (_, i) => mutate(written + i)));
        written += burst;
      }
    })();
    const received: number[] = [];
    let lastId = String(start);
    while (received.length < total) {
      const client = await StreamClient.open(origin, `${EVENTS}/stream?types=runtime.*`, t.adminKey, {
        "last-event-id": lastId,
      });
      assert.equal(client.status, 200);
      const take = 1 + Math.floor(random() * 9);
      for (let i = 0; i < take && received.length < total; i++) {
        const message = await client.nextMessage();
        assert.ok(message, "the stream ended early");
        const event = JSON.parse(message.data) as EventJson;
        assert.equal(String(event.seq), message.id);
        assert.equal(message.event, event.type);
        received.push(event.seq);
        lastId = message.id as string;
      }
      client.close();
    }
    await writer;
    assert.deepEqual(
      received,
      Array.from({ length: total }, (_, i) => start + i + 1),
    );
  });

  test("without Last-Event-ID only new events are sent; ?after= starts where it says", async () => {
    const head = await headSeq(t);
    const fresh = await StreamClient.open(origin, `${EVENTS}/stream`, t.adminKey);
    const replay = await StreamClient.open(origin, `${EVENTS}/stream?after=${head - 1}`, t.adminKey);
    assert.equal(Number((await replay.nextMessage())?.id), head);
    // The fresh stream is open (its first comment arrived) before the change is made.
    assert.equal((await fresh.next())?.kind, "comment");
    await mutate(1000);
    assert.equal(Number((await fresh.nextMessage())?.id), head + 1);
    assert.equal(Number((await replay.nextMessage())?.id), head + 1);
    fresh.close();
    replay.close();
  });

  test("bad Last-Event-ID or types answer 422 before the stream opens", async () => {
    const bad = await fetch(`${origin}${EVENTS}/stream`, {
      headers: { ...bearer(t.adminKey), "last-event-id": "twelve" },
    });
    assert.equal(bad.status, 422);
    assert.equal(
      ((await bad.json()) as { errors: { loc: string[] }[] }).errors[0].loc.join("."),
      "header.last-event-id",
    );
    const types = await fetch(`${origin}${EVENTS}/stream?types=UPPER`, { headers: bearer(t.adminKey) });
    assert.equal(types.status, 422);
  });

  test("another org's change never reaches the stream", async () => {
    const other = await newOrg(t, "stream-other");
    const head = await headSeq(t);
    const client = await StreamClient.open(origin, `${EVENTS}/stream?after=${head}`, t.adminKey);
    await callApi(t, "POST", `/api/v1/org/${other.key}/ws`, t.adminKey, {
      key: "elsewhere",
      name: "Elsewhere",
    });
    await mutate(2000);
    const message = await client.nextMessage();
    const event = JSON.parse(message?.data ?? "{}") as EventJson;
    assert.equal(event.org, "default");
    assert.equal(event.seq, head + 1);
    client.close();
  });

  test("a revoked key's stream ends", async () => {
    const minted = await callApi(t, "POST", "/api/v1/user/api-keys", t.adminKey, { name: "streamer" });
    const { id, key } = minted.json();
    const client = await StreamClient.open(origin, `${EVENTS}/stream`, key);
    assert.equal(client.status, 200);
    assert.equal((await client.next())?.kind, "comment");
    assert.equal((await callApi(t, "DELETE", `/api/v1/user/api-keys/${id}`, t.adminKey)).statusCode, 204);
    for (;;) {
      const item = await client.next();
      if (item === null) break;
      assert.equal(item.kind, "comment", "no event after the revocation");
    }
    assert.equal(t.app.services.events.size, 0);
  });

  test("the per-org cap refuses one stream too many with 429", async () => {
    const capped = await buildTestApp({ serviceOptions: { eventStreams: { maxPerOrg: 2 } } });
    try {
      const base = (await capped.app.listen({ port: 0, host: "127.0.0.1" })).replace(
        "localhost",
        "127.0.0.1",
      );
      const a = await StreamClient.open(base, `${EVENTS}/stream`, capped.adminKey);
      const b = await StreamClient.open(base, `${EVENTS}/stream`, capped.adminKey);
      const c = await fetch(`${base}${EVENTS}/stream`, { headers: bearer(capped.adminKey) });
      assert.deepEqual([a.status, b.status, c.status], [200, 200, 429]);
      assert.equal(((await c.json()) as { type: string }).type, "usage_limit_exceeded_error");
      a.close();
      b.close();
    } finally {
      // Closing the app ends its open streams (the test would hang otherwise).
      await capped.close();
    }
  });
});
