// The runtime page end to end (SPEC §10, §7; issue #16): Debian's Chromium against a real server
// process. After each change made on the screen, the API's §7.1 list and resolved set must say
// exactly what the screen says. One server and one browser for the file.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { stringify } from "yaml";
import {
  type ConsoleServer,
  EXAMPLES,
  ensureConsoleBuilt,
  launchChromium,
  startConsoleServer,
} from "../helpers/console.js";
import { expectAccessible, newPage, screenshot, signIn } from "../helpers/console-page.js";

interface DomNode {
  getAttribute(name: string): string | null;
  querySelector(selector: string): { textContent: string | null } | null;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<DomNode> };

interface ScreenBinding {
  name: string;
  version: string;
  enabled: boolean;
  overrides: string;
}

let server: ConsoleServer;
let browser: Browser;
let runtimeId: string;
let pagePath: string;
const apiBase = () => `/api/v1/org/default/ws/main/runtimes/${runtimeId}`;
const screens = mkdtempSync(path.join(tmpdir(), "capstan-runtime-screens-"));
const problems: string[] = [];

/** What the screen shows for each binding, read from the rows. */
async function screenBindings(page: Page): Promise<ScreenBinding[]> {
  return page.locator("[data-binding]").evaluateAll((nodes) =>
    (nodes as unknown as DomNode[]).map((node) => ({
      name: node.getAttribute("data-binding") ?? "",
      version: node.getAttribute("data-version") ?? "",
      enabled: node.getAttribute("data-enabled") === "true",
      overrides: node.querySelector('[data-testid="overrides"]')?.textContent ?? "",
    })),
  );
}

/** The §7.1 list and the resolved set, in the screen's terms. */
async function apiState(): Promise<{
  bindings: ScreenBinding[];
  effective: Record<string, Record<string, boolean>>;
}> {
  const list = await server.call("GET", `${apiBase()}/capabilities`, server.adminKey);
  const resolved = await server.call("GET", `${apiBase()}/capabilities/resolved`, server.adminKey);
  assert.equal(list.status, 200);
  assert.equal(resolved.status, 200);
  const bindings = list.body.items.map(
    (b: { capability_name: string; version: string; enabled: boolean; flags: Record<string, boolean> }) => ({
      name: b.capability_name,
      version: b.version,
      enabled: b.enabled,
      overrides: Object.keys(b.flags)
        .sort()
        .map((k) => `${k}=${b.flags[k]}`)
        .join(", "),
    }),
  );
  const effective: Record<string, Record<string, boolean>> = {};
  for (const cap of resolved.body.capabilities) effective[cap.name] = cap.effective_flags;
  return { bindings, effective };
}

/** The flag editor's effective column of `name` (it must be open). */
async function screenEffective(page: Page, name: string): Promise<Record<string, boolean>> {
  const rows = page.locator(`[data-binding="${name}"] [data-testid="flag-editor"] tr[data-flag]`);
  await rows.first().waitFor();
  const pairs = await rows.evaluateAll((nodes) =>
    (nodes as unknown as DomNode[]).map((n) => [
      n.getAttribute("data-flag"),
      n.getAttribute("data-effective"),
    ]),
  );
  return Object.fromEntries(pairs.map(([flag, on]) => [flag, on === "true"]));
}

async function expectScreenMatchesApi(page: Page, flagsOf?: string): Promise<void> {
  const api = await apiState();
  assert.deepEqual(await screenBindings(page), api.bindings, "the §7.1 list says what the screen says");
  if (flagsOf)
    assert.deepEqual(await screenEffective(page, flagsOf), api.effective[flagsOf], "effective flags");
}

const waitForRow = (page: Page, name: string, attribute: string, value: string) =>
  page.locator(`[data-binding="${name}"][${attribute}="${value}"]`).waitFor();

async function addFromCatalog(page: Page, name: string): Promise<void> {
  await page.getByRole("button", { name: "Add capability" }).click();
  await page.getByTestId("add-search").fill(name);
  await page.locator(`[data-choose="${name}"]`).click();
  await page
    .getByTestId("add-version")
    .locator("option", { hasText: "active" })
    .first()
    .waitFor({ state: "attached" });
  await page.getByRole("button", { name: "Add to the runtime" }).click();
  await page.locator(`[data-binding="${name}"]`).waitFor();
}

