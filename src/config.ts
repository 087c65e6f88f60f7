// The only reader of process.env. Configuration is validated once at boot and frozen; a bad value
// stops the process with a message naming the variable (SPEC §1).

import path from "node:path";
import proxyAddr from "@fastify/proxy-addr";
import { API_KEY_PATTERN } from "./domain/names.js";
import { parseSemver } from "./domain/semver.js";
import { parseSecretsKeyring, type SecretsKeyring } from "./lib/secret-crypto.js";

export type DatabaseTarget = { dialect: "sqlite"; path: string } | { dialect: "postgres"; url: string };
export type BlobStoreTarget = { driver: "fs"; dir: string } | { driver: "postgres" };
/** Which peers' X-Forwarded-* headers count: none, every peer, or these addresses and ranges. */
export type TrustProxy = boolean | readonly string[];

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  database: DatabaseTarget;
  blobStore: BlobStoreTarget;
  bootstrapToken: string | null;
  publicUrl: string | null;
  signingSecret: string | null;
  /** CAPSTAN_ROTATE_SIGNING_SECRET: make this instance's signing secret the database's. */
  rotateSigningSecret: boolean;
  minClientVersion: string | null;
  rateLimitRpm: number;
  rateLimitWriteRpm: number;
  maxBundleBytes: number;
  /** Bundles inspected at once (worker threads), and publishes that may wait for one beyond that. */
  publishConcurrency: number;
  publishQueue: number;
  /** Bytes of serialized version details kept in memory (src/services/artifact-detail-cache.ts); 0 keeps none. */
  detailCacheBytes: number;
  logLevel: string;
  trustProxy: TrustProxy;
  /** How long an instance waits for another one's migrations (SPEC §1: 60 s). */
  migrationLockTimeoutMs: number;
  /** A request body's grace period, after which it must keep up `bodyMinBytesPerSecond`. */
  bodyTimeoutMs: number;
  bodyMinBytesPerSecond: number;
  /** Open connections per client address (socket peer; trusted proxies exempt); 0 = no limit. */
  maxConnectionsPerClient: number;
  /**
   * CAPSTAN_SECRETS_KEY: the master keys of workspace secrets, the first encrypting (SPEC §11).
   * null: the embedded default generates `<DATA_DIR>/secrets.key`; scale mode refuses to start.
   */
  secretsKeyring: SecretsKeyring | null;
  /** CAPSTAN_MCP_NAMESPACE: the reverse-DNS prefix of every MCP registry server name (SPEC §13). */
  mcpNamespace: string;
  /**
   * CAPSTAN_TEST_PAUSE_IN_MIGRATION: tests only. The server stops inside this migration (its changes
   * made, not committed) and waits to be killed (src/db/migrate.ts).
   */
  testPauseInMigration?: string | null;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
  }
}

