// The runtime side of Capstan (SPEC §9 `runtime sync`): make a directory hold exactly the enabled
// capabilities of one runtime. Everything that can fail (download, digest check, unpacking) happens
// in a staging directory first; only then are the capability directories swapped in by renames, so
// a failed sync leaves the directory as it was.
import {
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BundleRejectedError, bundleLimitsFor, readBundle } from "../../domain/bundle-reader.js";
import { buildFileManifest, runtimeDigestOf } from "../../domain/digests.js";
import { IgnoreMatcher, parseIgnoreRules } from "../../domain/ignore-rules.js";
import type { BundleFile } from "../../domain/types.js";
import type { ApiClient } from "../api-client.js";
import type { Resolved, ResolvedEntry } from "../api-types.js";
import { writeFileAtomically } from "../atomic-write.js";
import { downloadVerified } from "../bundle-download.js";
import { CliError } from "../cli-errors.js";
import type { Progress } from "../progress.js";
import { buildMcpConfig, renderMcpConfig } from "./mcp-config.js";
import { checkedResolvedSet } from "./resolved-check.js";
import type { CheckResult } from "./run-checks.js";
import { fetchSecretValues, writeSecretFiles } from "./secret-files.js";
import { runtimeOrgOf, verifyResolvedSignatures } from "./signature-check.js";
import {
  capabilityDirectory,
  ENV_FILE,
  MCP_FILE,
  ownedEntries,
  readState,
  renderEnvFile,
  renderState,
  STATE_FILE,
  type SyncedCapability,
  type SyncState,
  stateOf,
} from "./sync-state.js";

export interface SyncTarget {
  api: ApiClient;
  runtimeId: string;
  /** `/org/{org}/ws/{workspace}/runtimes/{id}` */
  runtimePath: string;
}

export interface SyncOptions {
  dir: string;
  /** Replace or remove what is in the way even when the sync did not create it (and own it from then on). */
  force?: boolean;
  maxBundleBytes: number;
  signal?: AbortSignal;
  /** Reports a download's progress (a progress bar on a terminal). */
  startProgress?: (label: string) => Progress;
  /** Ask the server to hold an unchanged answer this long (`Prefer: wait=N`, SPEC §12). */
  waitSeconds?: number;
}

export interface SyncReport {
  status: "unchanged" | "updated";
  runtime_id: string;
  runtime_digest: string;
  downloaded: { name: string; version: string }[];
  removed: string[];
  kept: { name: string; version: string }[];
  /** With --run-checks, when they ran after this sync. */
  checks?: CheckResult[];
}

const STAGING_PREFIX = ".capstan-sync-";
const LOCK_FILE = ".capstan-sync.lock";

export async function syncRuntime(target: SyncTarget, options: SyncOptions): Promise<SyncReport> {
  return (await syncOnce(target, options)).report;
}

/** One sync, and whether the server held the request as asked (it then answered Preference-Applied). */
interface SyncOutcome {
  report: SyncReport;
  held: boolean;
}

async function syncOnce(target: SyncTarget, options: SyncOptions): Promise<SyncOutcome> {
  await mkdir(options.dir, { recursive: true });
  const release = await lockDirectory(options.dir);
  try {
    await removeStagingLeftovers(options.dir);
    return await syncLocked(target, options);
  } finally {
    await release();
  }
}

/** A held request may take the whole wait: its deadline is the wait and this margin. */
const WAIT_MARGIN_MS = 30_000;