describe("the runtime page in Chromium", () => {
  before(async () => {
    ensureConsoleBuilt();
    server = await startConsoleServer();
    for (const name of ["hello-recon", "flag-gated", "explicit-lists"]) {
      await server.publish(path.join(EXAMPLES, name), server.adminKey);
    }
    const runtimes = await server.call("GET", "/api/v1/org/default/ws/main/runtimes", server.adminKey);
    runtimeId = runtimes.body.items[0].id;
    pagePath = `/orgs/default/ws/main/runtimes/${runtimeId}`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    console.log(`# runtime page screenshots: ${screens}`);
    assert.deepEqual(problems, [], "no CSP report and no page error");
  });

  test("installs from the catalog, toggles, sets and clears flags; the API agrees after each step", async () => {
    const { context, page } = await newPage(browser, problems);
    await signIn(page, server.url, server.adminKey, pagePath);
    await page.getByTestId("runtime-page").waitFor();
    await page.getByText("No capabilities on this runtime").waitFor();
    await expectAccessible(page, "runtime page (empty)");

    await addFromCatalog(page, "hello-recon");
    await expectAccessible(page, "runtime page");
    await addFromCatalog(page, "flag-gated");
    await expectScreenMatchesApi(page);

    const helloSwitch = page.locator('[data-binding="hello-recon"] [data-testid="enabled-switch"]');
    await helloSwitch.click();
    await waitForRow(page, "hello-recon", "data-enabled", "false");
    await waitForRow(page, "hello-recon", "data-revision", "2");
    await expectScreenMatchesApi(page);
    await helloSwitch.press("Space"); // by keyboard
    await waitForRow(page, "hello-recon", "data-revision", "3");
    await waitForRow(page, "hello-recon", "data-enabled", "true");
    await expectScreenMatchesApi(page);

    const row = page.locator('[data-binding="flag-gated"]');
    await row.getByRole("button", { name: "Flags" }).click();
    await row.getByTestId("flag-editor").waitFor();
    await expectAccessible(page, "flag editor");
    await expectScreenMatchesApi(page, "flag-gated");

    const steps: [string, string, string][] = [
      ["readonly", "off", "readonly=false"],
      ["burp", "on", "burp=true, readonly=false"],
      ["burp", "default", "readonly=false"],
    ];
    let revision = 1;
    for (const [flag, value, overrides] of steps) {
      await row.locator(`tr[data-flag="${flag}"] select`).selectOption(value);
      revision += 1;
      await waitForRow(page, "flag-gated", "data-revision", String(revision));
      const shown = (await row.getByTestId("overrides").count())
        ? await row.getByTestId("overrides").textContent()
        : "";
      assert.equal(shown, overrides);
      await expectScreenMatchesApi(page, "flag-gated");
    }
    await screenshot(page, screens, "runtime-page");

    // The resolved set on screen is the API's.
    await page.getByRole("link", { name: "Resolved set" }).click();
    await page.getByTestId("resolved").waitFor();
    const resolved = await server.call("GET", `${apiBase()}/capabilities/resolved`, server.adminKey);
    assert.equal(await page.getByTestId("runtime-digest").textContent(), resolved.body.runtime_digest);
    await expectAccessible(page, "resolved set");
    await screenshot(page, screens, "runtime-resolved");
    await context.close();
  });

  test("a newer version with a flag removed and an MCP server added: badge, preview, upgrade", async () => {
    await server.publish(path.join(EXAMPLES, "flag-gated"), server.adminKey, (files) => {
      const manifest = files
        .get("capability.yaml")!
        .toString()
        .replace(/version: .*/, 'version: "1.3.0"')
        .replace(/ {2}readonly:\n {4}description: Hide mutating tools\n {4}default: true\n/, "")
        .replace(
          / {2}servers:\n/,
          '  servers:\n    audit-log:\n      command: node\n      args: ["audit.js"]\n',
        );
      files.set("capability.yaml", Buffer.from(manifest));
    });
    const { context, page } = await newPage(browser, problems);
    await signIn(page, server.url, server.adminKey, pagePath);
    const row = page.locator('[data-binding="flag-gated"]');
    await row.getByTestId("update-badge").filter({ hasText: "1.3.0" }).waitFor();
    await row.getByRole("button", { name: "Upgrade…" }).click();
    const preview = page.getByTestId("upgrade-preview");
    await page.locator('[data-testid="upgrade-preview"][data-to="1.3.0"]').waitFor();
    assert.match((await preview.getByTestId("preview-flags-removed").textContent()) ?? "", /readonly/);
    assert.match((await preview.getByTestId("preview-dropped-overrides").textContent()) ?? "", /readonly/);
    assert.match(
      (await preview.getByTestId("preview-components-added").textContent()) ?? "",
      /mcp_server audit-log/,
    );
    await expectAccessible(page, "upgrade dialog");
    await screenshot(page, screens, "upgrade-dialog");
    await page.getByRole("button", { name: "Change to 1.3.0" }).click();
    await waitForRow(page, "flag-gated", "data-version", "1.3.0");
    // The server's answer (a new revision) replaces the optimistic row.
    await row.getByTestId("update-badge").waitFor({ state: "detached" });
    await waitForRow(page, "flag-gated", "data-revision", "5");
    await expectScreenMatchesApi(page);
    const binding = (await apiState()).bindings.find((b) => b.name === "flag-gated");
    assert.deepEqual(binding, { name: "flag-gated", version: "1.3.0", enabled: true, overrides: "" });
    await context.close();
  });

  test("two people edit the same binding: the second sees the conflict, who did it, and re-applies", async () => {
    const first = await newPage(browser, problems);
    const second = await newPage(browser, problems);
    await signIn(first.page, server.url, server.adminKey, pagePath);
    await signIn(second.page, server.url, server.adminKey, pagePath);
    await second.page.locator('[data-binding="flag-gated"]').waitFor();

    // The first sets burp on; the second still shows the older revision.
    const firstRow = first.page.locator('[data-binding="flag-gated"]');
    await firstRow.getByRole("button", { name: "Flags" }).click();
    const before = Number(await firstRow.getAttribute("data-revision"));
    await firstRow.locator('tr[data-flag="burp"] select').selectOption("on");
    await waitForRow(first.page, "flag-gated", "data-revision", String(before + 1));

    const secondRow = second.page.locator('[data-binding="flag-gated"]');
    assert.equal(await secondRow.getAttribute("data-revision"), String(before));
    await secondRow.getByTestId("enabled-switch").click();
    const conflict = second.page.getByTestId("conflict");
    await conflict.waitFor();
    await conflict.getByTestId("conflict-who").filter({ hasText: "runtime.capability.updated" }).waitFor();
    assert.equal(await conflict.getByTestId("conflict-now-overrides").textContent(), "burp=true");
    // Rolled back: the row shows the current state, not the optimistic one.
    await waitForRow(second.page, "flag-gated", "data-enabled", "true");
    await expectAccessible(second.page, "conflict dialog");
    await conflict.getByRole("button", { name: "Re-apply my change" }).click();
    await waitForRow(second.page, "flag-gated", "data-enabled", "false");
    await waitForRow(second.page, "flag-gated", "data-revision", String(before + 2));
    const binding = (await apiState()).bindings.find((b) => b.name === "flag-gated");
    assert.deepEqual(binding, {
      name: "flag-gated",
      version: "1.3.0",
      enabled: false,
      overrides: "burp=true",
    });
    await expectScreenMatchesApi(second.page);
    await first.context.close();
    await second.context.close();
  });

  test("config: a YAML that removes one binding and adds another shows both in the plan, then applies", async () => {
    const { context, page } = await newPage(browser, problems);
    await signIn(page, server.url, server.adminKey, `${pagePath}?tab=config`);
    const textarea = page.locator("#config-yaml");
    await textarea.waitFor();
    assert.match(await textarea.inputValue(), /hello-recon/);
    const current = await server.call("GET", `${apiBase()}/config`, server.adminKey);
    const config = {
      ...current.body.config,
      capabilities: [
        { name: "explicit-lists", version: "2.0.3", enabled: true },
        { name: "flag-gated", version: "1.3.0", enabled: false },
      ],
    };
    await textarea.fill(stringify(config));
    await page.getByRole("button", { name: "Preview the plan" }).click();
    const plan = page.getByTestId("config-plan");
    await plan.waitFor();
    assert.equal(await plan.locator('[data-plan="install"][data-name="explicit-lists"]').count(), 1);
    assert.equal(await plan.locator('[data-plan="remove"][data-name="hello-recon"]').count(), 1);
    assert.equal(await plan.locator("[data-plan]").count(), 2);
    // The dry run changed nothing.
    assert.deepEqual(
      (await apiState()).bindings.map((b) => b.name),
      ["flag-gated", "hello-recon"],
    );
    await expectAccessible(page, "config tab");
    await screenshot(page, screens, "runtime-config");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByTestId("config-applied").waitFor();
    assert.deepEqual(
      (await apiState()).bindings.map((b) => [b.name, b.version]),
      [
        ["explicit-lists", "2.0.3"],
        ["flag-gated", "1.3.0"],
      ],
    );

    // A YAML syntax error is shown next to the editor; nothing is sent.
    await textarea.fill("capabilities: [unclosed");
    await page.getByRole("button", { name: "Preview the plan" }).click();
    await page.locator("#config-yaml-error").waitFor();

    // The runtime reports it applied the current set (SPEC §12); the runtimes list says "in sync".
    const resolved = await server.call("GET", `${apiBase()}/capabilities/resolved`, server.adminKey);
    const reported = await server.call("PUT", `${apiBase()}/status`, server.adminKey, {
      applied_digest: resolved.body.runtime_digest,
      agent: { name: "console-test", version: "1.0.0" },
    });
    assert.ok(reported.status === 200 || reported.status === 204, JSON.stringify(reported.body));

    // The runtimes list shows the runtime with its binding count and its sync state.
    await page.getByRole("link", { name: "Runtimes" }).first().click();
    await page.getByTestId("runtimes").waitFor();
    await page.locator('[data-runtime] [data-testid="updates-waiting"]').first().waitFor();
    const runtimeKey = (await server.call("GET", apiBase(), server.adminKey)).body.key;
    await page
      .locator(`[data-runtime="${runtimeKey}"] [data-testid="sync-state"]`)
      .filter({ hasText: /^in sync$/ })
      .waitFor();
    await expectAccessible(page, "runtimes list");
    await screenshot(page, screens, "runtimes");
    await context.close();
  });
});
