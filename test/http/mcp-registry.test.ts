// The MCP registry API (SPEC §13): every answer is checked against the committed server.json
// schema (openapi/mcp-registry/server.schema.json, 2025-12-11); the mapping of the shared examples
// and of URL / npx / uvx / docker servers is checked object for object; visibility, paging,
// search, updated_since, version=latest, yanked versions and bad input.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { packBundle, readCapabilitySource } from "../../src/cli/bundle-pack.js";
import { callApi, expectError } from "../helpers/api.js";
import { publishBundle, publishOk } from "../helpers/capability-bundles.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";
const schemaPath = fileURLToPath(new URL("../../openapi/mcp-registry/server.schema.json", import.meta.url));
const serverSchema = JSON.parse(readFileSync(schemaPath, "utf8"));
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats.default(ajv);
const validateServer = ajv.compile(serverSchema);

const examplesDir = fileURLToPath(new URL("../fixtures/examples/", import.meta.url));

interface Entry {
  server: Record<string, unknown> & { name: string; version: string };
  _meta: {
    "io.modelcontextprotocol.registry/official": {
      status: string;
      statusMessage?: string;
      publishedAt: string;
      updatedAt: string;
      isLatest: boolean;
    };
    "io.capstan/capability": Record<string, unknown>;
  };
}
interface ServerList {
  servers: Entry[];
  metadata: { nextCursor?: string; count: number };
}

const OFFICIAL = "io.modelcontextprotocol.registry/official";
const CAPSTAN = "io.capstan/capability";
const OFFICIAL_KEYS = new Set(["status", "statusMessage", "publishedAt", "updatedAt", "isLatest"]);

/** Asserts one entry is what upstream's ServerResponse allows, its server valid per the schema. */
function assertEntry(entry: Entry): void {
  assert.deepEqual(Object.keys(entry).sort(), ["_meta", "server"]);
  assert.ok(validateServer(entry.server), `${entry.server.name}: ${JSON.stringify(validateServer.errors)}`);
  assert.equal(entry.server.$schema, SCHEMA_URL);
  const official = entry._meta[OFFICIAL];
  for (const key of Object.keys(official)) assert.ok(OFFICIAL_KEYS.has(key), `unexpected ${key}`);
  assert.ok(["active", "deprecated", "deleted"].includes(official.status));
  assert.equal(typeof official.isLatest, "boolean");
  assert.ok(!Number.isNaN(Date.parse(official.publishedAt)) && !Number.isNaN(Date.parse(official.updatedAt)));
}

