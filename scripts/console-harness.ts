// Shared by the tests and the benchmarks (test/helpers/console.ts re-exports it).
// What the console's browser tests and its bench share: the built console, a real server process
// serving it, Debian's Chromium driven by playwright-core (browsers are never downloaded), and
// publishing a capability directory through the API.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { packBundle, readCapabilitySource } from "../src/cli/bundle-pack.js";
import { generateApiKey } from "../src/lib/api-key-format.js";
import { createTestDatabase } from "./app-database.js";
import { startServerProcess } from "./server-process.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const EXAMPLES = path.join(ROOT, "test/fixtures/examples");
export const CHROMIUM = process.env.CAPSTAN_CHROMIUM ?? "/usr/bin/chromium";

/** Builds web/dist when it is missing (CI builds it before the suite; a fresh checkout may not have). */
export function ensureConsoleBuilt(): void {
  if (existsSync(path.join(ROOT, "web/dist/index.html"))) return;
  if (!existsSync(path.join(ROOT, "web/node_modules"))) {
    const install = spawnSync("npm", ["ci", "--prefix", "web", "--no-audit", "--no-fund"], {
      cwd: ROOT,
      stdio: "inherit",
    });
    if (install.status !== 0)
      throw new Error("could not install the console's packages (npm ci --prefix web)");
  }
  const build = spawnSync("npm", ["--prefix", "web", "run", "build"], { cwd: ROOT, stdio: "inherit" });
  if (build.status !== 0) throw new Error("could not build the console (npm --prefix web run build)");
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
  });
}

// biome-ignore lint/suspicious/noExplicitAny: API answers of many shapes, read field by field in tests
type Json = any;

export interface ConsoleServer {
  url: string;
  adminKey: string;
  /** A JSON API call; returns the status and the parsed body. */
  call(method: string, urlPath: string, key: string, body?: unknown): Promise<{ status: number; body: Json }>;
  /** Publishes a capability directory (optionally rewriting its files first); returns the detail. */
  publish(
    dir: string,
    key: string,
    edit?: (files: Map<string, Buffer>) => void,
    target?: { org?: string; public?: boolean },
  ): Promise<Json>;
  /** A user with `role` in org `default` and an API key. */
  member(name: string, role: "owner" | "contributor" | "reader"): Promise<string>;
  stop(): Promise<void>;
}

/** `env`: more CAPSTAN_* variables for the server (CAPSTAN_WEBHOOK_ALLOW_PRIVATE, …). */
export async function startConsoleServer(env: Record<string, string> = {}): Promise<ConsoleServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "capstan-console-"));
  const database = await createTestDatabase(dataDir);
  const adminKey = generateApiKey().key;
  const server = await startServerProcess({
    CAPSTAN_DATA_DIR: dataDir,
    CAPSTAN_DATABASE_URL: database.url,
    CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
    CAPSTAN_RATE_LIMIT_WRITE_RPM: "0",
    ...env,
  });
  const call = async (method: string, urlPath: string, key: string, body?: unknown) => {
    const response = await fetch(`${server.url}${urlPath}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  const expectOk = (what: string, result: { status: number; body: Json }) => {
    if (result.status >= 300) throw new Error(`${what}: ${result.status} ${JSON.stringify(result.body)}`);
    return result.body;
  };
  return {
    url: server.url,
    adminKey,
    call,
    async publish(dir, key, edit, target = {}) {
      const files = await readCapabilitySource(dir);
      edit?.(files);
      const bundle = await packBundle(files);
      const query = target.public ? "?public=true" : "";
      const response = await fetch(
        `${server.url}/api/v1/org/${target.org ?? "default"}/capabilities${query}`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/gzip" },
          body: bundle.archive,
        },
      );
      return expectOk(`publish ${dir}`, { status: response.status, body: await response.json() });
    },
    async member(name, role) {
      const email = `${name}@example.test`;
      const user = expectOk(
        "create user",
        await call("POST", "/api/v1/admin/users", adminKey, { email, name }),
      );
      const key = expectOk(
        "mint key",
        await call("POST", `/api/v1/admin/users/${user.id}/api-keys`, adminKey, { name: `${name} key` }),
      );
      expectOk("add member", await call("POST", "/api/v1/org/default/members", adminKey, { email, role }));
      return key.key as string;
    },
    async stop() {
      await server.stop();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
