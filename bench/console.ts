// The console's budgets (issue #15), measured, not asserted (timings never go into tests):
//   1. initial JavaScript: what index.html loads before the first screen, gzip-compressed (≤ 200 KB);
//   2. the catalog's first render with 500 capabilities in the org (≤ 300 ms after the data arrives);
//   3. the capability page of the largest bundle built from the shared examples (≤ 300 ms likewise);
//   4. the runtime page with 200 bindings (≤ 300 ms likewise), and how many binding rows render
//      again when one binding is toggled (1: the others keep their props and are not re-rendered).
// "After the data arrives" = from the end of the last API response the screen needed before it
// showed its content, to the first frame after that content is in the DOM, read in Chromium with
// the Performance API (resource timing + performance.now in a requestAnimationFrame).
//
//   npm run bench:console            (builds the console first when web/dist is missing)
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { Page } from "playwright-core";
import {
  EXAMPLES,
  ensureConsoleBuilt,
  launchChromium,
  startConsoleServer,
} from "../scripts/console-harness.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "web/dist");
const RUNS = 5;
const CATALOG_SIZE = 500;
const RUNTIME_BINDINGS = 200;
/** Copies of the examples' agents, skills and tools folded into the largest bundle. */
const COPIES = 100;

function initialJavaScript(): { files: string[]; gzipBytes: number; rawBytes: number } {
  const index = readFileSync(path.join(DIST, "index.html"), "utf8");
  const files = [
    ...index.matchAll(/<script[^>]+src="([^"]+)"/g),
    ...index.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g),
  ].map((m) => m[1]);
  let gzipBytes = 0;
  let rawBytes = 0;
  for (const file of files) {
    const content = readFileSync(path.join(DIST, file));
    rawBytes += content.length;
    gzipBytes += gzipSync(content, { level: 9 }).length;
  }
  return { files, gzipBytes, rawBytes };
}

/** flag-gated + hello-recon's README + COPIES renamed copies of the examples' agents, skills, tools. */
function largestBundle(
  files: Map<string, Buffer>,
  recon: Map<string, Buffer>,
  lists: Map<string, Buffer>,
): void {
  files.set(
    "capability.yaml",
    Buffer.from(files.get("capability.yaml")!.toString().replace("name: flag-gated", "name: largest")),
  );
  files.set("README.md", recon.get("README.md")!);
  const agent = recon.get("agents/recon.md")!.toString();
  const skill = recon.get("skills/report/SKILL.md")!.toString();
  const tool = recon.get("tools/lookup.py")!;
  const signals = lists.get("tools/signals.py")!;
  for (let i = 0; i < COPIES; i++) {
    files.set(`agents/recon-${i}.md`, Buffer.from(agent.replace("name: recon", `name: recon-${i}`)));
    files.set(`skills/report-${i}/SKILL.md`, Buffer.from(skill.replace("name: report", `name: report-${i}`)));
    files.set(`tools/lookup_${i}.py`, tool);
    files.set(`tools/signals_${i}.py`, signals);
  }
}

/** Milliseconds from the last needed API response to the first frame showing `selector`. */
async function renderAfterData(page: Page, url: string, selector: string): Promise<number> {
  await page.goto(url);
  await page.waitForSelector(selector);
  return page.evaluate("window.__renderAfterData") as Promise<number>;
}

const INIT = (selector: string) => `
  window.__renderAfterData = new Promise((resolve) => {
    const done = () => {
      const shownAt = performance.now();
      requestAnimationFrame(() => {
        const frameAt = performance.now();
        const api = performance.getEntriesByType("resource")
          .filter((e) => e.name.includes("/api/") && e.responseEnd <= shownAt);
        const dataAt = Math.max(...api.map((e) => e.responseEnd));
        resolve(frameAt - dataAt);
      });
    };
    const observer = new MutationObserver(() => {
      if (document.querySelector(${JSON.stringify(selector)})) { observer.disconnect(); done(); }
    });
    document.addEventListener("DOMContentLoaded", () => observer.observe(document.body, { childList: true, subtree: true }));
  });
`;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (values: number[]) =>
  `median ${median(values).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms over ${values.length} loads (${values.map((v) => v.toFixed(0)).join(", ")})`;