describe("MCP registry API (/v0)", () => {
  let t: TestApp;
  let reader: string;
  let stranger: { key: string; org: string };
  let publishedAt: string;
  let yankedAt: string;

  const get = async (url: string, key?: string) => {
    const res = await callApi(t, "GET", url, key);
    assert.equal(res.statusCode, 200, res.body);
    return res;
  };
  const list = async (query = "", key?: string): Promise<ServerList> => {
    const body = (await get(`/v0/servers${query}`, key)).json() as ServerList;
    assert.deepEqual(Object.keys(body).sort(), ["metadata", "servers"]);
    assert.equal(body.metadata.count, body.servers.length);
    for (const entry of body.servers) assertEntry(entry);
    return body;
  };
  const one = async (name: string, version: string, key?: string, query = ""): Promise<Entry> => {
    const entry = (
      await get(`/v0/servers/${encodeURIComponent(name)}/versions/${version}${query}`, key)
    ).json();
    assertEntry(entry);
    return entry;
  };
  const names = (body: ServerList) => body.servers.map((e) => `${e.server.name}@${e.server.version}`);

  const publishExample = async (name: string) => {
    const { archive } = await packBundle(await readCapabilitySource(`${examplesDir}${name}`));
    const res = await publishBundle(t, archive, { query: "public=true" });
    assert.equal(res.statusCode, 201, res.body);
  };

  const DIST_EXTRA = [
    "repository: https://github.com/example/dist-tools",
    // A ${VAR} in a server's env must name a declared secret (SPEC §11).
    "secrets:",
    "  GITHUB_TOKEN: {description: Token of the GitHub MCP server}",
    "flags:",
    "  github: {description: Talk to GitHub}",
    "mcp:",
    "  files: [.mcp.json]",
    "  servers:",
    "    web:",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: MCP clients' placeholder syntax, not a template
    '      url: "https://${TENANT:-demo}.mcp.example.com/mcp"',
    "      headers:",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: MCP clients' placeholder syntax, not a template
    '        X-Api-Key: "${WEB_API_KEY}"',
    "    fs:",
    "      command: npx",
    '      args: ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", "/data"]',
    "      env: {LOG_LEVEL: info}",
    "    time:",
    "      command: uvx",
    '      args: ["mcp-server-time==0.6.2", "--local-timezone=UTC"]',
    "    github:",
    "      command: docker",
    '      args: ["run", "-i", "--rm", "-e", "GITHUB_TOKEN", "ghcr.io/github/github-mcp-server:v0.5.0", "stdio"]',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: MCP clients' placeholder syntax, not a template
    '      env: {GITHUB_TOKEN: "${GITHUB_TOKEN}"}',
    "      when: [github]",
  ].join("\n");
  const DIST_FILES = {
    ".mcp.json": JSON.stringify({
      mcpServers: { events: { type: "sse", url: "https://events.example.com/sse" } },
    }),
  };
  const npxServer = (extra: string) =>
    `mcp:\n  servers:\n    svc:\n      command: npx\n      args: ["-y", "svc-server"]\n${extra}`;

  before(async () => {
    t = await buildTestApp({ frozenClock: true });
    for (const name of ["flag-gated", "hello-recon", "explicit-lists"]) await publishExample(name);
    const dist = { name: "dist", description: "Distribution test servers", manifestExtra: DIST_EXTRA };
    await publishOk(t, { ...dist, version: "1.0.0", files: DIST_FILES }, { query: "public=true" });
    await publishOk(t, { ...dist, version: "1.1.0", files: DIST_FILES });
    await publishOk(
      t,
      { name: "gone", version: "1.0.0", manifestExtra: npxServer("") },
      { query: "public=true" },
    );
    await publishOk(t, { name: "gone", version: "1.1.0", manifestExtra: npxServer("") });
    await publishOk(t, { name: "inner", manifestExtra: npxServer("") });
    reader = (await newUserKey(t, { role: "reader" })).key;
    stranger = await newStranger(t);
    await publishOk(
      t,
      { name: "hidden", manifestExtra: npxServer("") },
      { key: stranger.key, org: stranger.org },
    );
    publishedAt = new Date(t.deps.now()).toISOString();
    t.advanceClock(60_000);
    yankedAt = new Date(t.deps.now()).toISOString();
    const yank = await callApi(t, "PATCH", "/api/v1/org/default/capabilities/gone/1.1.0", t.adminKey, {
      status: "yanked",
    });
    assert.equal(yank.statusCode, 200, yank.body);
    const deprecate = await callApi(t, "PATCH", "/api/v1/org/default/capabilities/dist/1.0.0", t.adminKey, {
      status: "deprecated",
      message: "Use 1.1.0",
    });
    assert.equal(deprecate.statusCode, 200, deprecate.body);
  });

  after(() => t.close());

  test("maps the flag-gated example to four servers, exactly; the other two examples have none", async () => {
    const body = await list("?search=io.capstan.default/flag-gated-");
    const entries = Object.fromEntries(body.servers.map((e) => [e.server.name, e]));
    assert.deepEqual(Object.keys(entries), [
      "io.capstan.default/flag-gated-notes",
      "io.capstan.default/flag-gated-proxy",
      "io.capstan.default/flag-gated-shared",
      "io.capstan.default/flag-gated-tracker",
    ]);
    const description = "Proxy-aware web testing helpers whose riskier parts are behind flags.";
    const base = (server: string) => ({
      $schema: SCHEMA_URL,
      name: `io.capstan.default/flag-gated-${server}`,
      description,
      version: "1.2.0",
    });
    // node, python3 and `uv run` programs ship in the bundle: no package, no remote.
    for (const server of ["notes", "proxy", "shared"])
      assert.deepEqual(entries[base(server).name].server, base(server));
    // The validator is live: what the schema forbids fails it.
    assert.equal(validateServer({ ...base("notes"), description: "x".repeat(101) }), false);
    assert.equal(validateServer({ ...base("notes"), name: "no-slash" }), false);
    assert.deepEqual(entries["io.capstan.default/flag-gated-tracker"].server, {
      ...base("tracker"),
      remotes: [
        {
          type: "streamable-http",
          url: "https://mcp.example.invalid/v1/mcp",
          headers: [
            {
              name: "Authorization",
              value: "Bearer {TRACKER_TOKEN}",
              variables: { TRACKER_TOKEN: { isRequired: true, isSecret: true } },
              isRequired: false,
              isSecret: true,
            },
          ],
        },
      ],
    });
    const proxy = entries["io.capstan.default/flag-gated-proxy"];
    const version = (await get("/api/v1/org/default/capabilities/flag-gated/1.2.0", t.adminKey)).json();
    assert.deepEqual(proxy._meta[CAPSTAN], {
      org: "default",
      name: "flag-gated",
      version: "1.2.0",
      status: "active",
      is_public: true,
      artifact_digest: `sha256:${version.artifact_sha256}`,
      runtime_digest: version.runtime_digest,
      server: "proxy",
      transport: "stdio",
      gated_by: ["burp"],
      enabled_by_default: false,
    });
    assert.deepEqual(entries["io.capstan.default/flag-gated-tracker"]._meta[CAPSTAN].auth, {
      type: "oauth",
      client_name: "capstan",
    });
    assert.deepEqual(proxy._meta[OFFICIAL], {
      status: "active",
      publishedAt: version.created_at,
      updatedAt: version.updated_at,
      isLatest: true,
    });
    assert.deepEqual(names(await list("?search=hello-recon")), []);
    assert.deepEqual(names(await list("?search=explicit-lists")), []);
  });

  test("maps URL, SSE, npx, uvx and docker servers to remotes and packages, exactly", async () => {
    const body = await list("?search=default/dist-&version=1.1.0");
    const servers = Object.fromEntries(body.servers.map((e) => [e.server.name.split("/dist-")[1], e.server]));
    assert.deepEqual(Object.keys(servers), ["events", "fs", "github", "time", "web"]);
    const base = (server: string) => ({
      $schema: SCHEMA_URL,
      name: `io.capstan.default/dist-${server}`,
      description: "Distribution test servers",
      version: "1.1.0",
      repository: { url: "https://github.com/example/dist-tools", source: "github" },
    });
    const stdio = { type: "stdio" };
    assert.deepEqual(servers.fs, {
      ...base("fs"),
      packages: [
        {
          registryType: "npm",
          identifier: "@modelcontextprotocol/server-filesystem",
          version: "2025.8.21",
          runtimeHint: "npx",
          transport: stdio,
          packageArguments: [{ type: "positional", value: "/data" }],
          environmentVariables: [{ name: "LOG_LEVEL", value: "info" }],
        },
      ],
    });
    assert.deepEqual(servers.time, {
      ...base("time"),
      packages: [
        {
          registryType: "pypi",
          identifier: "mcp-server-time",
          version: "0.6.2",
          runtimeHint: "uvx",
          transport: stdio,
          packageArguments: [{ type: "positional", value: "--local-timezone=UTC" }],
        },
      ],
    });
    assert.deepEqual(servers.github, {
      ...base("github"),
      packages: [
        {
          registryType: "oci",
          identifier: "ghcr.io/github/github-mcp-server:v0.5.0",
          runtimeHint: "docker",
          transport: stdio,
          runtimeArguments: ["-i", "--rm", "-e", "GITHUB_TOKEN"].map((value) => ({
            type: "positional",
            value,
          })),
          packageArguments: [{ type: "positional", value: "stdio" }],
          environmentVariables: [
            {
              name: "GITHUB_TOKEN",
              value: "{GITHUB_TOKEN}",
              variables: { GITHUB_TOKEN: { isRequired: true, isSecret: true } },
              isSecret: true,
            },
          ],
        },
      ],
    });
    assert.deepEqual(servers.web, {
      ...base("web"),
      remotes: [
        {
          type: "streamable-http",
          url: "https://{TENANT}.mcp.example.com/mcp",
          headers: [
            {
              name: "X-Api-Key",
              value: "{WEB_API_KEY}",
              variables: { WEB_API_KEY: { isRequired: true, isSecret: true } },
              isRequired: true,
              isSecret: true,
            },
          ],
          variables: { TENANT: { isRequired: false, default: "demo" } },
        },
      ],
    });
    // Defined in the bundle's .mcp.json, read from the blob store.
    assert.deepEqual(servers.events, {
      ...base("events"),
      remotes: [{ type: "sse", url: "https://events.example.com/sse" }],
    });
    const github = body.servers.find((e) => e.server.name.endsWith("dist-github"));
    assert.deepEqual(github?._meta[CAPSTAN].gated_by, ["github"]);
    assert.equal(github?._meta[CAPSTAN].enabled_by_default, false);
  });

  test("shows public capabilities to anonymous callers, never a private one", async () => {
    const all = names(await list("?limit=100"));
    assert.ok(all.includes("io.capstan.default/dist-fs@1.1.0"));
    assert.ok(!all.some((name) => name.includes("/inner-") || name.includes("/hidden-")), all.join());
    const res = await callApi(
      t,
      "GET",
      `/v0/servers/${encodeURIComponent("io.capstan.default/inner-svc")}/versions/latest`,
    );
    expectError(res, 404, "not_found_error");
  });

  test("shows a key its orgs' private capabilities and never another org's", async () => {
    const privateName = "io.capstan.default/inner-svc@1.0.0";
    const strangerName = `io.capstan.${stranger.org}/hidden-svc@1.0.0`;
    for (const key of [reader, t.adminKey]) {
      const seen = names(await list("?limit=100", key));
      assert.ok(seen.includes(privateName), seen.join());
      assert.ok(!seen.includes(strangerName), seen.join());
    }
    const strangers = names(await list("?limit=100", stranger.key));
    assert.ok(strangers.includes(strangerName));
    assert.ok(!strangers.includes(privateName));
    assert.ok(strangers.includes("io.capstan.default/dist-fs@1.1.0"), "public ones are visible to every key");

    const inner = await one("io.capstan.default/inner-svc", "latest", reader);
    assert.equal(inner._meta[CAPSTAN].is_public, false);
    const hidden = `/v0/servers/${encodeURIComponent(`io.capstan.${stranger.org}/hidden-svc`)}`;
    expectError(await callApi(t, "GET", `${hidden}/versions/1.0.0`, t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${hidden}/versions`, reader), 404, "not_found_error");
    expectError(
      await callApi(t, "GET", "/v0/servers", "cst_aaaaaaaaaaaa_" + "A".repeat(40)),
      401,
      "authentication_error",
    );
  });

  test("pages with a cursor through exactly the entries of one large page", async () => {
    const everything = names(await list("?limit=100", t.adminKey));
    assert.ok(everything.length >= 15, `${everything.length} entries`);
    assert.equal(new Set(everything).size, everything.length);
    for (const limit of [1, 2, 7]) {
      const walked: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages <= everything.length; pages += 1) {
        const query = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const page = await list(query, t.adminKey);
        assert.ok(page.servers.length <= limit);
        walked.push(...names(page));
        cursor = page.metadata.nextCursor;
        if (cursor === undefined) break;
      }
      assert.deepEqual(walked, everything, `limit ${limit}`);
    }
    const firstPage = await list("?limit=30");
    assert.ok(firstPage.servers.length <= 30);
  });

  test("searches server names by substring, ignoring case", async () => {
    assert.deepEqual(names(await list("?search=FLAG-GATED-TRACK")), [
      "io.capstan.default/flag-gated-tracker@1.2.0",
    ]);
    assert.deepEqual(names(await list("?search=dist-web")), [
      "io.capstan.default/dist-web@1.0.0",
      "io.capstan.default/dist-web@1.1.0",
    ]);
    assert.deepEqual(names(await list("?search=no-such-server")), []);
  });

  test("version=latest lists only latest versions; the version routes answer one or all", async () => {
    const latest = await list("?version=latest&search=dist-fs");
    assert.deepEqual(names(latest), ["io.capstan.default/dist-fs@1.1.0"]);
    assert.equal(latest.servers[0]._meta[OFFICIAL].isLatest, true);
    assert.ok((await list("?version=latest&limit=100")).servers.every((e) => e._meta[OFFICIAL].isLatest));

    const versions = (
      await get(`/v0/servers/${encodeURIComponent("io.capstan.default/dist-fs")}/versions`)
    ).json();
    assert.deepEqual(
      versions.servers.map((e: Entry) => e.server.version),
      ["1.1.0", "1.0.0"],
    );
    assert.equal(versions.metadata.count, 2);
    for (const entry of versions.servers) assertEntry(entry);

    const old = await one("io.capstan.default/dist-fs", "1.0.0");
    assert.deepEqual(old._meta[OFFICIAL], {
      status: "deprecated",
      statusMessage: "Use 1.1.0",
      publishedAt: old._meta[OFFICIAL].publishedAt,
      updatedAt: yankedAt,
      isLatest: false,
    });
    assert.equal((await one("io.capstan.default/dist-fs", "latest")).server.version, "1.1.0");
    expectError(
      await callApi(
        t,
        "GET",
        `/v0/servers/${encodeURIComponent("io.capstan.default/dist-fs")}/versions/9.9.9`,
      ),
      404,
      "not_found_error",
    );
    // Capability and server names both contain hyphens: the longest capability that fits wins.
    assert.equal((await one("io.capstan.default/flag-gated-proxy", "1.2.0"))._meta[CAPSTAN].server, "proxy");
  });

  test("a yanked version is status deleted: listed on request and to updated_since syncs only", async () => {
    const gone = "io.capstan.default/gone-svc";
    assert.deepEqual(names(await list("?search=gone-svc")), [`${gone}@1.0.0`]);
    assert.equal((await one(gone, "latest")).server.version, "1.0.0", "latest moved back to 1.0.0");
    expectError(
      await callApi(t, "GET", `/v0/servers/${encodeURIComponent(gone)}/versions/1.1.0`),
      404,
      "not_found_error",
    );
    const withDeleted = await list("?search=gone-svc&include_deleted=true");
    assert.deepEqual(names(withDeleted), [`${gone}@1.0.0`, `${gone}@1.1.0`]);
    assert.deepEqual(withDeleted.servers[1]._meta[OFFICIAL], {
      status: "deleted",
      statusMessage: "yanked",
      publishedAt,
      updatedAt: yankedAt,
      isLatest: false,
    });
    assert.equal(
      (await one(gone, "1.1.0", undefined, "?include_deleted=true"))._meta[OFFICIAL].status,
      "deleted",
    );

    // Only what changed after the publishes: the yank and the deprecation, in any offset notation.
    const changed = names(await list(`?updated_since=${encodeURIComponent(publishedAt)}&limit=100`));
    assert.deepEqual(changed.sort(), [
      "io.capstan.default/dist-events@1.0.0",
      "io.capstan.default/dist-fs@1.0.0",
      "io.capstan.default/dist-github@1.0.0",
      "io.capstan.default/dist-time@1.0.0",
      "io.capstan.default/dist-web@1.0.0",
      `${gone}@1.1.0`,
    ]);
    const offset = publishedAt.replace("Z", "+00:00");
    assert.deepEqual(
      names(await list(`?updated_since=${encodeURIComponent(offset)}&limit=100`)).sort(),
      changed,
    );
    assert.deepEqual(names(await list(`?updated_since=${encodeURIComponent(yankedAt)}`)), []);
    assert.ok(names(await list("?updated_since=2000-01-01T00:00:00Z&limit=100")).includes(`${gone}@1.1.0`));
  });

  test("refuses a bad cursor, limit or updated_since with the 422 envelope", async () => {
    const forged = Buffer.from(JSON.stringify(["not-a-uuid"])).toString("base64url");
    for (const cursor of ["garbage!", forged, Buffer.from("[]").toString("base64url")]) {
      expectError(
        await callApi(t, "GET", `/v0/servers?cursor=${encodeURIComponent(cursor)}`),
        422,
        "validation_error",
        ["query", "cursor"],
      );
    }
    for (const limit of ["0", "101", "abc"]) {
      expectError(await callApi(t, "GET", `/v0/servers?limit=${limit}`), 422, "validation_error");
    }
    for (const since of ["yesterday", "2025-13-45T00:00:00Z", "2025-01-01"]) {
      expectError(await callApi(t, "GET", `/v0/servers?updated_since=${since}`), 422, "validation_error", [
        "query",
        "updated_since",
      ]);
    }
    for (const name of ["io.capstan.default%2Fnope", "nonamespace%2Fx", "io.capstan.unknown-org%2Fdist-fs"]) {
      expectError(await callApi(t, "GET", `/v0/servers/${name}/versions/latest`), 404, "not_found_error");
    }
  });
});
