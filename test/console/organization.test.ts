// The organization screens and what a reader sees (SPEC §10, §3; issue #16): Debian's Chromium
// against a real server process; the key made in the console is tried with curl, outside the
// browser. One server and one browser for the file.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import {
  type ConsoleServer,
  EXAMPLES,
  ensureConsoleBuilt,
  launchChromium,
  startConsoleServer,
} from "../helpers/console.js";
import { expectAccessible, newPage, screenshot, signIn } from "../helpers/console-page.js";

declare const navigator: { clipboard: { readText(): Promise<string> } };

let server: ConsoleServer;
let browser: Browser;
let runtimeId: string;
const screens = mkdtempSync(path.join(tmpdir(), "capstan-org-screens-"));
const problems: string[] = [];

/** A real HTTP request from another process: the HTTP status curl got. */
function curlStatus(url: string, key: string): number {
  const out = execFileSync(
    "curl",
    ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Authorization: Bearer ${key}`, url],
    {
      encoding: "utf8",
    },
  );
  return Number(out);
}

describe("the organization screens in Chromium", () => {
  before(async () => {
    ensureConsoleBuilt();
    server = await startConsoleServer();
    await server.publish(path.join(EXAMPLES, "hello-recon"), server.adminKey);
    await server.publish(path.join(EXAMPLES, "flag-gated"), server.adminKey);
    const runtimes = await server.call("GET", "/api/v1/org/default/ws/main/runtimes", server.adminKey);
    runtimeId = runtimes.body.items[0].id;
    const bound = await server.call(
      "POST",
      `/api/v1/org/default/ws/main/runtimes/${runtimeId}/capabilities`,
      server.adminKey,
      { name: "hello-recon" },
    );
    assert.equal(bound.status, 201);
    const gated = await server.call(
      "POST",
      `/api/v1/org/default/ws/main/runtimes/${runtimeId}/capabilities`,
      server.adminKey,
      { name: "flag-gated" },
    );
    assert.equal(gated.status, 201);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    console.log(`# organization screenshots: ${screens}`);
    assert.deepEqual(problems, [], "no CSP report and no page error");
  });

  test("an owner adds a reader, who sees no mutating control and whom the API refuses anyway", async () => {
    const owner = await newPage(browser, problems);
    await signIn(owner.page, server.url, server.adminKey, "/orgs/default/settings");
    await owner.page.locator("[data-member]").first().waitFor();
    await expectAccessible(owner.page, "members");
    await screenshot(owner.page, screens, "members");

    // Adding twice: the envelope's 409 next to the form.
    await owner.page.fill("#member-email", "rowan@example.test");
    await owner.page.selectOption("#member-role", "reader");
    await owner.page.getByRole("button", { name: "Add member" }).click();
    const row = owner.page.locator('[data-member="rowan@example.test"]');
    await row.waitFor();
    assert.equal(await row.getByTestId("member-role").inputValue(), "reader");
    await owner.page.fill("#member-email", "rowan@example.test");
    await owner.page.getByRole("button", { name: "Add member" }).click();
    await owner.page.getByRole("form", { name: "Add a member" }).getByTestId("error-detail").waitFor();

    // The last owner cannot step down: said in words, and nothing changed.
    const self = owner.page.locator('[data-member="admin@localhost"]');
    await self.getByTestId("member-role").selectOption("reader");
    await self
      .getByTestId("error-detail")
      .filter({ hasText: /last owner/ })
      .waitFor();
    const members = await server.call("GET", "/api/v1/org/default/members", server.adminKey);
    assert.equal(members.body.filter((m: { role: string }) => m.role === "owner").length, 1);

    // The instance admin gives the new reader a key (owners never can, SPEC §3).
    const rowan = members.body.find((m: { email: string }) => m.email === "rowan@example.test");
    const minted = await server.call(
      "POST",
      `/api/v1/admin/users/${rowan.user_id}/api-keys`,
      server.adminKey,
      {
        name: "rowan",
      },
    );
    const readerKey = minted.body.key as string;

    const reader = await newPage(browser, problems);
    await signIn(reader.page, server.url, readerKey, `/orgs/default/ws/main/runtimes/${runtimeId}`);
    await reader.page.locator('[data-testid="runtime-page"][data-can-write="false"]').waitFor();
    await reader.page.locator('[data-binding="hello-recon"]').waitFor();
    await reader.page.getByTestId("read-only-note").waitFor();
    for (const name of ["Add capability", "Remove", "Upgrade…", "Version…"]) {
      assert.equal(await reader.page.getByRole("button", { name }).count(), 0, `no ${name} for a reader`);
    }
    assert.equal(await reader.page.getByTestId("enabled-switch").count(), 0);
    assert.equal(await reader.page.getByRole("link", { name: "Organization" }).count(), 0);
    await reader.page.locator('[data-binding="flag-gated"]').getByRole("button", { name: "Flags" }).click();
    await reader.page.getByTestId("flag-editor").waitFor();
    assert.equal(await reader.page.locator('[data-testid="flag-editor"] select').count(), 0);
    await expectAccessible(reader.page, "runtime page (reader)");
    await screenshot(reader.page, screens, "runtime-reader");

    const bindings = await server.call(
      "GET",
      `/api/v1/org/default/ws/main/runtimes/${runtimeId}/capabilities`,
      readerKey,
    );
    const refused = await server.call(
      "PATCH",
      `/api/v1/org/default/ws/main/runtimes/${runtimeId}/capabilities/${bindings.body.items[0].id}`,
      readerKey,
      { enabled: false },
    );
    assert.equal(refused.status, 403);
    assert.equal(refused.body.type, "forbidden_error");
    await reader.context.close();
    await owner.context.close();
  });

  test("a key made in the console works with curl once shown, and stops after revoke", async () => {
    const { context, page } = await newPage(browser, problems);
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await signIn(page, server.url, server.adminKey, "/orgs/default/settings?section=keys");
    await page.fill("#key-name", "ci deploy");
    await page.fill("#key-days", "7");
    await page.check("#key-read-only");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = (await page.getByTestId("new-key-secret").textContent()) ?? "";
    assert.match(secret, /^cst_[a-z2-7]{12}_[A-Za-z0-9]{32,128}$/);
    await page.getByRole("button", { name: "Copy the key" }).click();
    await page.getByRole("button", { name: "Copy the key" }).filter({ hasText: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await page.locator('[data-key="ci deploy"]').getByText("read-only").waitFor();
    await expectAccessible(page, "API keys");
    await screenshot(page, screens, "keys");

    assert.equal(curlStatus(`${server.url}/api/v1/user/me`, secret), 200);
    // Read-only: a write with it is refused.
    const write = await server.call("POST", "/api/v1/org/default/ws", secret, { key: "nope", name: "Nope" });
    assert.equal(write.status, 403);

    // Shown once: a reload no longer has it.
    await page.reload();
    await page.locator('[data-key="ci deploy"]').waitFor();
    assert.equal(await page.getByTestId("new-key-secret").count(), 0);

    await page.getByRole("button", { name: "Revoke ci deploy" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
    await page.locator('[data-key="ci deploy"]').waitFor({ state: "detached" });
    assert.equal(curlStatus(`${server.url}/api/v1/user/me`, secret), 401);
    await context.close();
  });

  test("the audit log filters by actor, action and time, pages, and expands a record", async () => {
    const { context, page } = await newPage(browser, problems);
    await signIn(page, server.url, server.adminKey, "/orgs/default/settings?section=audit");
    await page.getByTestId("audit").waitFor();
    await expectAccessible(page, "audit log");
    await screenshot(page, screens, "audit");

    await page.fill("#audit-action", "member.");
    await page.press("#audit-action", "Enter");
    await page.waitForURL((url) => url.searchParams.get("action") === "member.");
    await page.waitForFunction(() => {
      const rows = Array.from(
        (
          globalThis as unknown as {
            document: { querySelectorAll(s: string): ArrayLike<{ getAttribute(n: string): string | null }> };
          }
        ).document.querySelectorAll("[data-action]"),
      );
      return (
        rows.length > 0 && rows.every((r) => (r.getAttribute("data-action") ?? "").startsWith("member."))
      );
    });
    const first = page.locator("[data-action]").first();
    await first.getByRole("button").click();
    const record = JSON.parse((await page.getByTestId("audit-record").textContent()) ?? "{}");
    assert.equal(record.action, "member.added");
    assert.equal(record.data.email, "rowan@example.test");

    // An actor with no events, then a window in the future: empty states.
    await page.selectOption("#audit-actor", { label: "rowan@example.test" });
    await page.getByText("No audit event matches").waitFor();
    await page.selectOption("#audit-actor", "");
    await page.fill("#audit-since", "2999-01-01T00:00");
    await page.getByText("No audit event matches").waitFor();
    await page.fill("#audit-since", "");
    await page.fill("#audit-action", "");
    await page.press("#audit-action", "Enter");

    // Paging: more events than one page (25) after a burst of changes.
    for (let i = 0; i < 26; i++) {
      await server.call("POST", `/api/v1/org/default/ws/main/runtimes`, server.adminKey, {
        key: `burst-${i}`,
        name: `Burst ${i}`,
      });
    }
    await page.reload();
    await page.getByTestId("audit").waitFor();
    const shown = await page.locator("[data-action]").count();
    assert.equal(shown, 25);
    await page.getByRole("button", { name: "Older events" }).click();
    await page.waitForFunction((n) => {
      const d = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<unknown> } })
        .document;
      return d.querySelectorAll("[data-action]").length > n;
    }, shown);
    await context.close();
  });
});