/** A host name, an IPv4 address or a bare IPv6 address (with an optional %zone). */
const HOST_PATTERN = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[\w.-]+)?)$/;

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, overrides: Partial<Record<string, string>> = {}): Config {
  const read = (name: string): string | undefined => {
    const value = overrides[name] ?? env[name];
    return value === undefined || value === "" ? undefined : value;
  };

  const host = read("CAPSTAN_HOST") ?? "127.0.0.1";
  if (!HOST_PATTERN.test(host)) {
    throw new ConfigError(
      "CAPSTAN_HOST",
      "must be a host name or IP address such as 0.0.0.0 or ::, not a URL",
    );
  }
  const port = readInteger(read, "CAPSTAN_PORT", 8080, 0, 65535);
  const dataDir = path.resolve(read("CAPSTAN_DATA_DIR") ?? "./.capstan");

  const database = parseDatabaseUrl(
    read("CAPSTAN_DATABASE_URL") ?? `sqlite:${path.join(dataDir, "capstan.db")}`,
  );
  const blobStore = parseBlobStore(
    read("CAPSTAN_BLOB_STORE") ?? `fs:${path.join(dataDir, "blobs")}`,
    database,
  );

  const bootstrapToken = read("CAPSTAN_BOOTSTRAP_TOKEN") ?? null;
  if (bootstrapToken !== null && !API_KEY_PATTERN.test(bootstrapToken)) {
    throw new ConfigError(
      "CAPSTAN_BOOTSTRAP_TOKEN",
      "must look like cst_<12 chars of a-z2-7>_<32-128 alphanumerics>",
    );
  }

  const publicUrl = read("CAPSTAN_PUBLIC_URL") ?? null;
  if (publicUrl !== null) {
    let parsed: URL;
    try {
      parsed = new URL(publicUrl);
    } catch {
      throw new ConfigError("CAPSTAN_PUBLIC_URL", "must be an absolute http(s) URL");
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new ConfigError("CAPSTAN_PUBLIC_URL", "must be an absolute http(s) URL");
    }
  }

  const signingSecret = read("CAPSTAN_SIGNING_SECRET") ?? null;
  if (signingSecret !== null && signingSecret.length < 16) {
    throw new ConfigError("CAPSTAN_SIGNING_SECRET", "must be at least 16 characters");
  }

  const rotate = read("CAPSTAN_ROTATE_SIGNING_SECRET") ?? "false";
  if (!["true", "false", "1", "0"].includes(rotate)) {
    throw new ConfigError("CAPSTAN_ROTATE_SIGNING_SECRET", "must be true or false");
  }

  const minClientVersion = read("CAPSTAN_MIN_CLIENT_VERSION") ?? null;
  if (minClientVersion !== null && parseSemver(minClientVersion) === null) {
    throw new ConfigError("CAPSTAN_MIN_CLIENT_VERSION", "must be a semantic version such as 1.4.0");
  }

  const logLevel = read("CAPSTAN_LOG_LEVEL") ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError("CAPSTAN_LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}`);
  }

  const secretsKeyText = read("CAPSTAN_SECRETS_KEY");
  const secretsKeyring = secretsKeyText === undefined ? null : parseSecretsKeyring(secretsKeyText);
  if (typeof secretsKeyring === "string") throw new ConfigError("CAPSTAN_SECRETS_KEY", secretsKeyring);

  return Object.freeze({
    host,
    port,
    dataDir,
    database,
    blobStore,
    bootstrapToken,
    publicUrl: publicUrl?.replace(/\/+$/, "") ?? null,
    signingSecret,
    rotateSigningSecret: rotate === "true" || rotate === "1",
    minClientVersion,
    rateLimitRpm: readInteger(read, "CAPSTAN_RATE_LIMIT_RPM", 1200, 0, 10_000_000),
    rateLimitWriteRpm: readInteger(read, "CAPSTAN_RATE_LIMIT_WRITE_RPM", 120, 0, 10_000_000),
    maxBundleBytes: readInteger(read, "CAPSTAN_MAX_BUNDLE_BYTES", 52_428_800, 1024, 2 ** 31),
    publishConcurrency: readInteger(read, "CAPSTAN_PUBLISH_CONCURRENCY", 2, 1, 64),
    publishQueue: readInteger(read, "CAPSTAN_PUBLISH_QUEUE", 8, 0, 10_000),
    detailCacheBytes: readInteger(read, "CAPSTAN_DETAIL_CACHE_BYTES", 67_108_864, 0, 2 ** 40),
    logLevel,
    trustProxy: parseTrustProxy(read("CAPSTAN_TRUST_PROXY")),
    migrationLockTimeoutMs: readInteger(read, "CAPSTAN_MIGRATION_LOCK_TIMEOUT_MS", 60_000, 100, 3_600_000),
    bodyTimeoutMs: readInteger(read, "CAPSTAN_BODY_TIMEOUT_MS", 30_000, 1, 3_600_000),
    bodyMinBytesPerSecond: readInteger(read, "CAPSTAN_BODY_MIN_BYTES_PER_SECOND", 16_384, 1, 2 ** 31),
    maxConnectionsPerClient: readInteger(read, "CAPSTAN_MAX_CONNECTIONS_PER_CLIENT", 64, 0, 1_000_000),
    secretsKeyring,
    mcpNamespace: readMcpNamespace(read("CAPSTAN_MCP_NAMESPACE")),
    testPauseInMigration: read("CAPSTAN_TEST_PAUSE_IN_MIGRATION") ?? null,
  });
}