async function syncLocked(target: SyncTarget, options: SyncOptions): Promise<SyncOutcome> {
  const { dir } = options;
  const previous = await readState(dir);
  if (previous !== null && previous.runtime_id !== target.runtimeId) {
    throw new CliError(
      `${dir} holds the capabilities of runtime ${previous.runtime_id}; sync another runtime elsewhere`,
    );
  }
  const owned = previous === null ? new Set<string>() : ownedEntries(previous);
  // A 304 only proves the server's side unchanged: the local copy must be complete to rely on it.
  const intact =
    previous !== null &&
    previous.etag !== "" &&
    (await isFile(path.join(dir, ENV_FILE))) &&
    (!owned.has(MCP_FILE) || (await isFile(path.join(dir, MCP_FILE)))) &&
    (await allDirectoriesPresent(dir, previous.capabilities));
  const wait = intact ? options.waitSeconds : undefined;
  const response = await target.api.get<Resolved>(`${target.runtimePath}/capabilities/resolved`, {
    headers: intact ? { "if-none-match": previous.etag, ...(wait ? { prefer: `wait=${wait}` } : {}) } : {},
    accept: [304],
    signal: options.signal,
    ...(wait ? { timeoutMs: wait * 1000 + WAIT_MARGIN_MS } : {}),
  });
  const held = wait !== undefined && /\bwait=/.test(response.headers.get("preference-applied") ?? "");
  if (response.status === 304) return { report: unchangedReport(previous), held };
  const resolved = checkedResolvedSet(response.body);
  verifyResolvedSignatures(resolved, runtimeOrgOf(target.runtimePath));
  const etag = response.headers.get("etag") ?? `"${resolved.runtime_digest}"`;

  const reusable = await reusableCapabilities(dir, previous);
  const changed = resolved.capabilities.filter((item) => reusable.get(item.name) !== item.artifact_digest);
  const kept = resolved.capabilities.filter((item) => reusable.get(item.name) === item.artifact_digest);
  const bound = new Set(resolved.capabilities.map((item) => capabilityDirectory(item.name)));
  // Owned directories no longer bound, those of an interrupted sync included.
  const unbound = [...owned].filter(
    (entry) => entry !== STATE_FILE && entry !== ENV_FILE && entry !== MCP_FILE && !bound.has(entry),
  );

  // Before anything is downloaded: nothing in the way may be someone else's.
  const recordedFiles = new Map(
    (previous?.capabilities ?? []).map((item) => [item.directory, item.files] as const),
  );
  const replaced = [ENV_FILE, MCP_FILE, ...changed.map((item) => capabilityDirectory(item.name)), ...unbound];
  if (!options.force) {
    const foreign = await foreignPaths(dir, replaced, owned, recordedFiles, previous !== null);
    if (foreign.length > 0) throw refuseForeign(dir, foreign);
  }

  const staging = await mkdtemp(path.join(dir, STAGING_PREFIX));
  try {
    const unpacked = new Map<string, string[]>();
    for (const capability of changed) {
      unpacked.set(capability.name, await stageCapability(target, capability, staging, options));
    }
    for (const capability of kept) {
      const files = recordedFiles.get(capabilityDirectory(capability.name));
      if (files !== undefined) unpacked.set(capability.name, files);
    }
    // Fetched before anything is renamed: a refusal leaves DIR as it was.
    const secretValues = await fetchSecretValues(target.api, target.runtimePath, resolved, options.signal);
    options.signal?.throwIfAborted();
    // From here on nothing is interrupted: every step is a rename or a small atomic write. The
    // state claims what is about to be written first, so that a crash part-way leaves nothing the
    // next sync would mistake for someone else's; its empty ETag makes that sync fetch everything.
    await writeFileAtomically(
      path.join(dir, STATE_FILE),
      renderState({
        runtime_id: target.runtimeId,
        etag: "",
        runtime_digest: previous?.runtime_digest ?? "",
        capabilities: interimCapabilities(previous, unpacked),
        owned: [...new Set([...owned, STATE_FILE, ...replaced])],
      }),
    );
    await swapIn(dir, staging, changed);
    await moveAway(dir, staging, unbound);
    await writeFileAtomically(path.join(dir, ENV_FILE), renderEnvFile(resolved));
    await writeFileAtomically(path.join(dir, MCP_FILE), renderMcpConfig(await buildMcpConfig(dir, resolved)));
    await writeSecretFiles(dir, secretValues);
    await writeFileAtomically(
      path.join(dir, STATE_FILE),
      renderState(stateOf(target.runtimeId, etag, resolved, unpacked)),
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const names = new Map((previous?.capabilities ?? []).map((item) => [item.directory, item.name]));
  return {
    report: report(
      "updated",
      target.runtimeId,
      resolved.runtime_digest,
      changed.map(({ name, version }) => ({ name, version })),
      unbound.filter((entry) => names.has(entry)).map((entry) => names.get(entry) as string),
      kept.map(({ name, version }) => ({ name, version })),
    ),
    held,
  };
}

/**
 * The previous capabilities as the state written before the renames records them: a capability
 * about to be replaced lists its old files and the new ones, since a sync killed part-way may leave
 * either version in its directory and the next sync must recognise both as its own.
 */
function interimCapabilities(
  previous: SyncState | null,
  unpacked: ReadonlyMap<string, string[]>,
): SyncedCapability[] {
  return (previous?.capabilities ?? []).map((capability) => {
    const incoming = unpacked.get(capability.name);
    if (capability.files === undefined || incoming === undefined) return capability;
    return { ...capability, files: [...new Set([...capability.files, ...incoming])].sort() };
  });
}

/**
 * What a runtime writes into a capability directory by running it (bytecode caches, installed
 * packages, OS litter): a subset of the built-in ignore patterns, so never part of a bundle. The
 * sync removes them with the directory instead of calling them someone else's files. The other
 * defaults stay protected: version control folders and `.env*` files are put there by a person.
 */
export const RUNTIME_BYPRODUCT_PATTERNS: readonly string[] = [
  "__pycache__/",
  "*.pyc",
  ".DS_Store",
  "node_modules/",
];

const runtimeByproducts = new IgnoreMatcher(
  parseIgnoreRules(RUNTIME_BYPRODUCT_PATTERNS.join("\n"), "runtime byproduct"),
);

/**
 * The paths among `entries` (and inside owned capability directories) that the sync did not
 * create: an entry that exists but is not owned, a file in an owned directory that the sync did not
 * unpack there (runtime byproducts aside), and a resolved.json that is not a state the sync wrote.
 */
async function foreignPaths(
  dir: string,
  entries: string[],
  owned: Set<string>,
  recordedFiles: Map<string, string[] | undefined>,
  stateTrusted: boolean,
): Promise<string[]> {
  const foreign: string[] = [];
  if (!stateTrusted && (await exists(path.join(dir, STATE_FILE)))) foreign.push(path.join(dir, STATE_FILE));
  for (const entry of entries) {
    const target = path.join(dir, entry);
    if (!(await exists(target))) continue;
    if (!owned.has(entry)) {
      foreign.push(target);
      continue;
    }
    const recorded = recordedFiles.get(entry);
    if (recorded === undefined || !(await isDirectory(target))) continue;
    const known = new Set(recorded);
    for (const file of await filesBelow(target)) {
      if (!known.has(file) && !runtimeByproducts.ignores(file)) foreign.push(path.join(target, file));
    }
  }
  return foreign;
}

const LISTED_FOREIGN_PATHS = 10;

function refuseForeign(dir: string, foreign: string[]): CliError {
  const shown = foreign.slice(0, LISTED_FOREIGN_PATHS);
  const more = foreign.length - shown.length;
  const list = [...shown, ...(more > 0 ? [`… and ${more} more`] : [])].map((line) => `  ${line}`).join("\n");
  return new CliError(
    `refusing to sync into ${dir}: it holds what capstan sync did not create, which it would replace or remove:\n${list}`,
    [],
    "Move these away, sync into another --dir, or pass --force to let the sync adopt them (they are replaced or removed, and from then on managed by the sync).",
  );
}

/** Downloads, verifies and unpacks one capability into `staging/new/<directory>`. */
async function stageCapability(
  target: SyncTarget,
  capability: ResolvedEntry,
  staging: string,
  options: SyncOptions,
): Promise<string[]> {
  const progress = options.startProgress?.(`${capability.name}@${capability.version}`);
  const archive = await downloadVerified(target.api, capability.download_url, capability.artifact_digest, {
    maxBytes: options.maxBundleBytes,
    signal: options.signal,
    onProgress: (received, total) => progress?.update(received, total),
  }).finally(() => progress?.finish());
  // The same reader, with the same limits, as the server's publish: an archive is never trusted.
  const bundle = await readBundle(archive, bundleLimitsFor(options.maxBundleBytes)).catch((error) => {
    const issues = error instanceof BundleRejectedError ? error.issues : [];
    throw new CliError(`the bundle of ${capability.name}@${capability.version} cannot be unpacked`, issues);
  });
  const digest = runtimeDigestOf(buildFileManifest(bundle.files));
  if (digest !== capability.runtime_digest) {
    throw new CliError(
      `${capability.name}@${capability.version} unpacks to ${digest}, not the announced ${capability.runtime_digest}`,
    );
  }
  await writeFiles(path.join(staging, "new", capabilityDirectory(capability.name)), bundle.files);
  return bundle.files.map((file) => file.path).sort();
}

async function writeFiles(directory: string, files: BundleFile[]): Promise<void> {
  const root = path.resolve(directory);
  await mkdir(root, { recursive: true });
  for (const file of files) {
    const target = path.resolve(root, file.path);
    // readBundle already refuses absolute paths and "..": this guards against a change there.
    if (!target.startsWith(`${root}${path.sep}`))
      throw new CliError(`refusing to write ${file.path} outside ${root}`);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content, { flag: "wx" });
  }
}

/** Old directory renamed away, new one renamed in; the old copies go with the staging directory. */
async function swapIn(dir: string, staging: string, capabilities: ResolvedEntry[]): Promise<void> {
  await mkdir(path.join(staging, "old"), { recursive: true });
  for (const capability of capabilities) {
    const name = capabilityDirectory(capability.name);
    await rename(path.join(dir, name), path.join(staging, "old", name)).catch(ignoreMissing);
    await rename(path.join(staging, "new", name), path.join(dir, name));
  }
}

async function moveAway(dir: string, staging: string, directories: string[]): Promise<void> {
  await mkdir(path.join(staging, "gone"), { recursive: true });
  for (const directory of directories) {
    await rename(path.join(dir, directory), path.join(staging, "gone", directory)).catch(ignoreMissing);
  }
}

/** Every file and link below `root`, as `/`-separated paths relative to it. */
async function filesBelow(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"));
}

async function exists(target: string): Promise<boolean> {
  return (await lstat(target).catch(() => null)) !== null;
}

/** Name → artifact digest of the capabilities already on disk as the last sync left them. */
async function reusableCapabilities(dir: string, previous: SyncState | null): Promise<Map<string, string>> {
  const reusable = new Map<string, string>();
  for (const capability of previous?.capabilities ?? []) {
    if (await isDirectory(path.join(dir, capability.directory)))
      reusable.set(capability.name, capability.artifact_digest);
  }
  return reusable;
}

async function allDirectoriesPresent(dir: string, capabilities: SyncedCapability[]): Promise<boolean> {
  for (const capability of capabilities) {
    if (!(await isDirectory(path.join(dir, capability.directory)))) return false;
  }
  return true;
}

async function isDirectory(target: string): Promise<boolean> {
  return (await stat(target).catch(() => null))?.isDirectory() === true;
}

async function isFile(target: string): Promise<boolean> {
  return (await stat(target).catch(() => null))?.isFile() === true;
}

/** A killed sync's staging directory, and the temporary files of its atomic writes. */
const LEFTOVER = /^(\.capstan-sync-|\.(resolved\.json|capabilities\.env|mcp\.json)\.[0-9a-f]{12}\.tmp$)/;

async function removeStagingLeftovers(dir: string): Promise<void> {
  for (const entry of await readdir(dir)) {
    if (LEFTOVER.test(entry)) await rm(path.join(dir, entry), { recursive: true, force: true });
  }
}

/** One sync per directory at a time; a lock left by a process that no longer runs is taken over. */
async function lockDirectory(dir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(lockPath).catch(ignoreMissing);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number((await readFile(lockPath, "utf8").catch(() => "")).trim());
      if (isRunning(holder)) throw new CliError(`another capstan sync (pid ${holder}) is working in ${dir}`);
      await unlink(lockPath).catch(ignoreMissing);
    }
  }
  throw new CliError(`cannot lock ${dir}: ${lockPath} keeps coming back`);
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
}

