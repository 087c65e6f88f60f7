// Webhooks (SPEC §15): registration, Standard Webhooks signatures checked by a verifier written
// here from the specification (not Capstan's signer), at-least-once delivery across an endpoint
// outage, redelivery, the delivery log, disabling after 5 days of failures, SSRF refusals (at
// registration and at connect time) and a slow endpoint that delays nobody else.
import assert from "node:assert/strict";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { redactLine } from "../../src/http/log-redaction.js";
import { WebhookDispatcher } from "../../src/services/webhook-dispatcher.js";
import { forbiddenAddressReason, systemResolve } from "../../src/services/webhook-transport.js";
import { callApi, expectError } from "../helpers/api.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";
import {
  type ReceivedMessage,
  startWebhookReceiver,
  type WebhookReceiver,
} from "../helpers/webhook-receiver.js";

const ORG = "/api/v1/org/default";
const HOOKS = `${ORG}/webhooks`;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const ALLOW_PRIVATE = { CAPSTAN_WEBHOOK_ALLOW_PRIVATE: "true" };

/**
 * Standard Webhooks verification, from the specification: the secret is `whsec_` + base64 of the
 * key; the signed content is `${webhook-id}.${webhook-timestamp}.${body}`; `webhook-signature` is
 * a space-separated list of `v1,<base64 HMAC-SHA256>`, any of which may match; the timestamp must
 * be within the tolerance of the receiver's clock.
 */
