// The composition root: the one place that builds what the services run on. The server, the test
// app, the benches and the OpenAPI script all call createDeps(config); buildApp(deps) then creates
// the services once (src/services/index.ts) and attaches both to the app.
import pino, { type DestinationStream, type Logger } from "pino";
import type { Config } from "./config.js";
import { connectDatabase } from "./db/connect.js";
import { redactingLoggerOptions } from "./http/log-redaction.js";
import { type ChangeFeed, LocalChangeFeed } from "./services/change-feed.js";
import type { ServiceDeps } from "./services/deps.js";
import { PgChangeFeed } from "./services/pg-change-feed.js";
import { createBlobStore } from "./storage/index.js";

/**
 * The server's logger: JSON lines on stdout unless a destination is given (tests capture it).
 * Credentials never reach it, whatever logs a request (src/http/log-redaction.ts).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, ...redactingLoggerOptions };
  return destination ? pino(options, destination) : pino(options);
}

export interface DepsOptions {
  /** Default: createLogger(config.logLevel). */
  logger?: Logger;
  /** Default: the real clock. Tests move theirs (key expiry, TTLs, rate-limit windows). */
  now?: () => Date;
  /**
   * Whether change notifications reach the other instances (through PostgreSQL LISTEN/NOTIFY).
   * Default: on PostgreSQL. A single process (a test app, a bench server) keeps them in memory.
   */
  sharedChanges?: boolean;
}

export interface DepsHandle {
  deps: ServiceDeps;
  /** Closes the shared change feed and the database (after the app that used them). */
  close(): Promise<void>;
}

export async function createDeps(config: Config, options: DepsOptions = {}): Promise<DepsHandle> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const database = connectDatabase(config.database);
  let changes: ChangeFeed = new LocalChangeFeed();
  let feed: PgChangeFeed | null = null;
  if (config.database.dialect === "postgres" && (options.sharedChanges ?? true)) {
    feed = new PgChangeFeed(config.database.url, logger);
    try {
      await feed.start();
    } catch (error) {
      await database.close();
      throw error;
    }
    changes = feed;
  }
  const deps: ServiceDeps = {
    db: database.db,
    dialect: database.dialect,
    blobs: createBlobStore(config, database),
    config,
    logger,
    now: options.now ?? (() => new Date()),
    changes,
  };
  return {
    deps,
    async close() {
      if (feed) await feed.close();
      await database.close();
    },
  };
}
