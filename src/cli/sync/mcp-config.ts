// DIR/mcp.json (SPEC §12): the MCP servers of the synced capabilities in the format MCP clients read
// (`{"mcpServers": {…}}`), so a runtime can start them without knowing Capstan. Every server of
// every enabled capability whose `when` flags allow it, named `<capability>.<server>`, its
// command, arguments and working directory resolved to where the sync unpacked it. `${NAME}` in
// `env` and headers is left as written: the values live in DIR/secrets/<capability>.env, never here.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { DEFINITION_FILE_LIMITS } from "../../domain/bounded-parse.js";
import { MANIFEST_PATH, type McpServer, parseManifest } from "../../domain/manifest.js";
import type { Resolved } from "../api-types.js";
import { capabilityDirectory } from "./sync-state.js";

/** The discovery defaults of SPEC §4.3 when `mcp` is omitted. */
const DEFAULT_MCP_FILES = [".mcp.json", "mcp.json"];

type Json = Record<string, unknown>;

export interface McpConfig {
  mcpServers: Record<string, Json>;
}

/** The servers of every capability of `resolved`, as unpacked below `dir`. */
export async function buildMcpConfig(dir: string, resolved: Resolved): Promise<McpConfig> {
  const mcpServers: Record<string, Json> = {};
  for (const capability of resolved.capabilities) {
    const root = path.join(dir, capabilityDirectory(capability.name));
    for (const [name, server] of await serversOf(root, capability.effective_flags)) {
      mcpServers[`${capability.name}.${name}`] = server;
    }
  }
  return { mcpServers };
}

/** Files first (an earlier file wins a name), then inline servers, which win: as the server discovers them. */
async function serversOf(root: string, flags: Record<string, boolean>): Promise<Map<string, Json>> {
  const servers = new Map<string, Json>();
  const source = await readInside(root, MANIFEST_PATH);
  if (source === null) return servers;
  // The server validated this manifest at publish and the digest proved these are its bytes.
  const { manifest } = parseManifest(source, { allowPrerelease: true });
  if (manifest === null) return servers;
  const files = manifest.mcp ? manifest.mcp.files : DEFAULT_MCP_FILES;
  for (const file of files) {
    for (const [name, entry] of Object.entries(await mcpFileServers(root, file))) {
      if (!servers.has(name) && isMap(entry)) servers.set(name, runnable(root, entry));
    }
  }
  for (const [name, server] of Object.entries(manifest.mcp?.servers ?? {})) {
    servers.delete(name);
    if (allowedBy(server, flags)) servers.set(name, runnable(root, inlineEntry(server)));
  }
  return servers;
}

/** `when` lists flags; the server is active when any of them is true (SPEC §4.2). */
function allowedBy(server: McpServer, flags: Record<string, boolean>): boolean {
  return server.when === undefined || server.when.some((flag) => flags[flag] === true);
}

/** An inline server as an MCP client's entry: Capstan's own keys (`when`, timeouts) left out. */
function inlineEntry(server: McpServer): Json {
  if ("url" in server) {
    const headers = Object.fromEntries(
      Object.entries(server.headers ?? {}).map(([name, header]) => [
        name,
        typeof header === "string" ? header : header.value,
      ]),
    );
    return { type: "http", url: server.url, ...(server.headers ? { headers } : {}) };
  }
  return {
    command: server.command,
    ...(server.args ? { args: server.args } : {}),
    ...(server.env ? { env: server.env } : {}),
    ...(server.cwd ? { cwd: server.cwd } : {}),
  };
}

/**
 * A stdio server's working directory becomes absolute (the capability's directory by default), and
 * a command or argument written as a relative path (`./server.py`, `bin/run`) is resolved against
 * it, so the entry works from wherever the client starts it. Bare program names (`npx`, `uv`) and
 * options stay as written. HTTP servers are left as they are.
 */
function runnable(root: string, entry: Json): Json {
  if (typeof entry.command !== "string") return entry;
  const cwd = typeof entry.cwd === "string" ? resolveInside(root, entry.cwd) : root;
  const resolved: Json = { ...entry, command: resolvePathLike(cwd, entry.command), cwd };
  if (Array.isArray(entry.args)) {
    resolved.args = entry.args.map((arg) => (typeof arg === "string" ? resolvePathLike(cwd, arg) : arg));
  }
  return resolved;
}

function resolvePathLike(cwd: string, value: string): string {
  return /^\.\.?\//.test(value) ? path.resolve(cwd, value) : value;
}

/** A directory inside the capability's; one that would leave it falls back to the capability's own. */
function resolveInside(root: string, relative: string): string {
  const target = path.resolve(root, relative);
  return target === root || target.startsWith(`${root}${path.sep}`) ? target : root;
}

async function mcpFileServers(root: string, file: string): Promise<Json> {
  const content = await readInside(root, file);
  if (content === null) return {};
  try {
    const parsed: unknown = JSON.parse(content.toString("utf8"));
    return isMap(parsed) && isMap(parsed.mcpServers) ? parsed.mcpServers : {};
  } catch {
    return {};
  }
}

/** A regular file of the capability within the size the server allows such documents; null otherwise. */
async function readInside(root: string, file: string): Promise<Buffer | null> {
  const target = path.resolve(root, file);
  if (!target.startsWith(`${root}${path.sep}`)) return null;
  const info = await stat(target).catch(() => null);
  if (!info?.isFile() || info.size > DEFINITION_FILE_LIMITS.maxBytes) return null;
  return readFile(target);
}

function isMap(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function renderMcpConfig(config: McpConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}
