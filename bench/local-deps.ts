// The services' dependencies for a bench process: the configured database and blob store, a logger
// at the given level, the real clock and an in-process change feed (one process per server here).
import pino from "pino";
import type { Config } from "../src/config.js";
import { connectDatabase } from "../src/db/connect.js";
import { LocalChangeFeed } from "../src/services/change-feed.js";
import type { ServiceDeps } from "../src/services/deps.js";
import { createBlobStore } from "../src/storage/index.js";

export function localDeps(
  config: Config,
  logLevel: string,
): { deps: ServiceDeps; close: () => Promise<void> } {
  const database = connectDatabase(config.database);
  const deps: ServiceDeps = {
    db: database.db,
    dialect: database.dialect,
    blobs: createBlobStore(config, database),
    config,
    logger: pino({ level: logLevel }),
    now: () => new Date(),
    changes: new LocalChangeFeed(),
  };
  return { deps, close: () => database.close() };
}
