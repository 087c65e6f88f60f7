// `capstan webhook list|create|delete|deliveries|redeliver` (SPEC §15, §16) against the real app on
// a port, with an endpoint on 127.0.0.1: the secret printed once, the delivery log, a redelivery.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi } from "../helpers/api.js";
import type { TestApp } from "../helpers/test-app.js";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.js";
import { type CliRun, runCli } from "./helpers/cli-harness.js";
import { type LiveApp, startLiveApp } from "./helpers/live-app.js";

describe("capstan webhook", () => {
  let live: LiveApp;
  let t: TestApp;
  let receiver: WebhookReceiver;
  const cli = (...argv: string[]): Promise<CliRun> => runCli(argv, { cwd: live.scratch, env: live.env });

  before(async () => {
    live = await startLiveApp({ CAPSTAN_WEBHOOK_ALLOW_PRIVATE: "true" });
    t = live.t;
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await live.close();
    await receiver.close();
  });

  test("create prints the secret alone; deliveries, redeliver, list and delete work", async () => {
    const created = await cli(
      "webhook",
      "create",
      receiver.url,
      "--events",
      "runtime.*,binding.*",
      "--description",
      "ci",
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout.trim(), /^whsec_[A-Za-z0-9+/]+=*$/);
    const list = await cli("webhook", "list", "--json");
    assert.equal(list.code, 0, list.stderr);
    const [hook] = JSON.parse(list.stdout).items;
    assert.deepEqual(hook.events, ["runtime.*", "binding.*"]);
    assert.equal(list.stdout.includes(created.stdout.trim()), false);

    const runtime = await callApi(t, "POST", "/api/v1/org/default/ws/main/runtimes", t.adminKey, {
      key: "cli-hooked",
      name: "x",
    });
    assert.equal(runtime.statusCode, 201);
    await t.app.services.webhookDispatcher.settle();
    assert.equal(receiver.messages.length, 1);

    const table = await cli("webhook", "deliveries", hook.id);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /runtime\.created\s+succeeded\s+1/);
    const log = JSON.parse((await cli("webhook", "deliveries", hook.id, "--json")).stdout);
    const again = await cli("webhook", "redeliver", hook.id, log.items[0].id);
    assert.equal(again.code, 0, again.stderr);
    await t.app.services.webhookDispatcher.settle();
    assert.equal(receiver.messages.length, 2);

    assert.equal((await cli("webhook", "deliveries", hook.id, "--status", "nope")).code, 1);
    const refused = await cli("webhook", "create", "http://127.0.0.1/", "--events", "runtimes.*");
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /runtimes\.\*/);

    const deleted = await cli("webhook", "delete", hook.id, "--yes");
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(JSON.parse((await cli("webhook", "list", "--json")).stdout).items, []);
  });
});