function verifyStandardWebhook(secret: string, message: ReceivedMessage, nowSeconds: number): boolean {
  const id = message.headers["webhook-id"];
  const timestamp = message.headers["webhook-timestamp"];
  const signatures = message.headers["webhook-signature"];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signatures !== "string") return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 5 * 60) return false;
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${message.body}`).digest();
  return signatures.split(" ").some((entry) => {
    const [version, signature] = entry.split(",", 2);
    if (version !== "v1" || signature === undefined) return false;
    const given = Buffer.from(signature, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const nowSeconds = (t: TestApp) => Math.floor(t.deps.now().getTime() / 1000);

async function newRuntime(t: TestApp, key: string): Promise<string> {
  const res = await callApi(t, "POST", `${ORG}/ws/main/runtimes`, t.adminKey, { key, name: key });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}

async function createWebhook(
  t: TestApp,
  body: Record<string, unknown>,
): Promise<{ id: string; secret: string }> {
  const res = await callApi(t, "POST", HOOKS, t.adminKey, body);
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

async function deliveries(t: TestApp, webhookId: string) {
  const res = await callApi(t, "GET", `${HOOKS}/${webhookId}/deliveries`, t.adminKey);
  assert.equal(res.statusCode, 200, res.body);
  return res.json().items as {
    id: string;
    event_id: string;
    event_type: string;
    status: string;
    attempts: number;
    next_attempt_at: string | null;
    last_status_code: number | null;
    last_error: string | null;
    log: {
      attempt: number;
      trigger: string;
      status_code: number | null;
      response: string | null;
      duration_ms: number;
      error: string | null;
    }[];
  }[];
}

const settle = (t: TestApp) => t.app.services.webhookDispatcher.settle();

describe("registering webhooks", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: ALLOW_PRIVATE });
  });
  after(() => t.close());

  test("shows the signing secret once, in the Standard Webhooks format", async () => {
    const created = await createWebhook(t, {
      url: "http://127.0.0.1:9/hook?token=abc",
      events: ["binding.*", "runtime.created", "runtime.created"],
      description: "CI",
    });
    assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(created.secret.slice(6), "base64").length, 32);
    const list = await callApi(t, "GET", HOOKS, t.adminKey);
    assert.equal(list.statusCode, 200);
    assert.equal(list.body.includes(created.secret.slice(6)), false);
    const item = list.json().items.find((hook: { id: string }) => hook.id === created.id);
    assert.deepEqual(item.events, ["binding.*", "runtime.created"]);
    assert.equal(item.status, "active");
    assert.equal("secret" in item, false);
    const one = await callApi(t, "GET", `${HOOKS}/${created.id.toUpperCase()}`, t.adminKey);
    assert.equal(one.statusCode, 200);
    assert.equal("secret" in one.json(), false);
    // The audit record (and so the event readers and other webhooks receive) shows only the
    // URL's origin: its path and query may carry the receiver's token.
    const audit = await callApi(t, "GET", `${ORG}/audit?action=webhook.created`, t.adminKey);
    assert.equal(audit.statusCode, 200, audit.body);
    assert.equal(audit.body.includes("token=abc"), false);
    assert.equal(audit.body.includes("127.0.0.1:9/hook"), false);
    assert.equal(audit.body.includes('"url":"http://127.0.0.1:9"'), true);
  });

  test("refuses unknown event patterns, bad URLs and unknown fields with 422", async () => {
    expectError(
      await callApi(t, "POST", HOOKS, t.adminKey, {
        url: "http://127.0.0.1:9/",
        events: ["runtime.*", "runtimes.created"],
      }),
      422,
      "validation_error",
      ["body", "events", 1],
    );
    for (const events of [["Binding.*"], ["binding.**"], ["*.created"], []]) {
      expectError(
        await callApi(t, "POST", HOOKS, t.adminKey, { url: "http://127.0.0.1:9/", events }),
        422,
        "validation_error",
      );
    }
    for (const url of [
      "ftp://127.0.0.1/",
      "http://user:pw@127.0.0.1/",
      "not a url",
      `http://127.0.0.1/${"a".repeat(2048)}`,
    ]) {
      expectError(
        await callApi(t, "POST", HOOKS, t.adminKey, { url, events: ["*"] }),
        422,
        "validation_error",
      );
    }
    expectError(
      await callApi(t, "POST", HOOKS, t.adminKey, {
        url: "http://127.0.0.1:9/",
        events: ["*"],
        secret: "mine",
      }),
      422,
      "validation_error",
    );
  });

  test("is for owners: a contributor gets 403, another org's member 404", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    expectError(await callApi(t, "GET", HOOKS, contributor.key), 403, "forbidden_error");
    expectError(
      await callApi(t, "POST", HOOKS, contributor.key, { url: "http://127.0.0.1:9/", events: ["*"] }),
      403,
      "forbidden_error",
    );
    const hook = await createWebhook(t, { url: "http://127.0.0.1:9/", events: ["*"] });
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", `${HOOKS}/${hook.id}`, stranger.key), 404, "not_found_error");
    // Their own org does not reach ours by id either.
    expectError(
      await callApi(t, "GET", `/api/v1/org/${stranger.org}/webhooks/${hook.id}`, stranger.key),
      404,
      "not_found_error",
    );
    expectError(
      await callApi(t, "DELETE", `/api/v1/org/${stranger.org}/webhooks/${hook.id}`, stranger.key),
      404,
      "not_found_error",
    );
  });

  test("changes, disables and deletes a webhook; 50 per org at most", async () => {
    const hook = await createWebhook(t, { url: "http://127.0.0.1:9/a", events: ["*"] });
    const patched = await callApi(t, "PATCH", `${HOOKS}/${hook.id}`, t.adminKey, {
      url: "http://127.0.0.1:9/b",
      events: ["secret.changed"],
      description: null,
      status: "disabled",
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().url, "http://127.0.0.1:9/b");
    assert.equal(patched.json().status, "disabled");
    assert.equal(patched.json().disabled_reason, "disabled by an owner");
    expectError(await callApi(t, "PATCH", `${HOOKS}/${hook.id}`, t.adminKey, {}), 422, "validation_error");
    expectError(
      await callApi(t, "PATCH", `${HOOKS}/${hook.id}`, t.adminKey, { url: "gopher://x" }),
      422,
      "validation_error",
      ["body", "url"],
    );
    assert.equal((await callApi(t, "DELETE", `${HOOKS}/${hook.id}`, t.adminKey)).statusCode, 204);
    expectError(await callApi(t, "GET", `${HOOKS}/${hook.id}`, t.adminKey), 404, "not_found_error");

    const existing = (await callApi(t, "GET", HOOKS, t.adminKey)).json().items.length;
    for (let i = existing; i < 50; i++)
      await createWebhook(t, { url: `http://127.0.0.1:9/${i}`, events: ["webhook.disabled"] });
    expectError(
      await callApi(t, "POST", HOOKS, t.adminKey, { url: "http://127.0.0.1:9/51", events: ["*"] }),
      409,
      "conflict_error",
    );
  });
});