/** If-None-Match is only sent with a previous state, so a 304 always has one to report. */
function unchangedReport(previous: SyncState | null): SyncReport {
  if (previous === null) throw new CliError("the server answered 304 to a request without If-None-Match");
  const kept = previous.capabilities.map(({ name, version }) => ({ name, version }));
  return report("unchanged", previous.runtime_id, previous.runtime_digest, [], [], kept);
}

function report(
  status: SyncReport["status"],
  runtimeId: string,
  runtimeDigest: string,
  downloaded: SyncReport["downloaded"],
  removed: string[],
  kept: SyncReport["kept"],
): SyncReport {
  return { status, runtime_id: runtimeId, runtime_digest: runtimeDigest, downloaded, removed, kept };
}

// --- watching --------------------------------------------------------------------------------------

export interface WatchOptions {
  intervalMs: number;
  signal: AbortSignal;
  /** Resolves the target again after a failure, so a watch can start before the server is up. */
  target: () => Promise<SyncTarget>;
  sync: Omit<SyncOptions, "signal">;
  /** After each successful sync and before its report (checks, status); `first` for the watch's first. */
  afterSync?(target: SyncTarget, report: SyncReport, first: boolean): Promise<void>;
  /** After a failure, before it is printed; `target` is null when it could not be resolved. */
  afterFailure?(target: SyncTarget | null, error: unknown): Promise<void>;
  onReport(report: SyncReport): void;
  onFailure(error: unknown, retryInMs: number): void;
}

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 5 * 60_000;
/** A held request answered sooner than this (a server closing) is not asked again at once. */
const MIN_HELD_MS = 1_000;

