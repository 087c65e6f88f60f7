// Page-level helpers of the console's browser tests: a page that records CSP reports and page
// errors, signing in, axe-core (no serious or critical violation), screenshots at 1280 and 390 px.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";

declare const document: unknown;
declare const window: { axe?: { run(root: unknown, options: object): Promise<unknown> } };

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export async function newPage(
  browser: Browser,
  problems: string[],
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  return { context, page };
}

export async function signIn(page: Page, baseUrl: string, key: string, target: string): Promise<void> {
  await page.goto(`${baseUrl}${target}`);
  await page.waitForURL(/\/sign-in/);
  await page.fill("#api-key", key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/sign-in"));
}

/**
 * axe-core in the page: no serious or critical violation. axe is injected once per document (a
 * reload or a page load brings a new one): parsing its source again costs as much as a run.
 */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  if (!(await page.evaluate(() => window.axe !== undefined))) await page.evaluate(AXE_SOURCE);
  const result = (await page.evaluate(() => window.axe!.run(document, { resultTypes: ["violations"] }))) as {
    violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
  };
  const serious = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(serious, [], `accessibility of ${screen}`);
}

/** Screenshots at 1280 and 390 px; at 390 the page must not scroll sideways. */
export async function screenshot(page: Page, folder: string, name: string): Promise<void> {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    await page.screenshot({ path: path.join(folder, `${name}-${width}.png`), fullPage: true });
    if (width === 390) {
      const overflow = await page.evaluate(
        () =>
          (
            globalThis as unknown as {
              document: { documentElement: { scrollWidth: number; clientWidth: number } };
            }
          ).document.documentElement.scrollWidth -
          (globalThis as unknown as { document: { documentElement: { clientWidth: number } } }).document
            .documentElement.clientWidth,
      );
      assert.ok(overflow <= 0, `${name} scrolls sideways at 390 px by ${overflow} px`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}