describe("delivering events", () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  before(async () => {
    // The clock moves only when the test moves it: retries become due by a jump, not by waiting.
    t = await buildTestApp({ env: ALLOW_PRIVATE, frozenClock: true });
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  test("every event arrives signed, across an outage of the endpoint, and redelivery sends it again", async () => {
    const hook = await createWebhook(t, { url: receiver.url, events: ["runtime.*"] });
    await newRuntime(t, "wh-first");
    await settle(t);
    assert.equal(receiver.messages.length, 1);
    const first = receiver.messages[0];
    assert.ok(verifyStandardWebhook(hook.secret, first, nowSeconds(t)), "signature verifies");
    assert.equal(
      verifyStandardWebhook(
        hook.secret,
        { ...first, body: first.body.replace("wh-first", "wh-forged") },
        nowSeconds(t),
      ),
      false,
    );
    assert.equal(first.headers["content-type"], "application/json");
    const payload = JSON.parse(first.body);
    assert.equal(payload.type, "runtime.created");
    assert.equal(payload.org, "default");
    assert.equal(payload.id, first.headers["webhook-id"]);
    assert.equal(typeof payload.seq, "number");
    assert.equal(payload.subject.kind, "runtime");
    assert.match(payload.occurred_at, /Z$/);
    // The same JSON as the events list shows for that event (one presenter for both).
    const listed = await callApi(t, "GET", `${ORG}/events?types=runtime.created&limit=1000`, t.adminKey);
    assert.equal(listed.statusCode, 200, listed.body);
    const same = listed.json().items.find((event: { id: string }) => event.id === payload.id);
    assert.ok(same, "the delivered event is in the events list");
    assert.deepEqual(payload, same);
    assert.equal(payload.workspace, "main");
    assert.equal(typeof payload.workspace_id, "string");

    // The endpoint goes away; changes go on.
    const port = receiver.port;
    await receiver.close();
    await newRuntime(t, "wh-second");
    await newRuntime(t, "wh-third");
    await settle(t);
    const waiting = await deliveries(t, hook.id);
    const pending = waiting.filter((delivery) => delivery.status === "pending");
    assert.equal(pending.length, 2);
    for (const delivery of pending) {
      assert.equal(delivery.attempts, 1);
      assert.match(delivery.last_error ?? "", /ECONNREFUSED/);
    }
    const failing = await callApi(t, "GET", `${HOOKS}/${hook.id}`, t.adminKey);
    assert.notEqual(failing.json().failing_since, null);

    // Back on the same port; the retries come due.
    receiver = await startWebhookReceiver({ port });
    t.advanceClock(2 * HOUR_MS);
    await newRuntime(t, "wh-fourth");
    await settle(t);
    const arrived = receiver.messages.map(
      (message) => JSON.parse(message.body).subject.name ?? JSON.parse(message.body).data.key,
    );
    for (const name of ["wh-second", "wh-third", "wh-fourth"])
      assert.ok(arrived.includes(name), `${name} in ${arrived}`);
    for (const message of receiver.messages)
      assert.ok(verifyStandardWebhook(hook.secret, message, nowSeconds(t)));
    const done = await deliveries(t, hook.id);
    assert.deepEqual(
      done.map((delivery) => delivery.status),
      ["succeeded", "succeeded", "succeeded", "succeeded"],
    );
    assert.equal((await callApi(t, "GET", `${HOOKS}/${hook.id}`, t.adminKey)).json().failing_since, null);
    // Every runtime event since the webhook was made, each arriving at least once.
    const ids = new Set([first, ...receiver.messages].map((message) => message.headers["webhook-id"]));
    assert.equal(ids.size, 4);

    // Redelivery: the same message (same webhook-id) once more, logged as a manual attempt.
    const oldest = done[done.length - 1];
    const redeliver = await callApi(
      t,
      "POST",
      `${HOOKS}/${hook.id}/deliveries/${oldest.id}/redeliver`,
      t.adminKey,
    );
    assert.equal(redeliver.statusCode, 202, redeliver.body);
    assert.equal(redeliver.json().status, "pending");
    const before = receiver.messages.length;
    await settle(t);
    assert.equal(receiver.messages.length, before + 1);
    const again = receiver.messages[receiver.messages.length - 1];
    assert.equal(again.headers["webhook-id"], oldest.event_id);
    assert.ok(verifyStandardWebhook(hook.secret, again, nowSeconds(t)));
    const log = (await deliveries(t, hook.id)).find((delivery) => delivery.id === oldest.id)!;
    assert.equal(log.status, "succeeded");
    assert.deepEqual(
      log.log.map((attempt) => attempt.trigger),
      ["automatic", "manual"],
    );
    expectError(
      await callApi(t, "POST", `${HOOKS}/${hook.id}/deliveries/${hook.id}/redeliver`, t.adminKey),
      404,
      "not_found_error",
    );
  });

  test("sends only the subscribed types, and nothing from before the webhook existed", async () => {
    await newRuntime(t, "wh-before");
    const other = await startWebhookReceiver();
    try {
      const hook = await createWebhook(t, { url: other.url, events: ["secret.changed"] });
      await newRuntime(t, "wh-after");
      const put = await callApi(t, "PUT", `${ORG}/ws/main/secrets/WH_TOKEN`, t.adminKey, {
        value: "s3cret-value",
      });
      assert.ok(put.statusCode === 201, put.body);
      await settle(t);
      assert.equal(other.messages.length, 1);
      const payload = JSON.parse(other.messages[0].body);
      assert.equal(payload.type, "secret.changed");
      assert.equal(other.messages[0].body.includes("s3cret-value"), false);
      assert.ok(verifyStandardWebhook(hook.secret, other.messages[0], nowSeconds(t)));
    } finally {
      await other.close();
    }
  });
});

describe("rotating the secrets master key", () => {
  const OLD_KEY = `before:${randomBytes(32).toString("base64")}`;
  const NEW_KEY = `after:${randomBytes(32).toString("base64")}`;
  let t: TestApp;
  let receiver: WebhookReceiver;
  before(async () => {
    t = await buildTestApp({ env: { ...ALLOW_PRIVATE, CAPSTAN_SECRETS_KEY: OLD_KEY } });
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  test("re-encrypts signing secrets: after a restart with only the new key, deliveries verify with the original secret", async () => {
    const hook = await createWebhook(t, { url: receiver.url, events: ["runtime.*"] });
    const keyIds = async () =>
      (await t.deps.db.selectFrom("webhooks").select("secret_key_id").distinct().execute()).map(
        (row) => row.secret_key_id,
      );
    assert.deepEqual(await keyIds(), ["before"]);

    // A new first key, the old one still listed: rotation moves every value under the new one.
    await t.restart({ CAPSTAN_SECRETS_KEY: `${NEW_KEY},${OLD_KEY}` });
    const rotated = await callApi(t, "POST", "/api/v1/admin/secrets/rotate", t.adminKey);
    assert.equal(rotated.statusCode, 200, rotated.body);
    assert.equal(rotated.json().key_id, "after");
    assert.ok(rotated.json().reencrypted >= 1);
    assert.deepEqual(await keyIds(), ["after"]);

    // The old key dropped: the server boots, and signs with the secret shown at creation.
    await t.restart({ CAPSTAN_SECRETS_KEY: NEW_KEY });
    await newRuntime(t, "after-rotation");
    await settle(t);
    assert.equal(receiver.messages.length, 1);
    const message = receiver.messages[0];
    assert.equal(
      JSON.parse(message.body).subject.name ?? JSON.parse(message.body).data.key,
      "after-rotation",
    );
    assert.ok(verifyStandardWebhook(hook.secret, message, nowSeconds(t)), "signature verifies");
    const [delivery] = await deliveries(t, hook.id);
    assert.equal(delivery.status, "succeeded");
  });
});

describe("a failing endpoint", () => {
  let t: TestApp;
  let broken: WebhookReceiver;
  let watcher: WebhookReceiver;
  before(async () => {
    t = await buildTestApp({ env: ALLOW_PRIVATE, frozenClock: true });
    broken = await startWebhookReceiver({ respond: () => ({ status: 500, body: "x".repeat(3000) }) });
    watcher = await startWebhookReceiver();
  });
  after(async () => {
    await t.close();
    await broken.close();
    await watcher.close();
  });

  test("is logged per attempt, retried for a day, and disabled after 5 days without success", async () => {
    const hook = await createWebhook(t, { url: broken.url, events: ["runtime.*"] });
    const watch = await createWebhook(t, { url: watcher.url, events: ["webhook.disabled"] });
    await newRuntime(t, "wh-doomed");
    await settle(t);
    const [failed] = await deliveries(t, hook.id);
    assert.equal(failed.status, "pending");
    assert.equal(failed.last_status_code, 500);
    assert.equal(failed.log.length, 1);
    assert.equal(failed.log[0].status_code, 500);
    assert.equal(failed.log[0].response, "x".repeat(1024));
    assert.equal(typeof failed.log[0].duration_ms, "number");
    assert.match(failed.log[0].error ?? "", /500/);

    t.advanceClock(5 * DAY_MS + HOUR_MS);
    await newRuntime(t, "wh-later");
    await settle(t);
    const after = await callApi(t, "GET", `${HOOKS}/${hook.id}`, t.adminKey);
    assert.equal(after.json().status, "disabled");
    assert.match(after.json().disabled_reason, /5 days/);
    const log = await deliveries(t, hook.id);
    // The first delivery's day of retries is over; the second waits for the webhook to come back.
    assert.deepEqual(
      log.map((delivery) => delivery.status),
      ["pending", "failed"],
    );

    // The event that says so reaches the webhooks that listen for it.
    assert.equal(watcher.messages.length, 1);
    const event = JSON.parse(watcher.messages[0].body);
    assert.equal(event.type, "webhook.disabled");
    assert.equal(event.subject.id, hook.id);
    assert.ok(verifyStandardWebhook(watch.secret, watcher.messages[0], nowSeconds(t)));

    expectError(
      await callApi(t, "POST", `${HOOKS}/${hook.id}/deliveries/${log[0].id}/redeliver`, t.adminKey),
      409,
      "conflict_error",
    );
    const enabled = await callApi(t, "PATCH", `${HOOKS}/${hook.id}`, t.adminKey, { status: "active" });
    assert.equal(enabled.statusCode, 200, enabled.body);
    assert.equal(enabled.json().failing_since, null);
    assert.equal(enabled.json().disabled_reason, null);
  });
});

describe("a slow endpoint", () => {
  let t: TestApp;
  let slow: WebhookReceiver;
  let fast: WebhookReceiver;
  before(async () => {
    t = await buildTestApp({ env: ALLOW_PRIVATE });
    slow = await startWebhookReceiver({ respond: () => null });
    fast = await startWebhookReceiver();
  });
  after(async () => {
    await t.close();
    await slow.close();
    await fast.close();
  });

  test("delays neither another endpoint's deliveries nor API requests", async () => {
    await createWebhook(t, { url: slow.url, events: ["runtime.*"] });
    await createWebhook(t, { url: fast.url, events: ["runtime.*"] });
    for (let i = 0; i < 5; i++) await newRuntime(t, `wh-slow-${i}`);
    await fast.waitFor(5);
    await slow.waitFor(1);
    // At most 4 requests at a time per endpoint: the slow one holds its first ones, not all 5.
    assert.ok(slow.messages.length >= 1 && slow.messages.length <= 4, `${slow.messages.length} in flight`);
    const list = await callApi(t, "GET", HOOKS, t.adminKey);
    assert.equal(list.statusCode, 200);
    await newRuntime(t, "wh-slow-5");
    await fast.waitFor(6);
  });
});

describe("one org's hanging endpoints", () => {
  test("take at most their org's share of the delivery slots, so another org's deliveries go on", async () => {
    // Two slots in all, so an org's share is one: without the share, the default org's two hanging
    // webhooks would hold both and the other org's delivery would wait for their timeouts.
    const t = await buildTestApp({ env: ALLOW_PRIVATE, services: { webhookDispatch: { maxInFlight: 2 } } });
    const slow = await startWebhookReceiver({ respond: () => null });
    const fast = await startWebhookReceiver();
    try {
      await createWebhook(t, { url: slow.url, events: ["runtime.*"] });
      await createWebhook(t, { url: `${slow.url}?second`, events: ["runtime.*"] });
      const org = await callApi(t, "POST", "/api/v1/orgs", t.adminKey, { key: "fair", name: "Fair" });
      assert.equal(org.statusCode, 201, org.body);
      const hook = await callApi(t, "POST", "/api/v1/org/fair/webhooks", t.adminKey, {
        url: fast.url,
        events: ["org.*"],
      });
      assert.equal(hook.statusCode, 201, hook.body);
      await newRuntime(t, "wh-fair-1");
      await slow.waitFor(1);
      const policy = await callApi(t, "PUT", "/api/v1/org/fair/policy", t.adminKey, {
        block_severity: "medium",
      });
      assert.equal(policy.statusCode, 200, policy.body);
      await fast.waitFor(1);
      assert.equal(JSON.parse(fast.messages[0].body).type, "org.policy.updated");
      assert.equal(slow.messages.length, 1, "only one of the default org's webhooks is being sent to");
    } finally {
      await t.close();
      await slow.close();
      await fast.close();
    }
  });
});

describe("an endpoint that does not answer", () => {
  test("trips its worker: one attempt times out, the rest of the batch waits for its retry, the slot is freed", async () => {
    const t = await buildTestApp({
      env: ALLOW_PRIVATE,
      services: { webhookDispatch: { timeoutMs: 300, perEndpoint: 1 } },
    });
    const hanging = await startWebhookReceiver({ respond: () => null });
    try {
      const hook = await createWebhook(t, { url: hanging.url, events: ["runtime.created"] });
      // The app's dispatcher stops, so that the six events are claimed together by one of the
      // test's own: one worker, one batch.
      await t.app.services.webhookDispatcher.close();
      for (let i = 0; i < 6; i++) await newRuntime(t, `wh-down-${i}`);
      const policy = { allowPrivate: true, resolve: systemResolve };
      const dispatcher = new WebhookDispatcher(t.deps, t.app.services.secrets, policy, {
        timeoutMs: 300,
        perEndpoint: 1,
      });
      try {
        await dispatcher.settle();
      } finally {
        await dispatcher.close();
      }
      // Without the breaker, settle would send all six, one timeout each.
      assert.equal(hanging.messages.length, 1, "one request, not one per delivery");
      const all = await deliveries(t, hook.id);
      assert.equal(all.length, 6);
      const tried = all.filter((delivery) => delivery.attempts === 1);
      assert.equal(tried.length, 1);
      assert.match(tried[0].last_error ?? "", /time|answer/i);
      const waiting = all.filter((delivery) => delivery.attempts === 0);
      assert.equal(waiting.length, 5);
      for (const delivery of waiting) {
        assert.equal(delivery.status, "pending");
        assert.ok(
          (delivery.next_attempt_at ?? "") >= (tried[0].next_attempt_at ?? "~"),
          `${delivery.next_attempt_at} waits for ${tried[0].next_attempt_at}`,
        );
      }
    } finally {
      await t.close();
      await hanging.close();
    }
  });
});

describe("SSRF protection", () => {
  test("refuses loopback, private, link-local and metadata targets at registration", async () => {
    const t = await buildTestApp();
    try {
      for (const url of [
        "http://127.0.0.1/",
        "http://localhost:8080/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/",
        "https://192.168.0.10/",
        "http://172.20.0.1/",
        "http://100.64.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
      ]) {
        const res = await callApi(t, "POST", HOOKS, t.adminKey, { url, events: ["*"] });
        expectError(res, 422, "validation_error", ["body", "url"]);
      }
    } finally {
      await t.close();
    }
  });

  test("checks the address actually connected to (DNS rebinding)", async () => {
    const receiver = await startWebhookReceiver();
    let lookups = 0;
    // The first answer (at registration) is public; every later one points at loopback.
    const t = await buildTestApp({
      services: {
        webhookResolve: async () => {
          lookups++;
          return [
            lookups === 1 ? { address: "93.184.216.34", family: 4 } : { address: "127.0.0.1", family: 4 },
          ];
        },
      },
    });
    try {
      const hook = await createWebhook(t, {
        url: `http://rebind.example.test:${receiver.port}/hook`,
        events: ["runtime.*"],
      });
      await newRuntime(t, "wh-rebound");
      await settle(t);
      assert.equal(receiver.messages.length, 0);
      const [delivery] = await deliveries(t, hook.id);
      assert.equal(delivery.status, "pending");
      assert.match(delivery.last_error ?? "", /127\.0\.0\.1.*loopback/);
      assert.ok(lookups >= 2);
    } finally {
      await t.close();
      await receiver.close();
    }
  });

  test("judges IPv4-mapped IPv6 addresses by the IPv4 address they carry", () => {
    assert.match(forbiddenAddressReason("::ffff:10.0.0.1") ?? "", /private/);
    assert.match(forbiddenAddressReason("::ffff:169.254.169.254") ?? "", /link-local/);
    assert.equal(forbiddenAddressReason("::ffff:93.184.216.34"), null);
    assert.equal(forbiddenAddressReason("2606:4700:4700::1111"), null);
    // IPv4 carried in IPv6 in every spelling: compatible, mapped in hex, translated, Teredo.
    assert.match(forbiddenAddressReason("::7f00:1") ?? "", /IPv4-compatible/);
    assert.match(forbiddenAddressReason("::127.0.0.1") ?? "", /IPv4-compatible/);
    assert.match(forbiddenAddressReason("::ffff:7f00:1") ?? "", /loopback/);
    assert.match(forbiddenAddressReason("0:0:0:0:0:ffff:a00:1") ?? "", /private/);
    assert.equal(forbiddenAddressReason("::ffff:5db8:d822"), null);
    assert.match(forbiddenAddressReason("::ffff:0:7f00:1") ?? "", /IPv4-translated/);
    assert.match(forbiddenAddressReason("2001:0:4136:e378:8000:63bf:3fff:fdd2") ?? "", /Teredo/);
    assert.equal(forbiddenAddressReason("93.184.216.34"), null);
    assert.match(forbiddenAddressReason("fd00:ec2::254") ?? "", /unique-local/);
  });
});

test("a signing secret that reaches a log line is masked", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const line = redactLine(JSON.stringify({ msg: `oops ${secret}` }));
  assert.equal(line.includes(secret.slice(6)), false);
  assert.match(line, /whsec_\[REDACTED\]/);
});
