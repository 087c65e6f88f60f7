import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { sourceRunner } from "../../scripts/compiled-sources.js";
import { ConfigError, loadConfig } from "../../src/config.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const VALID_KEY = `cst_abcdefghijk2_${"A1b2".repeat(10)}`;

/** Asserts that loading `env` fails with a ConfigError naming `variable`. */
function assertRejected(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.equal(error.variable, variable);
      assert.ok(error.message.includes(variable), `the message names ${variable}: ${error.message}`);
      return true;
    },
    `${JSON.stringify(env)} should be rejected`,
  );
}

describe("loadConfig (SPEC §1)", () => {
  test("uses the documented defaults when nothing is set", () => {
    const config = loadConfig({});
    const dataDir = path.resolve(".capstan");
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 8080);
    assert.equal(config.dataDir, dataDir);
    assert.deepEqual(config.database, { dialect: "sqlite", path: path.join(dataDir, "capstan.db") });
    assert.deepEqual(config.blobStore, { driver: "fs", dir: path.join(dataDir, "blobs") });
    assert.equal(config.bootstrapToken, null);
    assert.equal(config.publicUrl, null, "null means http://<host>:<port>, known once listening");
    assert.equal(config.signingSecret, null, "null means generated once and stored in the database");
    assert.equal(config.minClientVersion, null);
    assert.equal(config.rateLimitRpm, 1200);
    assert.equal(config.rateLimitWriteRpm, 120);
    assert.equal(config.maxBundleBytes, 52_428_800);
    assert.equal(config.logLevel, "info");
    assert.equal(config.trustProxy, false, "the socket's peer is the client");
  });

  test("treats an empty variable as unset", () => {
    const config = loadConfig({ CAPSTAN_PORT: "", CAPSTAN_LOG_LEVEL: "", CAPSTAN_BOOTSTRAP_TOKEN: "" });
    assert.equal(config.port, 8080);
    assert.equal(config.logLevel, "info");
    assert.equal(config.bootstrapToken, null);
  });

  test("is frozen", () => {
    assert.ok(Object.isFrozen(loadConfig({})));
  });

  describe("CAPSTAN_HOST", () => {
    test("accepts host names and IPv4/IPv6 addresses", () => {
      for (const host of ["0.0.0.0", "::", "::1", "localhost", "capstan.internal", "10.0.0.7"]) {
        assert.equal(loadConfig({ CAPSTAN_HOST: host }).host, host);
      }
    });
    test("rejects a URL or anything with spaces", () => {
      for (const value of ["http://0.0.0.0", "0.0.0.0:8080/", "my host", "host/path"]) {
        assertRejected({ CAPSTAN_HOST: value }, "CAPSTAN_HOST");
      }
    });
  });

  describe("CAPSTAN_PORT", () => {
    test("accepts 0 (any free port) up to 65535", () => {
      assert.equal(loadConfig({ CAPSTAN_PORT: "0" }).port, 0);
      assert.equal(loadConfig({ CAPSTAN_PORT: "65535" }).port, 65535);
    });
    test("rejects non-integers and out-of-range values", () => {
      for (const value of ["http", "80.5", "-1", "65536", "8080 ", "1e3"]) {
        assertRejected({ CAPSTAN_PORT: value }, "CAPSTAN_PORT");
      }
    });
  });

  describe("CAPSTAN_DATA_DIR", () => {
    test("moves the default database and blob store with it", () => {
      const config = loadConfig({ CAPSTAN_DATA_DIR: "/var/lib/capstan" });
      assert.equal(config.dataDir, path.resolve("/var/lib/capstan"));
      assert.deepEqual(config.database, {
        dialect: "sqlite",
        path: path.resolve("/var/lib/capstan/capstan.db"),
      });
      assert.deepEqual(config.blobStore, { driver: "fs", dir: path.resolve("/var/lib/capstan/blobs") });
    });
  });

  describe("CAPSTAN_DATABASE_URL", () => {
    test("accepts sqlite:<path> and postgres:// URLs", () => {
      assert.deepEqual(loadConfig({ CAPSTAN_DATABASE_URL: "sqlite:./data/x.db" }).database, {
        dialect: "sqlite",
        path: path.resolve("data/x.db"),
      });
      assert.deepEqual(loadConfig({ CAPSTAN_DATABASE_URL: "sqlite:///tmp/x.db" }).database, {
        dialect: "sqlite",
        path: path.resolve("/tmp/x.db"),
      });
      assert.deepEqual(loadConfig({ CAPSTAN_DATABASE_URL: "sqlite::memory:" }).database, {
        dialect: "sqlite",
        path: ":memory:",
      });
      for (const url of ["postgres://capstan:pw@db:5432/capstan", "postgresql://db/capstan"]) {
        assert.deepEqual(loadConfig({ CAPSTAN_DATABASE_URL: url }).database, { dialect: "postgres", url });
      }
    });
    test("rejects other schemes and an empty sqlite path", () => {
      for (const value of ["mysql://db/capstan", "sqlite:", "./capstan.db", "postgres://db:notaport/x"]) {
        assertRejected({ CAPSTAN_DATABASE_URL: value }, "CAPSTAN_DATABASE_URL");
      }
    });
  });

  describe("CAPSTAN_BLOB_STORE", () => {
    test("accepts fs:<dir>, and postgres with a PostgreSQL database", () => {
      assert.deepEqual(loadConfig({ CAPSTAN_BLOB_STORE: "fs:/srv/blobs" }).blobStore, {
        driver: "fs",
        dir: path.resolve("/srv/blobs"),
      });
      const config = loadConfig({
        CAPSTAN_DATABASE_URL: "postgres://db/capstan",
        CAPSTAN_BLOB_STORE: "postgres",
      });
      assert.deepEqual(config.blobStore, { driver: "postgres" });
    });
    test("rejects postgres on SQLite, an empty fs: and unknown drivers", () => {
      for (const value of ["postgres", "fs:", "s3://bucket"]) {
        assertRejected({ CAPSTAN_BLOB_STORE: value }, "CAPSTAN_BLOB_STORE");
      }
    });
  });

  describe("CAPSTAN_BOOTSTRAP_TOKEN", () => {
    test("accepts a key in the API key format", () => {
      assert.equal(loadConfig({ CAPSTAN_BOOTSTRAP_TOKEN: VALID_KEY }).bootstrapToken, VALID_KEY);
    });
    test("rejects anything else", () => {
      const invalid = [
        "secret",
        `cst_ABCDEFGHIJK2_${"a".repeat(40)}`,
        `cst_abcdefghijk1_${"a".repeat(40)}`,
        `cst_abcdefghijk2_${"a".repeat(31)}`,
        `cst_abcdefghijk2_${"a".repeat(129)}`,
        `cst_abcdefghijk2_${"a".repeat(39)}!`,
      ];
      for (const value of invalid)
        assertRejected({ CAPSTAN_BOOTSTRAP_TOKEN: value }, "CAPSTAN_BOOTSTRAP_TOKEN");
    });
  });

  describe("CAPSTAN_PUBLIC_URL", () => {
    test("accepts an http(s) URL and drops trailing slashes", () => {
      assert.equal(
        loadConfig({ CAPSTAN_PUBLIC_URL: "https://capstan.example.com/" }).publicUrl,
        "https://capstan.example.com",
      );
      assert.equal(
        loadConfig({ CAPSTAN_PUBLIC_URL: "http://10.0.0.7:8080" }).publicUrl,
        "http://10.0.0.7:8080",
      );
    });
    test("rejects relative URLs and other schemes", () => {
      for (const value of ["capstan.example.com", "/api", "ftp://capstan.example.com"]) {
        assertRejected({ CAPSTAN_PUBLIC_URL: value }, "CAPSTAN_PUBLIC_URL");
      }
    });
  });

  describe("CAPSTAN_SIGNING_SECRET", () => {
    test("accepts 16 characters or more", () => {
      assert.equal(
        loadConfig({ CAPSTAN_SIGNING_SECRET: "0123456789abcdef" }).signingSecret,
        "0123456789abcdef",
      );
    });
    test("rejects a short secret", () => {
      assertRejected({ CAPSTAN_SIGNING_SECRET: "short" }, "CAPSTAN_SIGNING_SECRET");
    });
  });

  describe("CAPSTAN_MIN_CLIENT_VERSION", () => {
    test("accepts a semantic version", () => {
      assert.equal(loadConfig({ CAPSTAN_MIN_CLIENT_VERSION: "1.4.0" }).minClientVersion, "1.4.0");
    });
    test("rejects anything else", () => {
      for (const value of ["1.4", "v1.4.0", "latest", "01.4.0"]) {
        assertRejected({ CAPSTAN_MIN_CLIENT_VERSION: value }, "CAPSTAN_MIN_CLIENT_VERSION");
      }
    });
  });

  describe("CAPSTAN_TRUST_PROXY", () => {
    test("accepts true, false and lists of addresses, CIDR ranges and named ranges", () => {
      assert.equal(loadConfig({ CAPSTAN_TRUST_PROXY: "true" }).trustProxy, true);
      assert.equal(loadConfig({ CAPSTAN_TRUST_PROXY: "false" }).trustProxy, false);
      assert.deepEqual(loadConfig({ CAPSTAN_TRUST_PROXY: "loopback" }).trustProxy, ["loopback"]);
      assert.deepEqual(
        loadConfig({ CAPSTAN_TRUST_PROXY: "10.0.0.0/8, 192.168.1.7,fd00::/8 , uniquelocal" }).trustProxy,
        ["10.0.0.0/8", "192.168.1.7", "fd00::/8", "uniquelocal"],
      );
    });
    test("rejects hop counts, empty entries, bad addresses and bad ranges", () => {
      for (const value of ["1", "2", "10.0.0.1,", "proxy.internal", "10.0.0.0/33", "::1/129", "yes"]) {
        assertRejected({ CAPSTAN_TRUST_PROXY: value }, "CAPSTAN_TRUST_PROXY");
      }
    });
  });

  for (const [variable, field] of [
    ["CAPSTAN_RATE_LIMIT_RPM", "rateLimitRpm"],
    ["CAPSTAN_RATE_LIMIT_WRITE_RPM", "rateLimitWriteRpm"],
  ] as const) {
    describe(variable, () => {
      test("accepts 0 (disabled) and positive integers", () => {
        assert.equal(loadConfig({ [variable]: "0" })[field], 0);
        assert.equal(loadConfig({ [variable]: "30" })[field], 30);
      });
      test("rejects negative, fractional and non-numeric values", () => {
        for (const value of ["-1", "1.5", "lots", "100000000"])
          assertRejected({ [variable]: value }, variable);
      });
    });
  }

  describe("CAPSTAN_MAX_BUNDLE_BYTES", () => {
    test("accepts a byte count", () => {
      assert.equal(loadConfig({ CAPSTAN_MAX_BUNDLE_BYTES: "1048576" }).maxBundleBytes, 1_048_576);
    });
    test("rejects units, zero and absurd sizes", () => {
      for (const value of ["50MiB", "0", "-5", "99999999999"]) {
        assertRejected({ CAPSTAN_MAX_BUNDLE_BYTES: value }, "CAPSTAN_MAX_BUNDLE_BYTES");
      }
    });
  });

  describe("CAPSTAN_LOG_LEVEL", () => {
    test("accepts every pino level", () => {
      for (const level of ["fatal", "error", "warn", "info", "debug", "trace", "silent"]) {
        assert.equal(loadConfig({ CAPSTAN_LOG_LEVEL: level }).logLevel, level);
      }
    });
    test("rejects unknown levels", () => {
      for (const value of ["verbose", "INFO"])
        assertRejected({ CAPSTAN_LOG_LEVEL: value }, "CAPSTAN_LOG_LEVEL");
    });
  });
});

describe("capstan serve with invalid configuration", () => {
  test("exits non-zero at boot with a message naming the variable", async () => {
    const runner = await sourceRunner();
    const result = spawnSync(process.execPath, runner.args("src/main.ts"), {
      cwd: ROOT,
      env: { ...process.env, CAPSTAN_PORT: "eighty" },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.notEqual(result.status, 0);
    assert.notEqual(result.status, null, "the process exited by itself");
    assert.match(result.stderr, /CAPSTAN_PORT/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "a configuration error is a message, not a stack trace");
  });
});