async function main(): Promise<void> {
  ensureConsoleBuilt();
  const js = initialJavaScript();
  console.log(
    `initial JavaScript: ${(js.gzipBytes / 1024).toFixed(1)} KB gzip (${(js.rawBytes / 1024).toFixed(1)} KB raw) in ${js.files.join(", ")} — budget 200 KB`,
  );

  const server = await startConsoleServer();
  const browser = await launchChromium();
  try {
    const { readCapabilitySource } = await import("../src/cli/bundle-pack.js");
    const recon = await readCapabilitySource(path.join(EXAMPLES, "hello-recon"));
    const lists = await readCapabilitySource(path.join(EXAMPLES, "explicit-lists"));
    const largest = await server.publish(path.join(EXAMPLES, "flag-gated"), server.adminKey, (files) =>
      largestBundle(files, recon, lists),
    );
    const c = largest.component_counts;
    console.log(
      `largest bundle: ${largest.file_manifest.length} files, ${c.agents} agents, ${c.tools} tools, ${c.skills} skills, ${c.mcp_servers} MCP servers, ${c.workers} workers, ${(largest.size_bytes / 1024).toFixed(1)} KiB`,
    );
    const keywords = Array.from({ length: 40 }, (_, i) => `topic-${i}`);
    for (let i = 1; i < CATALOG_SIZE; i++) {
      await server.publish(path.join(EXAMPLES, "hello-recon"), server.adminKey, (files) => {
        const manifest = files
          .get("capability.yaml")!
          .toString()
          .replace("name: hello-recon", `name: cap-${String(i).padStart(3, "0")}`)
          .replace("name: Example Team", `name: Team ${i % 25}`)
          .replace("license: MIT", `license: ${["MIT", "Apache-2.0", "BSD-3-Clause", "MPL-2.0"][i % 4]}`)
          .replace(
            "keywords: [recon, example]",
            `keywords: [${keywords[i % 40]}, ${keywords[(i * 7) % 40]}]`,
          );
        files.set("capability.yaml", Buffer.from(manifest));
      });
    }
    const total = await server.call("GET", "/api/v1/org/default/capabilities?limit=1", server.adminKey);
    console.log(`catalog: ${total.body.total} capabilities in the org`);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/sign-in`);
    await page.fill("#api-key", server.adminKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/catalog/);

    const screens = [
      {
        name: "catalog (500 capabilities, first page)",
        path: "/orgs/default/catalog",
        selector: "[data-capability]",
      },
      {
        name: "catalog table view",
        path: "/orgs/default/catalog?view=table",
        selector: "tr[data-capability]",
      },
      {
        name: "capability page of the largest bundle (trust card)",
        path: "/orgs/default/capabilities/largest",
        selector: '[data-testid="trust-card"] [data-component]',
      },
    ];
    for (const screen of screens) {
      await page.addInitScript(INIT(screen.selector));
      const times: number[] = [];
      for (let run = 0; run < RUNS; run++)
        times.push(await renderAfterData(page, `${server.url}${screen.path}`, screen.selector));
      console.log(`${screen.name}: ${fmt(times)} — budget 300 ms`);
    }

    // The runtime page: RUNTIME_BINDINGS of the catalog's capabilities bound to the default runtime.
    const runtimes = await server.call("GET", "/api/v1/org/default/ws/main/runtimes", server.adminKey);
    const runtimeId = runtimes.body.items[0].id as string;
    for (let i = 1; i <= RUNTIME_BINDINGS; i++) {
      const bound = await server.call(
        "POST",
        `/api/v1/org/default/ws/main/runtimes/${runtimeId}/capabilities`,
        server.adminKey,
        { name: `cap-${String(i).padStart(3, "0")}` },
      );
      if (bound.status !== 201)
        throw new Error(`bind cap-${i}: ${bound.status} ${JSON.stringify(bound.body)}`);
    }
    const lastRow = `[data-testid="bindings"] > li:nth-child(${RUNTIME_BINDINGS})`;
    await page.addInitScript(INIT(lastRow));
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++)
      times.push(
        await renderAfterData(page, `${server.url}/orgs/default/ws/main/runtimes/${runtimeId}`, lastRow),
      );
    console.log(`runtime page (${RUNTIME_BINDINGS} bindings): ${fmt(times)} — budget 300 ms`);

    // Toggle one binding: count the rows that rendered again.
    const renders = () =>
      page.evaluate("Object.fromEntries(window.__capstanRowRenders)") as Promise<Record<string, number>>;
    const before = await renders();
    const row = page.locator('[data-binding="cap-100"]');
    const revision = await row.getAttribute("data-revision");
    await row.getByTestId("enabled-switch").click();
    await page
      .locator(`[data-binding="cap-100"][data-enabled="false"]:not([data-revision="${revision}"])`)
      .waitFor();
    // Let the refetches that follow the write settle (the list, the resolved set, the runtime).
    await page.waitForLoadState("networkidle");
    const after = await renders();
    const rerendered = Object.keys(after).filter((id) => after[id] !== before[id]);
    console.log(
      `toggling one of ${RUNTIME_BINDINGS} bindings re-rendered ${rerendered.length} row(s) (${Object.values(after).length} rows on the page) — budget 1`,
    );
    await context.close();
  } finally {
    await browser.close();
    await server.stop();
  }
}

await main();
