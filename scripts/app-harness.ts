// Shared by the tests and the benchmarks (test/helpers/test-app.ts re-exports it).
// buildTestApp(): the real app on a fresh SQLite file (or PostgreSQL database, see ./app-database.ts),
// bootstrapped with a known admin key. Requests go through app.inject — real routing, hooks,
// validation and serialization, without a socket.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { type App, buildApp } from "../src/app.js";
import { createDeps, createLogger } from "../src/composition.js";
import { type Config, loadConfig } from "../src/config.js";
import { migrateToLatest } from "../src/db/migrate.js";
import { generateApiKey } from "../src/lib/api-key-format.js";
import { bootstrapIfEmpty } from "../src/services/bootstrap.js";
import type { ServiceDeps } from "../src/services/deps.js";
import type { ServiceOptions } from "../src/services/index.js";
import type { WatchLimits } from "../src/services/resolved-watch.js";
import { createTestDatabase, testDialect } from "./app-database.js";

/**
 * The master key of workspace secrets on PostgreSQL, where the server refuses to generate one
 * (SPEC §11). On SQLite the app generates `<DATA_DIR>/secrets.key`, as the embedded default does.
 */
export const TEST_SECRETS_KEY = `test:${Buffer.alloc(32, 7).toString("base64")}`;

export interface TestApp {
  app: App;
  deps: ServiceDeps;
  config: Config;
  /** The bootstrap admin's key (owner of org `default`). */
  adminKey: string;
  /** The bootstrap runtime `default` in `default/main`. */
  runtimeId: string;
  dataDir: string;
  /** Moves the clock used for expiry checks (key expiry, signed URLs). */
  advanceClock(ms: number): void;
  /**
   * Stops the app and starts it again on the same database and data directory, as a server restart
   * would, with `env` over the first start's variables (another secrets keyring, typically).
   */
  restart(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** CAPSTAN_* variables for this app; rate limits are off unless set here. */
  env?: Record<string, string>;
  /** A pino destination to capture logs (for the "keys never appear in logs" test). */
  logStream?: NodeJS.WritableStream;
  /** The level of the captured logs (`info` unless set). */
  logLevel?: string;
  /** Registers extra routes before the app is ready (tests of cross-cutting behaviour: crashes, …). */
  extraRoutes?: (app: App) => void | Promise<void>;
  /**
   * The clock moves only by advanceClock: for tests of TTLs and rate-limit windows, whose outcome
   * would otherwise depend on how much real time a loaded machine lets pass between two requests.
   */
  frozenClock?: boolean;
  /** The built web console to serve (null: none); found on disk when absent. */
  consoleDir?: string | null;
  /** Options of the app's services (a webhook host resolver that plays DNS rebinding, …). */
  services?: ServiceOptions;
  /** Service options (event stream heartbeat and caps); merged over `services`. */
  serviceOptions?: ServiceOptions;
  /** Caps on held watch requests (small ones let a test fill them). */
  watchLimits?: WatchLimits;
}

export async function buildTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "capstan-test-"));
  const adminKey = generateApiKey().key;
  const testDatabase = await createTestDatabase(dataDir);
  const config = loadConfig(
    {},
    {
      CAPSTAN_DATA_DIR: dataDir,
      CAPSTAN_DATABASE_URL: testDatabase.url,
      CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
      CAPSTAN_RATE_LIMIT_RPM: "0",
      CAPSTAN_PUBLIC_URL: "http://capstan.test",
      ...(testDialect() === "postgres" ? { CAPSTAN_SECRETS_KEY: TEST_SECRETS_KEY } : {}),
      ...options.env,
    },
  );
  let offset = 0;
  const startedAt = Date.now();
  const logger = options.logStream
    ? createLogger(options.logLevel ?? "info", options.logStream as pino.DestinationStream)
    : pino({ level: process.env.CAPSTAN_LOG_LEVEL ?? "silent" });
  const start = async (startConfig: Config) => {
    const started = await createDeps(startConfig, {
      logger,
      now: () => new Date((options.frozenClock ? startedAt : Date.now()) + offset),
      sharedChanges: false,
    });
    await migrateToLatest(started.deps.db);
    const boot = await bootstrapIfEmpty(started.deps);
    const app = await buildApp(started.deps, {
      consoleDir: options.consoleDir,
      serviceOptions: {
        ...options.services,
        ...options.serviceOptions,
        ...(options.watchLimits && { watchLimits: options.watchLimits }),
      },
    });
    await options.extraRoutes?.(app);
    await app.ready();
    return { ...started, app, boot };
  };
  let running = await start(config);
  if (!running.boot) throw new Error("fresh test database was not bootstrapped");
  const testApp: TestApp = {
    app: running.app,
    deps: running.deps,
    config,
    adminKey,
    runtimeId: running.boot.runtimeId,
    dataDir,
    advanceClock(ms: number) {
      offset += ms;
    },
    async restart(env: Record<string, string> = {}) {
      await running.app.close();
      await running.close();
      const restarted = loadConfig(
        {},
        {
          CAPSTAN_DATA_DIR: dataDir,
          CAPSTAN_DATABASE_URL: testDatabase.url,
          CAPSTAN_BOOTSTRAP_TOKEN: adminKey,
          CAPSTAN_RATE_LIMIT_RPM: "0",
          CAPSTAN_PUBLIC_URL: "http://capstan.test",
          ...(testDialect() === "postgres" ? { CAPSTAN_SECRETS_KEY: TEST_SECRETS_KEY } : {}),
          ...options.env,
          ...env,
        },
      );
      running = await start(restarted);
      testApp.app = running.app;
      testApp.deps = running.deps;
      testApp.config = restarted;
    },
    async close() {
      await running.app.close();
      await running.close();
      await testDatabase.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return testApp;
}

/** `Authorization: Bearer <key>` */
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

export interface ExistingDataDirOptions {
  /** A data directory that already holds a SQLite database (a restore, a fixture copy). */
  dataDir: string;
  /** A key that database knows, for the requests. */
  adminKey: string;
  /** CAPSTAN_* variables for this app (the secrets key, typically). */
  env?: Record<string, string>;
}

/**
 * The real app on an existing SQLite data directory, migrated to the newest schema as a server
 * would at boot (no bootstrap: the database has its users). close() leaves the directory.
 */
export async function openTestAppOn(options: ExistingDataDirOptions): Promise<TestApp> {
  const config = loadConfig(
    {},
    {
      CAPSTAN_DATA_DIR: options.dataDir,
      CAPSTAN_RATE_LIMIT_RPM: "0",
      CAPSTAN_PUBLIC_URL: "http://capstan.test",
      ...options.env,
    },
  );
  const { deps, close: closeDeps } = await createDeps(config, {
    logger: pino({ level: process.env.CAPSTAN_LOG_LEVEL ?? "silent" }),
    sharedChanges: false,
  });
  await migrateToLatest(deps.db);
  const app = await buildApp(deps, { consoleDir: null });
  await app.ready();
  return {
    app,
    deps,
    config,
    adminKey: options.adminKey,
    runtimeId: "",
    dataDir: options.dataDir,
    advanceClock() {
      throw new Error("this app runs on the real clock");
    },
    async restart() {
      throw new Error("reopen the data directory with openTestAppOn instead");
    },
    async close() {
      await app.close();
      await closeDeps();
    },
  };
}
