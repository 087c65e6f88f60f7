// The web console end to end (SPEC §10, issue #15): Debian's Chromium, driven by playwright-core,
// against a real server process serving the built console, with the three shared examples
// published through the API. One server and one browser for the whole file.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  type ConsoleServer,
  EXAMPLES,
  ensureConsoleBuilt,
  launchChromium,
  startConsoleServer,
} from "../helpers/console.js";
import { expectAccessible } from "../helpers/console-page.js";

// The browser's globals, as far as the code run inside the page uses them (this file's lib is Node's).
interface PageElement {
  id: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
}
declare const document: {
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  activeElement: PageElement | null;
};
declare const sessionStorage: { length: number; getItem(key: string): string | null };

const EXPECTED = JSON.parse(readFileSync(path.join(EXAMPLES, "EXPECTED.json"), "utf8"));
const UNKNOWN_KEY = `cst_aaaaaaaaaaaa_${"A".repeat(40)}`;
const TYPES = ["agent", "tool", "skill", "mcp_server", "worker"] as const;

let server: ConsoleServer;
let browser: Browser;
let contributorKey: string;
let readerKey: string;
const screenshots = mkdtempSync(path.join(tmpdir(), "capstan-console-screens-"));
/** Content-Security-Policy reports and uncaught errors, per page: the console must cause none. */
const problems: string[] = [];

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  return { context, page };
}

