// The manifest's `secrets` section and `${NAME}` references in env values (SPEC §11).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stringify } from "yaml";
import { type ManifestResult, parseManifest } from "../../src/domain/manifest.js";

/** `${NAME}` in an env value: a secret reference, not a template. */
const ref = (name: string): string => ["$", "{", name, "}"].join("");

const BASE = { schema: 1, name: "demo", version: "1.0.0", description: "A demo capability." };
const parse = (fields: Record<string, unknown>): ManifestResult =>
  parseManifest(stringify({ ...BASE, ...fields }));

function errorsAt(result: ManifestResult): string[] {
  return result.errors.map((issue) => `${issue.type} ${issue.loc.slice(2).join(".")}`);
}

const worker = (env: Record<string, string>) => ({ relay: { command: "relay", env } });

describe("manifest secrets", () => {
  test("declared secrets are read with required defaulting to true", () => {
    const result = parse({
      secrets: { API_TOKEN: { description: "Token" }, REGION: { description: "Region", required: false } },
      workers: worker({ TOKEN: ref("API_TOKEN"), WHERE: "eu-" + ref("REGION") }),
      mcp: { servers: { s: { command: "node", env: { T: "Bearer " + ref("API_TOKEN") } } } },
    });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.manifest?.secrets, {
      API_TOKEN: { description: "Token", required: true },
      REGION: { description: "Region", required: false },
    });
    assert.deepEqual(result.warnings, [], "secrets is no longer an unknown key");
  });

  test("an undeclared reference in a worker's or an MCP server's env is manifest.secrets at its key", () => {
    const result = parse({
      workers: worker({ TOKEN: ref("API_TOKEN") }),
      mcp: { servers: { s: { command: "node", env: { T: `x${ref("OTHER")}y` } } } },
    });
    assert.deepEqual(errorsAt(result).sort(), [
      "manifest.secrets mcp.servers.s.env.T",
      "manifest.secrets workers.relay.env.TOKEN",
    ]);
    assert.equal(result.manifest, null);
  });

  test("variables the runtime provides and shell defaults are not references", () => {
    const result = parse({
      workers: worker({
        ROOT: ref("CAPABILITY_ROOT") + "/x",
        P: ref("PATH") + ":/opt",
        PORT: ref("PORT:-9876"),
        L: ref("lower"),
      }),
    });
    assert.deepEqual(
      result.errors.filter((issue) => issue.loc.includes("L")).length,
      1,
      "a lower-case name is refused",
    );
    assert.deepEqual(
      result.errors.filter((issue) => !issue.loc.includes("L")),
      [],
    );
  });

  test("bad names, a missing description, unknown keys and a non-boolean required are reported each", () => {
    const result = parse({
      secrets: {
        lower: { description: "x" },
        NO_DESCRIPTION: {},
        EXTRA: { description: "x", default: "y" },
        FLAG: { description: "x", required: "yes" },
        NOT_A_MAP: "text",
      },
    });
    assert.deepEqual(errorsAt(result).sort(), [
      "manifest.secrets secrets.EXTRA.default",
      "manifest.secrets secrets.FLAG.required",
      "manifest.secrets secrets.NOT_A_MAP",
      "manifest.secrets secrets.NO_DESCRIPTION.description",
      "manifest.secrets secrets.lower",
    ]);
  });

  test("secrets must be a map of at most 64", () => {
    assert.deepEqual(errorsAt(parse({ secrets: ["A"] })), ["manifest.secrets secrets"]);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`S${i}`, { description: "x" }]));
    assert.ok(errorsAt(parse({ secrets: many })).includes("manifest.secrets secrets"));
  });
});
