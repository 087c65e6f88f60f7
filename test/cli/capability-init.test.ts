import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { readCapabilitySource } from "../../src/cli/bundle-pack.js";
import { analyzeCapability } from "../../src/domain/capability-analysis.js";
import { runCli } from "./helpers/cli-harness.js";

describe("capstan capability init", () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "capstan-init-"));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  const variants = [
    { flags: [], counts: { agents: 1, tools: 1, skills: 0, mcp_servers: 0, workers: 0 } },
    { flags: ["--with-skills"], counts: { agents: 1, tools: 1, skills: 1, mcp_servers: 0, workers: 0 } },
    { flags: ["--with-mcp"], counts: { agents: 1, tools: 1, skills: 0, mcp_servers: 1, workers: 0 } },
    {
      flags: ["--with-skills", "--with-mcp"],
      counts: { agents: 1, tools: 1, skills: 1, mcp_servers: 1, workers: 0 },
    },
  ];
  for (const [index, variant] of variants.entries()) {
    test(`scaffolds a capability that validates (${variant.flags.join(" ") || "no options"})`, async () => {
      const name = `scaffold-${index}`;
      const run = await runCli(["capability", "init", name, ...variant.flags], { cwd: scratch });
      assert.equal(run.code, 0, run.stderr);
      const analysis = analyzeCapability(await readCapabilitySource(path.join(scratch, name)));
      assert.deepEqual(analysis.errors, []);
      assert.deepEqual(analysis.warnings, []);
      assert.equal(analysis.manifest?.name, name);
      assert.deepEqual(analysis.componentCounts, variant.counts);
      const validate = await runCli(["capability", "validate", name], { cwd: scratch });
      assert.equal(validate.code, 0, validate.stderr);
    });
  }

  test("capability.yaml names the JSON Schema on the configured server for editors", async () => {
    const env = {
      CAPSTAN_CONFIG: path.join(scratch, "no-config.json"),
      CAPSTAN_URL: "https://capstan.example.test/",
    };
    const run = await runCli(["capability", "init", "with-server"], { cwd: scratch, env });
    assert.equal(run.code, 0, run.stderr);
    const manifest = await readFile(path.join(scratch, "with-server", "capability.yaml"), "utf8");
    assert.equal(
      manifest.split("\n")[0],
      "# yaml-language-server: $schema=https://capstan.example.test/schemas/capability.schema.json",
    );
  });

  test("without a configured server the schema line names the default local server", async () => {
    const env = { CAPSTAN_CONFIG: path.join(scratch, "no-config.json") };
    const run = await runCli(["capability", "init", "no-server"], { cwd: scratch, env });
    assert.equal(run.code, 0, run.stderr);
    const manifest = await readFile(path.join(scratch, "no-server", "capability.yaml"), "utf8");
    assert.equal(
      manifest.split("\n")[0],
      "# yaml-language-server: $schema=http://127.0.0.1:8080/schemas/capability.schema.json",
    );
  });

  test("refuses to write into a directory that is not empty", async () => {
    const target = path.join(scratch, "full-dir");
    await runCli(["capability", "init", "full-dir"], { cwd: scratch });
    const run = await runCli(["capability", "init", "other", "--dir", target], { cwd: scratch });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /already exists and is not empty/);
  });

  test("refuses a name the manifest would refuse, as a usage error", async () => {
    const run = await runCli(["capability", "init", "Bad_Name"], { cwd: scratch });
    assert.equal(run.code, 2);
  });

  test("validate reports each error of an invalid capability and exits 1", async () => {
    const run = await runCli(["capability", "validate", path.resolve("test/fixtures/capabilities/invalid")]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /is not valid \(3 errors\)/);
    assert.match(run.stderr, /bundle\.capability\.yaml\.version: /);
    assert.match(run.stderr, /bundle\.capability\.yaml\.flags\.ReadOnly: /);
    assert.match(run.stderr, /warning: bundle\.capability\.yaml\.rollout: /);
  });

  test("validate --json prints the analysis and still exits 1 on errors", async () => {
    const run = await runCli([
      "capability",
      "validate",
      path.resolve("test/fixtures/capabilities/invalid"),
      "--json",
    ]);
    assert.equal(run.code, 1);
    const report = JSON.parse(run.stdout);
    assert.equal(report.valid, false);
    assert.equal(report.errors.length, 3);
    assert.equal(report.warnings[0].type, "manifest.unknown_key");
  });
});
