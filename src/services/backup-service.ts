// Backups of the embedded default (SQLite and a file-system blob store) and their restore
// (`capstan admin backup|restore`, `POST /api/v1/admin/backups`). A backup is a directory:
//
//   manifest.json   format, when, which release and migration, the secrets key ids, every file's size and sha256
//   capstan.db      the database as of one commit (SQLite's online backup API)
//   blobs/ab/cd/<sha256>   every blob a version of that snapshot names
//
// Consistency without stopping the server: the database is copied first, as of one commit; blobs
// are content-addressed and never change, so copying afterwards every blob the snapshot names gives
// exactly the blobs of that commit. One can only be gone if its version was deleted after the
// snapshot and the collector took it since, an hour after it was last written (BLOB_GRACE_MS); the
// backup then fails naming it, and a new one does not need it.
//
// Scale mode (PostgreSQL) is backed up with PostgreSQL's own tools: see SCALE_MODE_PROCEDURE.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import {
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { Config } from "../config.js";
import { connectSqliteReadOnly } from "../db/connect.js";
import { LATEST_MIGRATION } from "../db/migrate.js";
import {
  lastAppliedMigration,
  listLiveVersionRefsPage,
  listSettings,
} from "../db/repositories/integrity-repository.js";
import { secretKeyIdsInUse } from "../db/repositories/secret-repository.js";
import { snapshotSqlite } from "../db/sqlite-backup.js";
import type { FileManifestEntry } from "../domain/types.js";
import { AppError, conflict, invalid } from "../errors.js";
import { packageVersion } from "../lib/package-version.js";
import { parseSecretsKeyring, type SecretsKeyring } from "../lib/secret-crypto.js";
import { requireInstanceAdmin } from "./access.js";
import { appendAudit } from "./audit.js";
import type { RequestScope, ServiceDeps } from "./deps.js";
import { keyCheckIds, keysFailingKeyCheck, SECRETS_KEY_FILE } from "./secret-service.js";
import { inTransaction } from "./transaction.js";

export const BACKUP_FORMAT = "capstan-backup";
export const BACKUP_FORMAT_VERSION = 1;
export const BACKUP_MANIFEST_FILE = "manifest.json";
const DATABASE_FILE = "capstan.db";
const BLOBS_DIR = "blobs";
/** Where the API route writes its backups: `<DATA_DIR>/backups/<name>`. */
export const SERVER_BACKUPS_DIR = "backups";
/**
 * The API route refuses a new backup while this many of its own lie under `<DATA_DIR>/backups`:
 * each is a full copy of the instance, and a script looping on the route (or a stolen admin key)
 * must not be able to fill the server's disk. Deleting old ones is the operator's choice, never ours.
 */
