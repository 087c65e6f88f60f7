// What `capstan runtime sync` leaves in its directory besides the capabilities themselves:
// resolved.json (the last resolved set, its ETag, where each capability lives and every path the
// sync created) and capabilities.env (the effective flags as environment variables).
//
// The sync owns only what it wrote: a user once ran it on a directory that already held a folder
// named like a bound capability and their own capabilities.env, and both were replaced. So the state
// records what the sync created (`owned`) and the files it unpacked into each capability directory
// (`files`); anything else in the way is refused unless the user passes --force to adopt it.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Resolved } from "../api-types.js";
import { fileSafeName } from "../capability-ref.js";
import { isCapabilityName } from "./resolved-check.js";

export const STATE_FILE = "resolved.json";
export const ENV_FILE = "capabilities.env";
/** The MCP servers of the synced capabilities, for MCP clients (SPEC §12; see mcp-config.ts). */
export const MCP_FILE = "mcp.json";

export interface SyncedCapability {
  name: string;
  version: string;
  /** Sub-directory of the sync directory holding the unpacked bundle. */
  directory: string;
  artifact_digest: string;
  runtime_digest: string;
  artifact_s3_prefix: string;
  flags: Record<string, boolean>;
  effective_flags: Record<string, boolean>;
  /** Every file the sync unpacked into `directory` (`/`-separated); absent in states written before it was kept. */
  files?: string[];
}

export interface SyncState {
  runtime_id: string;
  /** The ETag of the resolved set, sent back as If-None-Match; empty when no sync completed. */
  etag: string;
  runtime_digest: string;
  capabilities: SyncedCapability[];
  /**
   * Every entry of the sync directory the sync created or adopted (capability directories,
   * capabilities.env, resolved.json), also those of an interrupted sync; absent in states written
   * before it was kept, which owned exactly their capabilities' directories and the two files.
   */
  owned?: string[];
}

/**
 * `owner/name` becomes `owner__name`: one path segment, and never a bare name's directory (names
 * have no `_`). Names cannot start with "." nor contain one, so they never meet the state files.
 */
export function capabilityDirectory(name: string): string {
  return fileSafeName(name);
}

/**
 * The state to write after a sync; signed download URLs are left out: they expire, and they are
 * credentials until then. `files` maps a capability's name to the files unpacked for it.
 */
export function stateOf(
  runtimeId: string,
  etag: string,
  resolved: Resolved,
  files: ReadonlyMap<string, string[]> = new Map(),
): SyncState {
  return {
    runtime_id: runtimeId,
    etag,
    runtime_digest: resolved.runtime_digest,
    owned: [
      STATE_FILE,
      ENV_FILE,
      MCP_FILE,
      ...resolved.capabilities.map((item) => capabilityDirectory(item.name)),
    ],
    capabilities: resolved.capabilities.map((capability) => ({
      name: capability.name,
      version: capability.version,
      directory: capabilityDirectory(capability.name),
      artifact_digest: capability.artifact_digest,
      runtime_digest: capability.runtime_digest,
      artifact_s3_prefix: capability.artifact_s3_prefix,
      flags: capability.flags,
      effective_flags: capability.effective_flags,
      ...(files.has(capability.name) ? { files: files.get(capability.name) } : {}),
    })),
  };
}

/** The entries of the sync directory that `state` says the sync created. */
export function ownedEntries(state: SyncState): Set<string> {
  return new Set(state.owned ?? [STATE_FILE, ENV_FILE, ...state.capabilities.map((item) => item.directory)]);
}

/** An entry a state may claim: one of the sync's files, or a capability's own directory. */
function isOwnableEntry(entry: unknown): boolean {
  return (
    entry === STATE_FILE ||
    entry === ENV_FILE ||
    entry === MCP_FILE ||
    (typeof entry === "string" && isCapabilityName(entry.replace("__", "/")) && !entry.includes("/"))
  );
}

function isFileList(files: unknown): boolean {
  return (
    files === undefined ||
    (Array.isArray(files) &&
      files.every(
        (file) =>
          typeof file === "string" &&
          file !== "" &&
          !file.startsWith("/") &&
          file.split("/").every((segment) => segment !== "" && segment !== "." && segment !== ".."),
      ))
  );
}

/** The previous state, or null when there is none or it cannot be trusted. */
export async function readState(dir: string): Promise<SyncState | null> {
  try {
    const state = JSON.parse(await readFile(path.join(dir, STATE_FILE), "utf8")) as SyncState;
    // Directories named here are replaced and removed: each must be a capability's own one, under DIR.
    const wellFormed =
      typeof state.runtime_id === "string" &&
      typeof state.etag === "string" &&
      Array.isArray(state.capabilities) &&
      state.capabilities.every(
        (item) =>
          isCapabilityName(item?.name) &&
          item.directory === capabilityDirectory(item.name) &&
          isFileList(item.files),
      ) &&
      (state.owned === undefined || (Array.isArray(state.owned) && state.owned.every(isOwnableEntry)));
    return wellFormed ? state : null;
  } catch {
    return null;
  }
}

export function renderState(state: SyncState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

/**
 * `CAPABILITY_FLAG__<CAPABILITY>__<FLAG>=1|0` for every effective flag, names upper-cased with
 * `-` → `_` (`owner/name` as `OWNER__NAME`), sorted, so that the file only changes when a flag does.
 */
export function renderEnvFile(resolved: Resolved): string {
  const lines = resolved.capabilities.flatMap((capability) =>
    Object.entries(capability.effective_flags).map(
      ([flag, on]) =>
        `CAPABILITY_FLAG__${envName(capabilityDirectory(capability.name))}__${envName(flag)}=${on ? 1 : 0}`,
    ),
  );
  lines.sort();
  return lines.map((line) => `${line}\n`).join("");
}

function envName(name: string): string {
  return name.toUpperCase().replaceAll("-", "_");
}
