// `capstan serve`: the server of SPEC §1. Each flag sets the CAPSTAN_* variable it is named after;
// flags win over the environment.
import { UsageError } from "../cli-errors.js";
import type { CommandSpec, OptionSpec } from "../command.js";

export interface EnvFlag {
  variable: string;
  option: OptionSpec;
}

/** Where the server's data lives: `serve` and the local `admin backup|restore|verify` share them. */
export const STORAGE_FLAGS: Record<string, EnvFlag> = {
  "data-dir": {
    variable: "CAPSTAN_DATA_DIR",
    option: { type: "string", value: "DIR", description: "Database and blobs (./.capstan)" },
  },
  "database-url": {
    variable: "CAPSTAN_DATABASE_URL",
    option: {
      type: "string",
      value: "URL",
      description: "sqlite:<path> or postgres://… (sqlite in DATA_DIR)",
    },
  },
  "blob-store": {
    variable: "CAPSTAN_BLOB_STORE",
    option: { type: "string", value: "STORE", description: "fs:<dir> or postgres (fs in DATA_DIR)" },
  },
};

const SERVE_FLAGS: Record<string, EnvFlag> = {
  host: {
    variable: "CAPSTAN_HOST",
    option: { type: "string", value: "HOST", description: "Listen address (127.0.0.1)" },
  },
  port: {
    variable: "CAPSTAN_PORT",
    option: { type: "string", value: "PORT", description: "Listen port, 0 = any free port (8080)" },
  },
  ...STORAGE_FLAGS,
  "public-url": {
    variable: "CAPSTAN_PUBLIC_URL",
    option: { type: "string", value: "URL", description: "Base of signed download URLs" },
  },
  "min-client-version": {
    variable: "CAPSTAN_MIN_CLIENT_VERSION",
    option: { type: "string", value: "VERSION", description: "Oldest capstan-cli accepted" },
  },
  "rate-limit-rpm": {
    variable: "CAPSTAN_RATE_LIMIT_RPM",
    option: { type: "string", value: "N", description: "Requests per minute per key, 0 = off (1200)" },
  },
  "rate-limit-write-rpm": {
    variable: "CAPSTAN_RATE_LIMIT_WRITE_RPM",
    option: {
      type: "string",
      value: "N",
      description: "Mutating requests per minute per key, 0 = off (120)",
    },
  },
  "max-bundle-bytes": {
    variable: "CAPSTAN_MAX_BUNDLE_BYTES",
    option: { type: "string", value: "BYTES", description: "Largest accepted bundle (52428800)" },
  },
  "trust-proxy": {
    variable: "CAPSTAN_TRUST_PROXY",
    option: {
      type: "string",
      value: "PROXIES",
      description: "Proxies whose X-Forwarded-For counts: addresses, CIDRs, loopback, or true (none)",
    },
  },
  "log-level": {
    variable: "CAPSTAN_LOG_LEVEL",
    option: { type: "string", value: "LEVEL", description: "fatal … trace, or silent (info)" },
  },
};

export const serveCommand: CommandSpec = {
  name: "serve",
  summary: "Run the Capstan server (API and docs on one port)",
  options: Object.fromEntries(Object.entries(SERVE_FLAGS).map(([name, flag]) => [name, flag.option])),
  details: `Secrets (CAPSTAN_BOOTSTRAP_TOKEN, CAPSTAN_SIGNING_SECRET) are read from the environment only,
so that they never show in the process list. Stops gracefully on SIGINT or SIGTERM.`,
  async run(ctx, input) {
    // Loaded here, not at the top: the other commands should not pay for the server's modules.
    const { ConfigError, loadConfig } = await import("../../config.js");
    const { serve } = await import("../../server.js");
    const overrides: Record<string, string> = {};
    for (const [name, flag] of Object.entries(SERVE_FLAGS)) {
      const value = input.string(name);
      if (value !== undefined) overrides[flag.variable] = value;
    }
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig(ctx.io.env, overrides);
    } catch (error) {
      if (error instanceof ConfigError)
        throw new UsageError(`invalid configuration: ${error.message}`, ctx.command);
      throw error;
    }
    const stop = await serve(config).catch((error) => {
      if (error instanceof ConfigError)
        throw new UsageError(`invalid configuration: ${error.message}`, ctx.command);
      throw error;
    });
    await new Promise<void>((resolve) => {
      const remove = ctx.io.onStopSignal(() => {
        remove();
        resolve();
      });
    });
    await stop();
  },
};
