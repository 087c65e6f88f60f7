// The webhooks screen (SPEC §10, §15): an owner registers an endpoint on 127.0.0.1, copies the
// secret shown once, sees the delivery of an event with its status and duration, redelivers it and
// deletes the webhook. Debian's Chromium against a real server process.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import {
  type ConsoleServer,
  ensureConsoleBuilt,
  launchChromium,
  startConsoleServer,
} from "../helpers/console.js";
import { expectAccessible, newPage, screenshot, signIn } from "../helpers/console-page.js";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.js";

declare const navigator: { clipboard: { readText(): Promise<string> } };

let server: ConsoleServer;
let browser: Browser;
let receiver: WebhookReceiver;
const problems: string[] = [];
const screens = mkdtempSync(path.join(tmpdir(), "capstan-webhook-screens-"));

describe("the webhooks screen in Chromium", () => {
  before(async () => {
    ensureConsoleBuilt();
    server = await startConsoleServer({ CAPSTAN_WEBHOOK_ALLOW_PRIVATE: "true" });
    receiver = await startWebhookReceiver();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await receiver?.close();
    assert.deepEqual(problems, [], "no CSP report and no page error");
  });

  test("register (secret shown once), see a delivery, redeliver it, delete the webhook", async () => {
    const { page, context } = await newPage(browser, problems);
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await signIn(page, server.url, server.adminKey, "/orgs/default/settings?section=webhooks");
    await page.getByRole("heading", { name: "Webhooks" }).waitFor();
    console.log(`# webhook screenshots: ${screens}`);
    await screenshot(page, screens, "webhooks-empty");

    // A pattern that names no event type: the envelope's message under the field.
    await page.fill("#webhook-url", receiver.url);
    await page.fill("#webhook-events", "runtimes.*");
    await page.getByRole("button", { name: "Register webhook" }).click();
    await page.locator("#webhook-events-error").waitFor();
    await screenshot(page, screens, "webhooks-invalid");

    await page.fill("#webhook-events", "runtime.*");
    await page.getByRole("button", { name: "Register webhook" }).click();
    const secret = await page.getByTestId("new-webhook-secret").textContent();
    assert.match(secret ?? "", /^whsec_/);
    await page.getByRole("button", { name: "Copy the secret" }).click();
    await page.getByRole("button", { name: "Copy the secret" }).filter({ hasText: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await expectAccessible(page, "webhooks");
    await screenshot(page, screens, "webhooks-secret");
    await page.getByRole("button", { name: "I have stored it" }).click();
    assert.equal(await page.getByTestId("new-webhook").count(), 0);

    const created = await server.call("POST", "/api/v1/org/default/ws/main/runtimes", server.adminKey, {
      key: "hooked",
      name: "Hooked",
    });
    assert.equal(created.status, 201);
    await receiver.waitFor(1);

    const row = page.locator(`[data-webhook="${receiver.url}"]`);
    await row.getByRole("link", { name: /Deliveries/ }).click();
    await page.waitForURL((url) => url.searchParams.get("webhook") !== null);
    const delivery = page.locator('[data-delivery="runtime.created"]');
    await delivery.getByText("succeeded").waitFor();
    await delivery
      .getByText(/HTTP 204/)
      .first()
      .waitFor();
    await expectAccessible(page, "webhook deliveries");
    await screenshot(page, screens, "webhook-deliveries");

    await delivery.getByRole("button", { name: /Redeliver/ }).click();
    await receiver.waitFor(2);
    assert.equal(receiver.messages[1].headers["webhook-id"], receiver.messages[0].headers["webhook-id"]);
    // The message arrives before its sender records the attempt: wait (bounded) for the record,
    // else Refresh can read the delivery as it was.
    const webhookId = new URL(page.url()).searchParams.get("webhook");
    const deadline = Date.now() + 15_000;
    for (;;) {
      const log = await server.call(
        "GET",
        `/api/v1/org/default/webhooks/${webhookId}/deliveries`,
        server.adminKey,
      );
      assert.equal(log.status, 200);
      if (log.body.items[0]?.attempts === 2 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await page.getByRole("button", { name: "Refresh" }).click();
    await delivery.getByText("2 attempts").waitFor();

    await row.getByRole("button", { name: /Delete/ }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete webhook" }).click();
    await row.waitFor({ state: "detached" });
    await page.getByText("No webhooks").waitFor();
  });
});
