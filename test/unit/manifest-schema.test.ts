// The JSON Schema of capability.yaml against the validator it is generated beside: every manifest
// the validator accepts passes the schema, and what the validator rejects for a reason a schema
// can state, the schema rejects too.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { parse, stringify } from "yaml";
import { parseManifest } from "../../src/domain/manifest.js";
import { capabilityJsonSchema, MANIFEST_FIELDS } from "../../src/domain/manifest-schema.js";

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(capabilityJsonSchema());
const schemaAccepts = (value: unknown): boolean => validate(value) === true;

const fixturesDir = fileURLToPath(new URL("../fixtures/capabilities/", import.meta.url));
// Exact copies of the product's shared examples, committed so that a fresh clone checks them too.
const examplesDir = fileURLToPath(new URL("../fixtures/examples/", import.meta.url));
const manifestsIn = (dir: string): [string, string][] =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && existsSync(`${dir}${entry.name}/capability.yaml`))
        .map((entry) => [entry.name, readFileSync(`${dir}${entry.name}/capability.yaml`, "utf8")])
    : [];

const BASE = { schema: 1, name: "demo", version: "1.0.0", description: "A demo capability." };

describe("capability.yaml JSON Schema", () => {
  test("is a strict draft-07 schema that requires the four identity fields", () => {
    const schema = capabilityJsonSchema();
    assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
    assert.deepEqual(schema.required, ["schema", "name", "version", "description"]);
    assert.deepEqual(Object.keys(schema.properties as object), Object.keys(MANIFEST_FIELDS));
    assert.equal(schemaAccepts(BASE), true, JSON.stringify(validate.errors));
  });

  for (const [name, text] of manifestsIn(fixturesDir)) {
    test(`fixture ${name}: the schema agrees with the validator`, () => {
      const validator = parseManifest(text);
      const accepted = schemaAccepts(parse(text));
      if (name === "invalid") {
        assert.notDeepEqual(validator.errors, []);
        assert.equal(accepted, false);
      } else {
        assert.deepEqual(validator.errors, []);
        assert.equal(accepted, true, JSON.stringify(validate.errors));
      }
    });
  }

  const examples = manifestsIn(examplesDir);
  test("the shared examples are present", () => {
    assert.equal(examples.length, 3);
  });
  for (const [name, text] of examples) {
    test(`example ${name} passes the schema`, () => {
      assert.deepEqual(parseManifest(text).errors, []);
      assert.equal(schemaAccepts(parse(text)), true, JSON.stringify(validate.errors));
    });
  }

  // Each rejected by the validator with the given type, and by the schema.
  const rejected: [string, Record<string, unknown>, string][] = [
    ["schema 2", { schema: 2 }, "manifest.schema"],
    ["schema as a string", { schema: "1" }, "manifest.schema"],
    ["a capitalised name", { name: "Demo" }, "manifest.name"],
    ["a name of 65 characters", { name: "a".repeat(65) }, "manifest.name"],
    ["a two-part version", { version: "1.0" }, "manifest.version"],
    ["a leading zero", { version: "01.0.0" }, "manifest.version"],
    ["a build suffix", { version: "1.0.0+build.1" }, "manifest.version"],
    ["a build suffix", { version: "1.0.0+build" }, "manifest.version"],
    ["a blank description", { description: "   " }, "manifest.description"],
    ["a description of 4,001 characters", { description: "d".repeat(4001) }, "manifest.description"],
    ["agents as a string", { agents: "agents/" }, "manifest.paths"],
    ["an absolute path", { tools: ["/etc/passwd"] }, "manifest.paths"],
    ["a path climbing out", { skills: ["../other"] }, "manifest.paths"],
    ["a backslash", { hooks: ["hooks\\a.py"] }, "manifest.paths"],
    ["the bundle root", { agents: ["./"] }, "manifest.paths"],
    ["a bare agents key", { agents: null }, "manifest.paths"],
    ["mcp as a list", { mcp: [] }, "manifest.mcp"],
    ["an unknown mcp key", { mcp: { server: {} } }, "manifest.mcp"],
    [
      "a server with command and url",
      { mcp: { servers: { s: { command: "a", url: "https://x.test" } } } },
      "manifest.mcp",
    ],
    ["a server with neither", { mcp: { servers: { s: { args: [] } } } }, "manifest.mcp"],
    [
      "auth on a stdio server",
      { mcp: { servers: { s: { command: "a", auth: { type: "oauth" } } } } },
      "manifest.mcp",
    ],
    ["a relative server URL", { mcp: { servers: { s: { url: "mcp.example/v1" } } } }, "manifest.mcp"],
    ["a zero timeout", { mcp: { servers: { s: { command: "a", timeout: 0 } } } }, "manifest.mcp"],
    ["an empty when", { mcp: { servers: { s: { command: "a", when: [] } } } }, "manifest.mcp"],
    [
      "an env value that is a number",
      { mcp: { servers: { s: { command: "a", env: { A: 1 } } } } },
      "manifest.mcp",
    ],
    [
      "an auth type other than oauth",
      { mcp: { servers: { s: { url: "https://x.test", auth: { type: "basic" } } } } },
      "manifest.mcp",
    ],
    [
      "a header object without value",
      { mcp: { servers: { s: { url: "https://x.test", headers: { A: {} } } } } },
      "manifest.mcp",
    ],
    ["a flag name in capitals", { flags: { ReadOnly: { description: "x" } } }, "manifest.flags"],
    ["a flag without description", { flags: { verbose: {} } }, "manifest.flags"],
    [
      "a flag default that is a string",
      { flags: { verbose: { description: "x", default: "yes" } } },
      "manifest.flags",
    ],
    ["an unknown flag key", { flags: { verbose: { description: "x", enabled: true } } }, "manifest.flags"],
    [
      "17 flags",
      { flags: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`f${i}`, { description: "x" }])) },
      "manifest.flags",
    ],
    [
      "a worker with path and command",
      { workers: { w: { path: "w.py", command: "run" } } },
      "manifest.workers",
    ],
    ["a worker name with an underscore", { workers: { my_worker: { command: "run" } } }, "manifest.workers"],
    [
      "an in-process worker that is not Python",
      { workers: { w: { path: "workers/w.sh" } } },
      "manifest.workers",
    ],
    ["args on an in-process worker", { workers: { w: { path: "w.py", args: ["-v"] } } }, "manifest.workers"],
    [
      "a worker setting the runtime token",
      { workers: { w: { command: "run", env: { DREADNODE_RUNTIME_TOKEN: "x" } } } },
      "manifest.workers",
    ],
    ["an unknown dependency kind", { dependencies: { npm: ["x"] } }, "manifest.dependencies"],
    ["an empty python requirement", { dependencies: { python: [""] } }, "manifest.dependencies"],
    ["a check without command", { checks: [{ name: "jq" }] }, "manifest.checks"],
    ["checks as a map", { checks: { jq: "command -v jq" } }, "manifest.checks"],
    ["an author object without name", { author: { url: "https://x.test" } }, "manifest.author"],
    ["an author of the wrong type", { author: 42 }, "manifest.author"],
    ["a blank license", { license: " " }, "manifest.license"],
    ["a repository list", { repository: ["https://x.test"] }, "manifest.repository"],
    ["65 keywords", { keywords: Array.from({ length: 65 }, (_, i) => `k${i}`) }, "manifest.keywords"],
    ["a keyword of 65 characters", { keywords: ["k".repeat(65)] }, "manifest.keywords"],
    ["produces as a list", { produces: ["x"] }, "manifest.produces"],
  ];
  for (const [what, fields, type] of rejected) {
    test(`rejects ${what} (${type}) in both`, () => {
      const manifest = { ...BASE, agents: [], ...fields };
      const validator = parseManifest(stringify(manifest));
      assert.ok(
        validator.errors.some((issue) => issue.type === type),
        `validator: ${JSON.stringify(validator.errors)}`,
      );
      assert.equal(schemaAccepts(manifest), false, "schema accepted it");
    });
  }

  test("a missing required field is rejected by both", () => {
    for (const key of ["schema", "name", "version", "description"]) {
      const manifest: Record<string, unknown> = { ...BASE };
      delete manifest[key];
      assert.notDeepEqual(parseManifest(stringify(manifest)).errors, [], key);
      assert.equal(schemaAccepts(manifest), false, key);
    }
  });

  // Accepted by both: the schema must never be stricter than the validator on ordinary manifests.
  const accepted: [string, Record<string, unknown>][] = [
    [
      "keys written without a value",
      { license: null, repository: null, keywords: null, hooks: null, workers: null },
    ],
    ["an unknown top-level key (a warning)", { rollout: "canary" }],
    ["a path through a sibling", { agents: ["a/../agents"] }],
    ["a placeholder URL", { mcp: { servers: { s: { url: `${"$"}{BASE_URL}/mcp` } } } }],
    ["mcp: {} disabling MCP", { mcp: {} }],
    [
      "a gated subprocess worker",
      { flags: { on: { description: "x" } }, workers: { w: { command: "run", when: ["on"] } } },
    ],
    ["an author string", { author: "Example Team" }],
    ["empty lists", { agents: [], tools: [], skills: [], keywords: [] }],
  ];
  for (const [what, fields] of accepted) {
    test(`accepts ${what} in both`, () => {
      const manifest = { ...BASE, ...fields };
      assert.deepEqual(parseManifest(stringify(manifest)).errors, []);
      assert.equal(schemaAccepts(manifest), true, JSON.stringify(validate.errors));
    });
  }

  const reference = readFileSync(
    fileURLToPath(new URL("../../docs/capability-format.md", import.meta.url)),
    "utf8",
  );

  test("the format reference documents every top-level field", () => {
    for (const key of Object.keys(MANIFEST_FIELDS)) assert.match(reference, new RegExp(`\`${key}\``), key);
  });

  test("the format reference's complete manifests pass the validator and the schema", () => {
    const manifests = [...reference.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((match) => match[1])
      .filter((text) => /^schema: 1$/m.test(text));
    assert.equal(manifests.length, 2);
    for (const text of manifests) {
      assert.deepEqual(parseManifest(text).errors, []);
      assert.equal(schemaAccepts(parse(text)), true, JSON.stringify(validate.errors));
    }
  });
});