/**
 * Syncs until the signal fires. With `sync.waitSeconds` each request is held by the server until
 * something changes (SPEC §12), and the next one is sent at once; a server that does not hold it
 * (no Preference-Applied) is polled every `intervalMs`. Failures (server restarts, network errors)
 * are retried with backoff.
 */
export async function watchRuntime(options: WatchOptions): Promise<void> {
  const { signal } = options;
  let failures = 0;
  let first = true;
  while (!signal.aborted) {
    let pause = options.intervalMs;
    let target: SyncTarget | null = null;
    try {
      target = await options.target();
      const started = performance.now();
      const { report, held } = await syncOnce(target, { ...options.sync, signal });
      await options.afterSync?.(target, report, first);
      first = false;
      options.onReport(report);
      failures = 0;
      if (report.status === "updated") pause = 0;
      else if (held) pause = Math.max(0, MIN_HELD_MS - (performance.now() - started));
    } catch (error) {
      if (signal.aborted) break;
      failures += 1;
      pause = retryDelay(failures);
      await options.afterFailure?.(target, error);
      options.onFailure(error, pause);
    }
    if (pause > 0) await sleep(pause, undefined, { signal }).catch(() => {});
  }
}

/** Doubles from 1 s up to 5 min, with jitter so that a fleet of runtimes does not retry in step. */
export function retryDelay(failures: number): number {
  const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(failures - 1, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