async function signIn(page: Page, key: string, target = "/"): Promise<void> {
  await page.goto(`${server.url}${target}`);
  await page.waitForURL(/\/sign-in/);
  await page.fill("#api-key", key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/sign-in"));
}

async function screenshot(page: Page, name: string): Promise<void> {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    await page.screenshot({ path: path.join(screenshots, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

const countOf = async (page: Page, type: string) =>
  Number(await page.getAttribute(`[data-testid="count-${type}"]`, "data-count"));
const namesOf = (page: Page, type: string) =>
  page
    .locator(`[data-testid="trust-card"] li[data-type="${type}"]`)
    .evaluateAll((nodes) => nodes.map((node) => node.getAttribute("data-component")));

describe("the web console in Chromium", () => {
  before(async () => {
    ensureConsoleBuilt();
    server = await startConsoleServer();
    for (const name of ["hello-recon", "flag-gated", "explicit-lists"]) {
      await server.publish(path.join(EXAMPLES, name), server.adminKey);
    }
    // A second version of hello-recon, so that yanking the first leaves a latest.
    await server.publish(path.join(EXAMPLES, "hello-recon"), server.adminKey, (files) => {
      const manifest = files
        .get("capability.yaml")!
        .toString()
        .replace(/version: .*/, 'version: "0.2.0"');
      files.set("capability.yaml", Buffer.from(manifest));
    });
    contributorKey = await server.member("casey", "contributor");
    readerKey = await server.member("riley", "reader");
    browser = await launchChromium();
    mkdirSync(screenshots, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    console.log(`# console screenshots: ${screenshots}`);
  });

  test("sign-in refuses a bad key with the envelope's detail, then accepts a good one", async () => {
    const { context, page } = await newPage();
    await page.goto(`${server.url}/orgs/default/catalog`);
    await page.waitForURL(/\/sign-in/);
    await expectAccessible(page, "sign-in");
    await screenshot(page, "sign-in");

    const refused = await server.call("GET", "/api/v1/user/me", UNKNOWN_KEY);
    await page.fill("#api-key", UNKNOWN_KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("error-detail").waitFor();
    assert.equal(await page.getByTestId("error-detail").textContent(), refused.body.detail);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "a refused key is not kept");

    await page.fill("#api-key", server.adminKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/orgs\/default\/catalog/);
    await page.getByTestId("whoami").filter({ hasText: "admin" }).waitFor();
    const cookies = await context.cookies();
    assert.deepEqual(cookies, [], "the key never goes into a cookie");
    assert.ok(!page.url().includes(server.adminKey), "nor into a URL");
    await page.getByTestId("user-menu").click();
    await page.getByRole("menuitem", { name: "Sign out" }).click();
    await page.waitForURL(/\/sign-in/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("capstan.apiKey")), null);
    await context.close();
  });

  test("the catalog finds each example by search and by facet", async () => {
    const { context, page } = await newPage();
    await signIn(page, server.adminKey);
    await page.waitForURL(/\/orgs\/default\/catalog/);
    const listed = () =>
      page
        .locator("[data-capability]")
        .evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-capability")));
    await page.locator("[data-capability]").first().waitFor();
    assert.deepEqual(await listed(), ["explicit-lists", "flag-gated", "hello-recon"]);
    await expectAccessible(page, "catalog");
    await screenshot(page, "catalog");

    for (const [query, expected] of [
      ["proxy-aware", "flag-gated"],
      ["triage pipeline", "explicit-lists"],
      ["hello", "hello-recon"],
    ]) {
      await page.fill("#catalog-search", query);
      await page.waitForURL((url) => url.searchParams.get("q") === query);
      await page.waitForFunction((name) => {
        const rows = Array.from(document.querySelectorAll("[data-capability]"));
        return rows.length === 1 && rows[0].getAttribute("data-capability") === name;
      }, expected);
    }
    await page.fill("#catalog-search", "");
    await page.waitForURL((url) => !url.searchParams.has("q"));

    // Facets: counts over what the list shows; a choice filters and goes into the URL.
    const author = page.locator('[data-testid="facet-author"] label', { hasText: "Example Team" });
    await author.locator("[data-facet-count]").filter({ hasText: "3" }).waitFor();
    for (const [keyword, expected] of [
      ["proxy", "flag-gated"],
      ["triage", "explicit-lists"],
    ]) {
      await page
        .locator('[data-testid="facet-keywords"] label', { hasText: keyword })
        .locator("input")
        .check();
      await page.waitForURL((url) => (url.searchParams.get("keywords") ?? "").includes(keyword));
      await page.waitForFunction((name) => {
        const rows = Array.from(document.querySelectorAll("[data-capability]"));
        return rows.length === 1 && rows[0].getAttribute("data-capability") === name;
      }, expected);
      await page
        .locator('[data-testid="facet-keywords"] label', { hasText: keyword })
        .locator("input")
        .uncheck();
      await page.waitForFunction(() => document.querySelectorAll("[data-capability]").length === 3);
    }

    await page.getByRole("button", { name: "Table" }).click();
    await page.waitForURL(/view=table/);
    await page.locator("tr[data-capability]").first().waitFor();
    assert.equal(await page.locator("tr[data-capability]").count(), 3);
    await expectAccessible(page, "catalog table");
    await context.close();
  });

  test("explicit-lists: the trust card lists exactly its components and its warning", async () => {
    const { context, page } = await newPage();
    await signIn(page, server.adminKey, "/orgs/default/capabilities/explicit-lists");
    await page.getByTestId("trust-card").waitFor();
    const expected = EXPECTED["explicit-lists"];
    const counts: Record<string, number> = {};
    for (const type of TYPES) counts[type] = await countOf(page, type);
    assert.deepEqual(counts, {
      agent: expected.component_counts.agents,
      tool: expected.component_counts.tools,
      skill: expected.component_counts.skills,
      mcp_server: expected.component_counts.mcp_servers,
      worker: expected.component_counts.workers,
    });
    for (const type of TYPES) assert.deepEqual(await namesOf(page, type), expected.components[type], type);
    const warnings = page.getByTestId("trust-warnings").locator("li");
    assert.equal(await warnings.count(), expected.warnings.length);
    assert.equal(await warnings.first().getAttribute("data-warning-type"), "manifest.unknown_key");
    assert.match((await warnings.first().textContent()) ?? "", /rollout/);
    // Trust signals (SPEC §14) read from the detail: this example is unsigned and scans clean.
    const detail = await server.call(
      "GET",
      "/api/v1/org/default/capabilities/explicit-lists",
      server.adminKey,
    );
    const { scan, signatures } = detail.body as { scan: { status: string }; signatures: unknown[] };
    assert.equal(await page.getByTestId("trust-scan").getAttribute("data-status"), scan.status);
    assert.equal(scan.status, "passed");
    assert.match((await page.getByTestId("trust-scan").textContent()) ?? "", /no findings/);
    assert.equal(signatures.length, 0);
    assert.match((await page.getByTestId("trust-signatures").textContent()) ?? "", /unsigned/);
    assert.match(
      (await page.getByTestId("install-command").textContent()) ?? "",
      /^capstan runtime install \S+ explicit-lists@2\.0\.3$/,
    );
    await expectAccessible(page, "capability page");
    await screenshot(page, "capability");
    await context.close();
  });

  test("flag-gated: the trust card says which flag gates each MCP server and worker", async () => {
    const { context, page } = await newPage();
    await signIn(page, server.adminKey, "/orgs/default/capabilities/flag-gated");
    await page.getByTestId("trust-card").waitFor();
    const expected = EXPECTED["flag-gated"];
    for (const type of ["mcp_server", "worker"])
      assert.deepEqual(await namesOf(page, type), expected.components[type]);
    for (const name of [...expected.components.mcp_server, ...expected.components.worker]) {
      const row = page.locator(`[data-testid="trust-card"] li[data-component="${name}"]`);
      const gates: string[] = expected.gated_by[name] ?? [];
      const badge = row.getByTestId("gated-by");
      if (gates.length === 0) assert.equal(await badge.count(), 0, `${name} is always on`);
      else assert.equal(await badge.textContent(), `when ${gates.join(" or ")}`, name);
    }
    // From the flags' side: each flag with what it gates and its default.
    for (const [flag, def] of Object.entries(expected.flags as Record<string, boolean>)) {
      const item = page.locator(`[data-testid="flag-gates"] li[data-flag="${flag}"]`);
      const gated = await item
        .locator("[data-gated]")
        .evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-gated")));
      const expectedGated = Object.entries(expected.gated_by as Record<string, string[]>)
        .filter(([, flags]) => flags.includes(flag))
        .map(([name]) => name);
      assert.deepEqual(gated, expectedGated, flag);
      assert.match((await item.textContent()) ?? "", def ? /default on/ : /default off/);
    }
    // How each MCP server runs, from capability.yaml and from .mcp.json.
    const how = async (name: string) =>
      page
        .locator(`[data-testid="trust-card"] li[data-component="${name}"]`)
        .getByTestId("mcp-how")
        .textContent();
    assert.equal(await how("tracker"), "https://mcp.example.invalid/v1/mcp");
    assert.equal(await how("notes"), "uv run notes.py");
    assert.equal(await how("shared"), "python3 -m http.server");

    await expectAccessible(page, "capability page with MCP servers and workers");
    await screenshot(page, "trust-card");
    await page.getByRole("link", { name: /^Flags/ }).click();
    await page.getByTestId("flags").waitFor();
    assert.equal(await page.locator('[data-testid="flags"] tr[data-flag]').count(), 3);
    await expectAccessible(page, "flags tab");
    await screenshot(page, "flags");
    await context.close();
  });

  test("a contributor yanks a version after confirming, and sees the badge", async () => {
    const { context, page } = await newPage();
    await signIn(page, contributorKey, "/orgs/default/capabilities/hello-recon?tab=versions");
    const row = page.locator('[data-testid="versions"] tr[data-version="0.1.0"]');
    await row.waitFor();
    assert.equal(await row.getByRole("button", { name: "Delete" }).count(), 0, "deleting is for owners");
    await row.getByRole("button", { name: "Yank" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    await expectAccessible(page, "confirmation dialog");
    await screenshot(page, "yank-dialog");
    await dialog.getByRole("button", { name: "Yank" }).click();
    await dialog.waitFor({ state: "detached" });
    await row.locator('[data-status="yanked"]').waitFor();
    const versions = await server.call(
      "GET",
      "/api/v1/org/default/capabilities/hello-recon/versions",
      server.adminKey,
    );
    assert.equal(
      versions.body.versions.find((v: { version: string }) => v.version === "0.1.0").status,
      "yanked",
    );
    await expectAccessible(page, "versions tab");
    await screenshot(page, "versions");

    // The API's refusal shows in the dialog: an owner deleting a version a runtime binds.
    await context.close();
  });

  test("an owner's refused delete shows the envelope's error in the dialog", async () => {
    const runtimes = await server.call("GET", "/api/v1/org/default/ws/main/runtimes", server.adminKey);
    const runtime = runtimes.body.items[0].id;
    const bound = await server.call(
      "POST",
      `/api/v1/org/default/ws/main/runtimes/${runtime}/capabilities`,
      server.adminKey,
      { name: "flag-gated", version: "1.2.0" },
    );
    assert.equal(bound.status, 201);
    const { context, page } = await newPage();
    await signIn(page, server.adminKey, "/orgs/default/capabilities/flag-gated?tab=versions");
    const row = page.locator('[data-testid="versions"] tr[data-version="1.2.0"]');
    await row.getByRole("button", { name: "Delete" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Delete for good" }).click();
    await dialog.getByRole("alert").waitFor();
    const detail = await dialog.getByTestId("error-detail").textContent();
    assert.ok(detail && detail.length > 0);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    assert.equal(
      (await server.call("GET", "/api/v1/org/default/capabilities/flag-gated/1.2.0", server.adminKey)).status,
      200,
    );
    await context.close();
  });

  test("a reader sees no mutating control", async () => {
    const { context, page } = await newPage();
    await signIn(page, readerKey, "/orgs/default/capabilities/hello-recon?tab=versions");
    await page.locator('[data-testid="versions"] tr[data-version]').first().waitFor();
    for (const name of ["Yank", "Deprecate", "Delete", "Reactivate"]) {
      assert.equal(await page.getByRole("button", { name }).count(), 0, name);
    }
    assert.equal(await page.getByRole("columnheader", { name: "Actions" }).count(), 0);
    assert.equal(
      await page.getByRole("link", { name: "Organization" }).count(),
      0,
      "the org screen is for owners",
    );
    await context.close();
  });

  test("another org's public capability: listed with include-public, opened as owner/name, read-only", async () => {
    const created = await server.call("POST", "/api/v1/orgs", server.adminKey, { key: "acme", name: "Acme" });
    assert.equal(created.status, 201);
    await server.publish(path.join(EXAMPLES, "hello-recon"), server.adminKey, undefined, {
      org: "acme",
      public: true,
    });
    const { context, page } = await newPage();
    await signIn(page, readerKey, "/orgs/default/catalog");
    await page.locator("[data-capability]").first().waitFor();
    assert.equal(await page.locator('[data-capability="acme/hello-recon"]').count(), 0);
    await page.getByLabel("Include public capabilities of other organizations").click();
    await page.waitForURL(/public=true/);
    await page.locator('[data-capability="acme/hello-recon"]').waitFor();
    await page.locator('[data-capability="acme/hello-recon"] a').first().click();
    await page.waitForURL(/\/capabilities\/acme%2Fhello-recon/);
    await page.getByTestId("trust-card").waitFor();
    assert.match(
      (await page.getByTestId("install-command").textContent()) ?? "",
      /acme\/hello-recon@0\.1\.0$/,
    );
    await page.getByTestId("readme").waitFor();
    await page.getByRole("link", { name: /^Versions/ }).click();
    await page.locator('[data-testid="versions"] tr[data-version="0.1.0"]').waitFor();
    assert.equal(await page.getByRole("button", { name: "Yank" }).count(), 0);
    await page.reload();
    await page.locator('[data-testid="versions"] tr[data-version="0.1.0"]').waitFor();
    await context.close();
  });

  test("deep links survive a reload: a filtered catalog and an open file", async () => {
    const { context, page } = await newPage();
    await signIn(
      page,
      server.adminKey,
      "/orgs/default/capabilities/flag-gated?tab=files&file=capability.yaml",
    );
    await page.getByTestId("file-text").waitFor();
    assert.match((await page.getByTestId("file-text").textContent()) ?? "", /name: flag-gated/);
    await expectAccessible(page, "files tab");
    await screenshot(page, "files");
    await page.reload();
    await page.getByTestId("file-text").waitFor();
    assert.ok(page.url().includes("file=capability.yaml"));

    await page.goto(`${server.url}/orgs/default/catalog?q=hello&view=table`);
    await page.locator('tr[data-capability="hello-recon"]').waitFor();
    await page.reload();
    await page.locator('tr[data-capability="hello-recon"]').waitFor();
    assert.equal(await page.inputValue("#catalog-search"), "hello");
    await context.close();
  });

  test("a 401 anywhere returns to sign-in with the envelope's detail", async () => {
    const minted = await server.call("POST", "/api/v1/user/api-keys", server.adminKey, {
      name: "short-lived",
    });
    const { context, page } = await newPage();
    await signIn(page, minted.body.key, "/orgs/default/catalog");
    await page.locator("[data-capability]").first().waitFor();
    assert.equal(
      (await server.call("DELETE", `/api/v1/user/api-keys/${minted.body.id}`, server.adminKey)).status,
      204,
    );
    const refused = await server.call("GET", "/api/v1/user/me", minted.body.key);
    assert.equal(refused.status, 401);
    await page.goto(`${server.url}/orgs/default/capabilities/hello-recon`);
    await page.waitForURL(/\/sign-in/);
    assert.equal(await page.getByTestId("error-detail").textContent(), refused.body.detail);
    // Signing in again goes back to where the user was.
    await page.fill("#api-key", server.adminKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/orgs\/default\/capabilities\/hello-recon/);
    await context.close();
  });

  test("keyboard only: sign-in → catalog → capability page", async () => {
    const { context, page } = await newPage();
    await page.goto(`${server.url}/orgs/default/catalog`);
    await page.waitForURL(/\/sign-in/);
    const focusUntil = async (matches: () => boolean, what: string) => {
      for (let i = 0; i < 80; i += 1) {
        await page.keyboard.press("Tab");
        if (await page.evaluate(matches)) return;
      }
      assert.fail(`Tab never reached ${what}`);
    };
    await focusUntil(() => document.activeElement?.id === "api-key", "the key field");
    await page.keyboard.type(server.adminKey);
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/orgs\/default\/catalog/);
    await page.locator("[data-capability]").first().waitFor();
    await focusUntil(() => document.activeElement?.id === "catalog-search", "the search field");
    await page.keyboard.type("flag");
    await page.waitForURL((url) => url.searchParams.get("q") === "flag");
    await page.waitForFunction(() => document.querySelectorAll("[data-capability]").length === 1);
    await focusUntil(
      () => document.activeElement?.getAttribute("href")?.includes("/capabilities/flag-gated") ?? false,
      "the capability's link",
    );
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/capabilities\/flag-gated/);
    await page.getByTestId("trust-card").waitFor();
    // The version actions open and close by keyboard too.
    await focusUntil(
      () => document.activeElement?.textContent?.startsWith("Versions") ?? false,
      "the Versions tab",
    );
    await page.keyboard.press("Enter");
    await page.getByTestId("versions").waitFor();
    await focusUntil(() => document.activeElement?.textContent === "Deprecate", "Deprecate");
    await page.keyboard.press("Enter");
    await page.getByRole("dialog").waitFor();
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await context.close();
  });

  test("no page broke the Content-Security-Policy or threw", () => {
    assert.deepEqual(problems, []);
  });
});