export const MAX_SERVER_BACKUPS = 20;
const SERVER_BACKUP_PREFIX = "capstan-backup-";
/** Backup directories being written by this process's API route: one at a time per data directory. */
const serverBackupsRunning = new Set<string>();
const VERSION_BATCH = 200;
/** Blobs copied at once: small files, so the time goes to opening them. */
const COPY_CONCURRENCY = 8;
/** A manifest lists one line per blob: far below this for any real instance. */
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;
const SHA256 = /^[0-9a-f]{64}$/;
const BLOB_PATH = /^blobs\/([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

export const SCALE_MODE_PROCEDURE =
  "In scale mode (PostgreSQL) back up with PostgreSQL's own tools: `pg_dump --format=custom --file=capstan.dump $CAPSTAN_DATABASE_URL` " +
  "(one consistent snapshot; with CAPSTAN_BLOB_STORE=postgres the blobs are in it), and restore with " +
  "`pg_restore --dbname=<empty database> capstan.dump`; keep CAPSTAN_SECRETS_KEY with it, separately. " +
  "With CAPSTAN_BLOB_STORE=fs:<dir>, copy that directory after the dump finishes. Then run `capstan admin verify` against the restored database.";

export interface BackupFile {
  /** Relative to the backup directory, with `/`. */
  path: string;
  size: number;
  sha256: string;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  format_version: number;
  created_at: string;
  /** The Capstan release that wrote it. */
  capstan_version: string;
  dialect: "sqlite";
  /** The snapshot's newest applied migration. */
  migration: string | null;
  /**
   * The ids of the secrets master keys the snapshot's secrets and key checks need (never the keys):
   * restore needs the same keys, from CAPSTAN_SECRETS_KEY or `<DATA_DIR>/secrets.key`.
   */
  secrets_key_ids: string[];
  versions: number;
  files: BackupFile[];
}

export interface BackupSummary {
  /** The backup directory (absolute). */
  dir: string;
  created_at: string;
  migration: string | null;
  versions: number;
  database_bytes: number;
  blob_count: number;
  blob_bytes: number;
}

type BackupDeps = Pick<ServiceDeps, "dialect" | "config" | "blobs" | "now">;

/** Refuses scale mode, naming the procedure that takes its place. */
function requireEmbeddedDefault(config: Config, what: "backup" | "restore"): string {
  if (config.database.dialect !== "sqlite" || config.blobStore.driver !== "fs") {
    throw conflict(
      `'capstan admin ${what}' works on the embedded default (SQLite and a blob directory). ${SCALE_MODE_PROCEDURE}`,
    );
  }
  return config.database.path;
}

/**
 * Writes a backup into `target`, which must not exist or be empty: first into a temporary sibling,
 * renamed into place once complete, so that a directory under that name is always a whole backup.
 */
export async function createBackup(deps: BackupDeps, target: string): Promise<BackupSummary> {
  const source = requireEmbeddedDefault(deps.config, "backup");
  if (source === ":memory:" || !existsSync(source)) {
    throw conflict(`there is no database at ${source} to back up (is the data directory right?)`);
  }
  const dir = path.resolve(target);
  await requireEmptyOrMissing(dir, "the backup target");
  await mkdir(path.dirname(dir), { recursive: true });
  const staging = path.join(
    path.dirname(dir),
    `.${path.basename(dir)}.partial-${randomBytes(6).toString("hex")}`,
  );
  // Owner-only: the copy holds key hashes and encrypted secrets, as the data directory does.
  await mkdir(staging, { mode: 0o700 });
  try {
    const createdAt = deps.now().toISOString();
    const databaseFile = path.join(staging, DATABASE_FILE);
    await snapshotSqlite(source, databaseFile);
    const snapshot = await readSnapshot(databaseFile);
    const blobs = [...snapshot.blobs].sort((a, b) => a[0].localeCompare(b[0]));
    const files: BackupFile[] = blobs.map(([sha256]) => ({ path: blobPath(sha256), size: 0, sha256 }));
    let next = 0;
    await Promise.all(
      Array.from({ length: COPY_CONCURRENCY }, async () => {
        while (next < blobs.length) {
          const index = next++;
          const [sha256, namedBy] = blobs[index];
          files[index].size = await copyBlob(deps, sha256, namedBy, path.join(staging, files[index].path));
        }
      }),
    );
    const blobBytes = files.reduce((sum, file) => sum + file.size, 0);
    const database = await digestFile(databaseFile);
    files.unshift({ path: DATABASE_FILE, ...database });
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      format_version: BACKUP_FORMAT_VERSION,
      created_at: createdAt,
      capstan_version: packageVersion(),
      dialect: "sqlite",
      migration: snapshot.migration,
      secrets_key_ids: snapshot.secretsKeyIds,
      versions: snapshot.versions,
      files,
    };
    await writeFile(path.join(staging, BACKUP_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, {
      mode: 0o600,
    });
    await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
    await rename(staging, dir);
    return {
      dir,
      created_at: createdAt,
      migration: snapshot.migration,
      versions: snapshot.versions,
      database_bytes: database.size,
      blob_count: files.length - 1,
      blob_bytes: blobBytes,
    };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The API route's backup (instance admins): the server picks the place, a new directory under
 * `<DATA_DIR>/backups`, so that no HTTP caller chooses a path on the server's file system.
 */
export async function createServerBackup(deps: ServiceDeps, scope: RequestScope): Promise<BackupSummary> {
  await requireInstanceAdmin(deps, scope.actor);
  requireEmbeddedDefault(deps.config, "backup");
  const backupsDir = path.join(deps.config.dataDir, SERVER_BACKUPS_DIR);
  // Checked and claimed with no await between, so two calls at once cannot both pass.
  if (serverBackupsRunning.has(backupsDir)) {
    throw conflict("a backup of this instance is being written already; ask again when it has finished");
  }
  serverBackupsRunning.add(backupsDir);
  let summary: BackupSummary;
  try {
    const kept = await countServerBackups(backupsDir);
    if (kept >= MAX_SERVER_BACKUPS) {
      throw conflict(
        `${backupsDir} holds ${kept} backups made through the API (at most ${MAX_SERVER_BACKUPS}); move or delete old ones first`,
      );
    }
    const name = serverBackupName(deps.now());
    summary = await createBackup(deps, path.join(backupsDir, name));
  } finally {
    serverBackupsRunning.delete(backupsDir);
  }
  const at = deps.now().toISOString();
  const entry = {
    orgId: null,
    action: "instance.backup.created",
    targetType: "backup",
    targetId: null,
    data: { name: path.basename(summary.dir) },
  };
  await inTransaction(deps, async (trx) => {
    await appendAudit(trx, scope, entry, at);
  });
  return summary;
}

async function countServerBackups(dir: string): Promise<number> {
  try {
    return (await readdir(dir)).filter((name) => name.startsWith(SERVER_BACKUP_PREFIX)).length;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
}

/** A backup name for the API route: when, to the second, and a random tail. */
export function serverBackupName(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${SERVER_BACKUP_PREFIX}${stamp}-${randomBytes(3).toString("hex")}`;
}

interface SnapshotContents {
  migration: string | null;
  secretsKeyIds: string[];
  versions: number;
  /** sha256 → the version that names it, for messages. */
  blobs: Map<string, string>;
}

async function readSnapshot(file: string): Promise<SnapshotContents> {
  const handle = connectSqliteReadOnly(file);
  try {
    const blobs = new Map<string, string>();
    let versions = 0;
    let after = "";
    for (;;) {
      const rows = await listLiveVersionRefsPage(handle.db, after, VERSION_BATCH);
      if (rows.length === 0) break;
      for (const row of rows) {
        versions += 1;
        const name = `${row.org_key}/${row.capability}@${row.version}`;
        blobs.set(row.artifact_sha256, name);
        for (const entry of JSON.parse(row.file_manifest) as FileManifestEntry[]) {
          if (!blobs.has(entry.sha256)) blobs.set(entry.sha256, name);
        }
      }
      after = rows[rows.length - 1].id;
    }
    const ids = new Set([
      ...keyCheckIds(await listSettings(handle.db)),
      ...(await secretKeyIdsInUse(handle.db)),
    ]);
    return {
      migration: await lastAppliedMigration(handle.db),
      secretsKeyIds: [...ids].sort(),
      versions,
      blobs,
    };
  } finally {
    await handle.close();
  }
}

async function copyBlob(deps: BackupDeps, sha256: string, namedBy: string, dest: string): Promise<number> {
  if (!SHA256.test(sha256))
    throw new AppError("server_error", `${namedBy} names an invalid blob '${sha256}'`);
  const stream = await deps.blobs.open(sha256);
  if (stream === null) {
    throw conflict(
      `blob ${sha256} (of ${namedBy}) is not in the blob store. If that version was deleted after the backup began, the collector may have taken it: run the backup again. Otherwise the data directory is damaged: see 'capstan admin verify'.`,
    );
  }
  await mkdir(path.dirname(dest), { recursive: true });
  const hash = createHash("sha256");
  let size = 0;
  stream.on("data", (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
  });
  await pipeline(stream, createWriteStream(dest, { mode: 0o600 }));
  if (hash.digest("hex") !== sha256) {
    throw conflict(
      `blob ${sha256} (of ${namedBy}) does not match its digest in the blob store: the data directory is damaged, see 'capstan admin verify'`,
    );
  }
  return size;
}

function blobPath(sha256: string): string {
  return `${BLOBS_DIR}/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}

async function digestFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest("hex") };
}

async function requireEmptyOrMissing(dir: string, what: string, allowed: string[] = []): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTDIR") throw conflict(`${what} ${dir} is a file, not a directory`);
    throw error;
  }
  const others = entries.filter((entry) => !allowed.includes(entry));
  if (others.length > 0) {
    throw conflict(
      `${what} ${dir} is not empty (${others.slice(0, 3).join(", ")}${others.length > 3 ? ", …" : ""}); it must be a new or empty directory`,
    );
  }
}

// --- restore -------------------------------------------------------------------------------------

export interface RestoreResult {
  manifest: BackupManifest;
  databasePath: string;
  blobDir: string;
  /** Things the operator must do or know before starting the server (the secrets key). */
  warnings: string[];
}

/**
 * Restores the backup in `from` into the data directory of `config`, which must be new or empty
 * (only a `secrets.key` put there beforehand may be in it). Every file is checked against the
 * manifest before anything is written; the blobs are then copied beside their final place and
 * renamed into it, the database last, so that a server never finds a partial restore.
 */
export async function restoreBackup(config: Config, from: string): Promise<RestoreResult> {
  const databasePath = path.resolve(requireEmbeddedDefault(config, "restore"));
  if (config.blobStore.driver !== "fs") throw new Error("unreachable");
  const blobDir = path.resolve(config.blobStore.dir);
  const source = path.resolve(from);
  await requireEmptyOrMissing(config.dataDir, "the data directory", [SECRETS_KEY_FILE]);
  if (existsSync(databasePath)) throw conflict(`there is a database at ${databasePath} already`);
  await requireEmptyOrMissing(blobDir, "the blob directory");
  const manifest = await readManifest(source);
  await verifyBackupFiles(source, manifest);

  const suffix = `.restore-${randomBytes(6).toString("hex")}`;
  const stagedBlobs = `${blobDir}${suffix}`;
  const stagedDatabase = `${databasePath}${suffix}`;
  try {
    await mkdir(path.dirname(databasePath), { recursive: true });
    await mkdir(stagedBlobs, { recursive: true });
    for (const file of manifest.files) {
      const match = BLOB_PATH.exec(file.path);
      const dest = match ? path.join(stagedBlobs, match[1], match[2], match[3]) : stagedDatabase;
      if (match) await mkdir(path.dirname(dest), { recursive: true });
      await copyFile(path.join(source, file.path), dest);
      // Checked again as written: the backup directory could change between the check and the copy.
      const written = await digestFile(dest);
      if (written.sha256 !== file.sha256 || written.size !== file.size) {
        throw invalid(`${file.path} changed while it was being restored; nothing was restored`);
      }
    }
    await syncFile(stagedDatabase);
    await rmdir(blobDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
    await rename(stagedBlobs, blobDir);
    await rename(stagedDatabase, databasePath);
  } catch (error) {
    await rm(stagedBlobs, { recursive: true, force: true });
    await rm(stagedDatabase, { force: true });
    throw error;
  }
  return {
    manifest,
    databasePath,
    blobDir,
    warnings: await secretsKeyWarnings(config, databasePath, manifest),
  };
}

async function syncFile(file: string): Promise<void> {
  const handle = await open(file, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads and checks the manifest's shape; every path must be one a backup writes. */
export async function readManifest(dir: string): Promise<BackupManifest> {
  const file = path.join(dir, BACKUP_MANIFEST_FILE);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch {
    throw invalid(`${dir} is not a Capstan backup: it has no ${BACKUP_MANIFEST_FILE}`);
  }
  if (info.size > MAX_MANIFEST_BYTES) throw invalid(`${file} is too large to be a backup manifest`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch {
    throw invalid(`the backup is damaged: ${file} is not JSON`);
  }
  const manifest = parsed as Partial<BackupManifest>;
  if (manifest?.format !== BACKUP_FORMAT) throw invalid(`${dir} is not a Capstan backup (format)`);
  if (manifest.format_version !== BACKUP_FORMAT_VERSION) {
    throw invalid(
      `the backup's format version ${String(manifest.format_version)} is not one this release reads (${BACKUP_FORMAT_VERSION})`,
    );
  }
  if (typeof manifest.migration === "string" && manifest.migration > LATEST_MIGRATION) {
    throw invalid(
      `the backup was made by a newer Capstan (${String(manifest.capstan_version)}, migration ${manifest.migration}); restore it with that release or a later one`,
    );
  }
  const files = Array.isArray(manifest.files) ? manifest.files : [];
  const paths = new Set<string>();
  for (const entry of files) {
    const ok =
      typeof entry === "object" &&
      entry !== null &&
      typeof entry.path === "string" &&
      Number.isSafeInteger(entry.size) &&
      entry.size >= 0 &&
      typeof entry.sha256 === "string" &&
      SHA256.test(entry.sha256) &&
      (entry.path === DATABASE_FILE || entry.path === blobPath(entry.sha256)) &&
      !paths.has(entry.path);
    if (!ok) throw invalid(`the backup is damaged: its manifest lists an invalid file entry`);
    paths.add(entry.path);
  }
  if (!paths.has(DATABASE_FILE))
    throw invalid(`the backup is damaged: its manifest lists no ${DATABASE_FILE}`);
  if (!Array.isArray(manifest.secrets_key_ids)) manifest.secrets_key_ids = [];
  return manifest as BackupManifest;
}

/** Every file's size and sha256 against the manifest; one error listing every mismatch. */
export async function verifyBackupFiles(dir: string, manifest: BackupManifest): Promise<void> {
  const damaged: string[] = [];
  for (const file of manifest.files) {
    // A symbolic link (or anything but a regular file) in a backup is not what backup writes, and
    // following it would read files outside the backup.
    const info = await lstat(path.join(dir, file.path)).catch(() => null);
    const actual =
      info?.isFile() === true ? await digestFile(path.join(dir, file.path)).catch(() => null) : null;
    if (info !== null && !info.isFile()) damaged.push(`${file.path} is not a regular file`);
    else if (actual === null) damaged.push(`${file.path} is missing`);
    else if (actual.size !== file.size)
      damaged.push(`${file.path} has ${actual.size} bytes, not ${file.size}`);
    else if (actual.sha256 !== file.sha256) damaged.push(`${file.path} does not match its sha256`);
  }
  if (damaged.length > 0) {
    throw invalid(
      `the backup in ${dir} is damaged: ${damaged.length} file(s) do not match its manifest (${damaged.slice(0, 5).join("; ")}${damaged.length > 5 ? "; …" : ""}); nothing was restored`,
      damaged.slice(0, 100).map((msg) => ({ loc: ["backup"], msg, type: "digest_mismatch" })),
    );
  }
}

/** What the operator must know about the secrets master key before starting the server. */
async function secretsKeyWarnings(
  config: Config,
  databasePath: string,
  manifest: BackupManifest,
): Promise<string[]> {
  const handle = connectSqliteReadOnly(databasePath);
  let settings: Array<{ key: string; value: string }>;
  try {
    settings = await listSettings(handle.db);
  } finally {
    await handle.close();
  }
  const needed = manifest.secrets_key_ids;
  if (needed.length === 0) return [];
  const keyFile = path.join(config.dataDir, SECRETS_KEY_FILE);
  let keyring: SecretsKeyring | null = config.secretsKeyring;
  let source = "CAPSTAN_SECRETS_KEY";
  if (keyring === null && existsSync(keyFile)) {
    const parsed = parseSecretsKeyring(await readFile(keyFile, "utf8"));
    keyring = typeof parsed === "string" ? null : parsed;
    source = keyFile;
  }
  const ids = needed.map((id) => `'${id}'`).join(", ");
  if (keyring === null) {
    return [
      `The backup's workspace secrets need the secrets master key(s) ${ids}, which a backup never holds. Before starting the server, set CAPSTAN_SECRETS_KEY or copy the original ${SECRETS_KEY_FILE} into ${config.dataDir} (mode 0600): the server refuses to start with another key.`,
    ];
  }
  const warnings: string[] = [];
  const missing = needed.filter((id) => keyring.find(id) === undefined);
  if (missing.length > 0) {
    warnings.push(
      `The secrets master key (${source}: ${keyring.ids.join(", ")}) lacks key id(s) ${missing.map((id) => `'${id}'`).join(", ")}, which the backup's secrets need: the server will refuse to start until it has them.`,
    );
  }
  const wrong = keysFailingKeyCheck(keyring, settings);
  if (wrong.length > 0) {
    warnings.push(
      `The secrets master key ${wrong.map((id) => `'${id}'`).join(", ")} (${source}) is not the key of that id the backup's secrets were encrypted with: the server will refuse to start with it. Give it the original key.`,
    );
  }
  return warnings;
}
