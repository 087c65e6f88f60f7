// `capstan admin backup|restore|verify` run on this machine, against the data directory (or the
// scale-mode database) a config names, as `capstan serve` does: a restore happens before any server
// runs, and a backup or a verify may run beside a serving one (SQLite's online backup API and
// read-only queries). The CLI reaches them through this composition-root module only.

import { existsSync } from "node:fs";
import pino from "pino";
import { createDeps } from "./composition.js";
import type { Config } from "./config.js";
import { conflict } from "./errors.js";
import {
  type BackupSummary,
  createBackup,
  type RestoreResult,
  restoreBackup,
} from "./services/backup-service.js";
import { type IntegrityReport, verifyIntegrity } from "./services/integrity-service.js";

export async function backupDataDir(config: Config, to: string): Promise<BackupSummary> {
  requireExistingDatabase(config);
  const { deps, close } = await createDeps(config, {
    logger: pino({ level: "silent" }),
    sharedChanges: false,
  });
  try {
    return await createBackup(deps, to);
  } finally {
    await close();
  }
}

export function restoreDataDir(config: Config, from: string): Promise<RestoreResult> {
  return restoreBackup(config, from);
}

export async function verifyDataDir(config: Config): Promise<IntegrityReport> {
  requireExistingDatabase(config);
  const { deps, close } = await createDeps(config, {
    logger: pino({ level: "silent" }),
    sharedChanges: false,
  });
  try {
    return await verifyIntegrity(deps, deps.now());
  } finally {
    await close();
  }
}

/** Opening a SQLite path that does not exist would create an empty database there. */
function requireExistingDatabase(config: Config): void {
  if (config.database.dialect === "sqlite" && !existsSync(config.database.path)) {
    throw conflict(`there is no database at ${config.database.path} (is the data directory right?)`);
  }
}