/**
 * Reverse-DNS labels: the part of an MCP server name before `<org>/` must match the registry's
 * `^[a-zA-Z0-9.-]+/` and stay short enough to leave room for org, capability and server.
 */
const MCP_NAMESPACE_PATTERN =
  /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;

function readMcpNamespace(raw: string | undefined): string {
  if (raw === undefined || raw === "") return "io.capstan";
  if (raw.length > 64 || !MCP_NAMESPACE_PATTERN.test(raw)) {
    throw new ConfigError(
      "CAPSTAN_MCP_NAMESPACE",
      "must be reverse-DNS labels such as io.capstan (at most 64 characters)",
    );
  }
  return raw;
}

function readInteger(
  read: (name: string) => string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = read(name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be an integer between ${min} and ${max}`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be an integer between ${min} and ${max}`);
  return value;
}

/**
 * Unset or `false`: the socket's peer is the client. `true`: every peer is a proxy (only for a server
 * that nothing reaches but through its proxies). Otherwise a comma-separated list of the proxies'
 * addresses and CIDR ranges, or `loopback`, `linklocal`, `uniquelocal`. Hop counts are not offered:
 * they trust whoever connects directly, so any client could name its own address.
 */
function parseTrustProxy(raw: string | undefined): TrustProxy {
  if (raw === undefined || raw === "false") return false;
  if (raw === "true") return true;
  const entries = raw.split(",").map((entry) => entry.trim());
  const invalid =
    "must be true, false, or a comma-separated list of proxy addresses and CIDR ranges " +
    "(or loopback, linklocal, uniquelocal)";
  if (entries.some((entry) => entry === "")) throw new ConfigError("CAPSTAN_TRUST_PROXY", invalid);
  // The address parser would read `1` as 0.0.0.1: refuse what is surely meant as a hop count.
  if (entries.some((entry) => /^\d+$/.test(entry))) {
    throw new ConfigError("CAPSTAN_TRUST_PROXY", `${invalid}; a number of hops is not accepted`);
  }
  try {
    proxyAddr.compile(entries);
  } catch {
    throw new ConfigError("CAPSTAN_TRUST_PROXY", invalid);
  }
  return Object.freeze(entries);
}

function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith("sqlite:")) {
    const file = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (file === "") throw new ConfigError("CAPSTAN_DATABASE_URL", "sqlite: needs a file path");
    return { dialect: "sqlite", path: file === ":memory:" ? file : path.resolve(file) };
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    try {
      new URL(url);
    } catch {
      throw new ConfigError("CAPSTAN_DATABASE_URL", "is not a valid postgres:// URL");
    }
    return { dialect: "postgres", url };
  }
  throw new ConfigError("CAPSTAN_DATABASE_URL", "must start with sqlite: or postgres://");
}

function parseBlobStore(value: string, database: DatabaseTarget): BlobStoreTarget {
  if (value.startsWith("fs:")) {
    const dir = value.slice("fs:".length);
    if (dir === "") throw new ConfigError("CAPSTAN_BLOB_STORE", "fs: needs a directory");
    return { driver: "fs", dir: path.resolve(dir) };
  }
  if (value === "postgres") {
    if (database.dialect !== "postgres") {
      throw new ConfigError(
        "CAPSTAN_BLOB_STORE",
        "postgres needs CAPSTAN_DATABASE_URL to be a postgres:// URL",
      );
    }
    return { driver: "postgres" };
  }
  throw new ConfigError("CAPSTAN_BLOB_STORE", "must be fs:<dir> or postgres");
}
