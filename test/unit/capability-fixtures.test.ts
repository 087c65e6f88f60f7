// The project's own fixture capabilities (test/fixtures/capabilities), which other suites publish:
// what the validator must compute for each, read from disk the way the CLI reads a directory.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readCapabilityDir } from "../../src/cli/read-capability-dir.js";
import { analyzeCapability } from "../../src/domain/capability-analysis.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/capabilities/${name}`, import.meta.url));
const analyzeFixture = async (name: string) => analyzeCapability(await readCapabilityDir(fixture(name)));
const summary = (details: { type: string; name: string }[]) => details.map((d) => `${d.type}:${d.name}`);

describe("fixture capabilities", () => {
  test("basic: one agent, one tool, a README", async () => {
    const analysis = await analyzeFixture("basic");
    assert.deepEqual(analysis.errors, []);
    assert.deepEqual(analysis.warnings, []);
    assert.equal(analysis.manifest?.name, "basic");
    assert.equal(analysis.manifest?.version, "1.0.0");
    assert.equal(analysis.manifest?.author_name, "Capstan Tests");
    assert.equal(analysis.manifest?.license, "MIT");
    assert.deepEqual(analysis.manifest?.keywords, ["example", "minimal"]);
    assert.deepEqual(analysis.componentCounts, {
      agents: 1,
      tools: 1,
      skills: 0,
      mcp_servers: 0,
      workers: 0,
    });
    assert.deepEqual(analysis.componentDetails, [
      {
        type: "agent",
        name: "assistant",
        path: "agents/assistant.md",
        description: "Answer questions using the echo tool.",
        metadata: { model: "inherit" },
      },
      { type: "tool", name: "echo", path: "tools/echo.py", description: "Return the text unchanged." },
    ]);
    assert.deepEqual(analysis.flags, {});
    assert.equal(analysis.readme?.path, "README.md");
    assert.match(analysis.readme?.content ?? "", /^# basic/);
  });

  test("full: every kind of component, flags and gating", async () => {
    const analysis = await analyzeFixture("full");
    assert.deepEqual(analysis.errors, []);
    // The audit skill has no frontmatter on purpose: it is named after its directory, with a warning.
    assert.deepEqual(
      analysis.warnings.map(({ type, loc }) => ({ type, loc })),
      [{ type: "manifest.frontmatter", loc: ["bundle", "extra-skills/audit/SKILL.md"] }],
    );
    assert.equal(analysis.manifest?.version, "2.1.0");
    assert.equal(analysis.manifest?.repository, "https://example.invalid/capstan/full");
    assert.deepEqual(analysis.manifest?.produces, { reports: ["markdown"] });
    assert.deepEqual(analysis.componentCounts, {
      agents: 3,
      tools: 5,
      skills: 2,
      mcp_servers: 3,
      workers: 2,
    });
    assert.deepEqual(summary(analysis.componentDetails), [
      "agent:executor",
      "agent:planner",
      "agent:reviewer",
      "mcp_server:files",
      "mcp_server:proxy",
      "mcp_server:tracker",
      "skill:audit",
      "skill:summarise",
      "tool:list_hosts",
      "tool:run_grep",
      "tool:run_ls",
      "tool:scan_host",
      "tool:summarize",
      "worker:journal",
      "worker:relay",
    ]);
    assert.deepEqual(analysis.flags, {
      readonly: { description: "Hide mutating tools", default: true },
      proxy: { description: "Route traffic through the local proxy", default: false },
      relay: { description: "Run the event relay worker", default: false },
    });
    const byName = new Map(analysis.componentDetails.map((d) => [`${d.type}:${d.name}`, d]));
    assert.deepEqual(byName.get("agent:executor"), {
      type: "agent",
      name: "executor",
      path: "agents/team/executor.markdown",
      description: "Executor",
    });
    assert.deepEqual(byName.get("tool:scan_host")?.metadata, { toolset: "Inventory" });
    assert.equal(byName.get("tool:scan_host")?.description, "Scan one host.");
    assert.equal(byName.get("tool:summarize")?.metadata, undefined);
    assert.deepEqual(byName.get("mcp_server:proxy"), {
      type: "mcp_server",
      name: "proxy",
      path: "capability.yaml",
      metadata: { transport: "stdio", gated_by: ["proxy"] },
    });
    assert.deepEqual(byName.get("mcp_server:files")?.path, "servers.json");
    assert.deepEqual(byName.get("mcp_server:tracker")?.metadata, { transport: "http", gated_by: [] });
    assert.deepEqual(byName.get("worker:journal"), {
      type: "worker",
      name: "journal",
      path: "workers/journal.py",
      metadata: { kind: "in_process", gated_by: [] },
    });
    assert.deepEqual(byName.get("worker:relay")?.metadata, { kind: "subprocess", gated_by: ["relay"] });
    assert.deepEqual(byName.get("skill:audit"), {
      type: "skill",
      name: "audit",
      path: "extra-skills/audit",
      description: "Audit the change before it ships.",
    });
    assert.equal(analysis.readme?.path, "Readme.md");
  });

  test("invalid: each manifest problem reported at its own loc, warnings kept", async () => {
    const analysis = await analyzeFixture("invalid");
    assert.equal(analysis.manifest, null);
    assert.deepEqual(
      analysis.errors.map(({ type, loc }) => ({ type, loc })),
      [
        { type: "manifest.version", loc: ["bundle", "capability.yaml", "version"] },
        { type: "manifest.flags", loc: ["bundle", "capability.yaml", "flags", "ReadOnly"] },
        { type: "manifest.workers", loc: ["bundle", "capability.yaml", "workers", "both"] },
      ],
    );
    assert.deepEqual(
      analysis.warnings.map(({ type, loc }) => ({ type, loc })),
      [{ type: "manifest.unknown_key", loc: ["bundle", "capability.yaml", "rollout"] }],
    );
    assert.deepEqual(analysis.componentCounts, {
      agents: 0,
      tools: 0,
      skills: 0,
      mcp_servers: 0,
      workers: 0,
    });
    assert.deepEqual(analysis.componentDetails, []);
  });
});

describe("analyzeCapability", () => {
  const bundle = (files: Record<string, string>) =>
    new Map(Object.entries(files).map(([path, text]) => [path, Buffer.from(text)]));
  const MANIFEST = 'schema: 1\nname: demo\nversion: "1.0.0-rc.1"\ndescription: Demo.\n';

  test("a missing capability.yaml is bundle.no_manifest", () => {
    const analysis = analyzeCapability(bundle({ "README.md": "# hi", "sub/capability.yaml": MANIFEST }));
    assert.deepEqual(
      analysis.errors.map(({ type, loc }) => ({ type, loc })),
      [{ type: "bundle.no_manifest", loc: ["bundle", "capability.yaml"] }],
    );
    assert.equal(analysis.manifest, null);
    assert.deepEqual(analysis.readme, { path: "README.md", content: "# hi" });
  });

  test("accepts a prerelease (SPEC §13); passes allowPrerelease through for build metadata", () => {
    const files = bundle({ "capability.yaml": MANIFEST, "agents/a.md": "A" });
    assert.deepEqual(analyzeCapability(files).errors, []);
    const build = bundle({
      "capability.yaml": MANIFEST.replace("1.0.0-rc.1", "1.0.0+build.7"),
      "agents/a.md": "A",
    });
    assert.equal(analyzeCapability(build).errors[0]?.type, "manifest.version");
    assert.deepEqual(analyzeCapability(build, { allowPrerelease: true }).errors, []);
  });

  test("listed paths must exist in the bundle, as files or directories", () => {
    const manifest = 'schema: 1\nname: demo\nversion: "1.0.0"\ndescription: Demo.\n';
    const ok = bundle({
      "capability.yaml": `${manifest}agents: [more, x.md]\nhooks: [h.py]\n`,
      "more/a.md": "",
      "x.md": "",
      "h.py": "",
    });
    assert.deepEqual(analyzeCapability(ok).errors, []);
    const missing = bundle({ "capability.yaml": `${manifest}agents: [mor]\n`, "more/a.md": "" });
    assert.deepEqual(
      analyzeCapability(missing).errors.map((e) => e.loc),
      [["bundle", "capability.yaml", "agents", 0]],
    );
  });

  test("discovery errors follow manifest errors; no README gives null", () => {
    const analysis = analyzeCapability(
      bundle({ "capability.yaml": 'schema: 1\nname: demo\nversion: "1.0.0"\ndescription: D.\n' }),
    );
    assert.deepEqual(
      analysis.errors.map((e) => e.type),
      ["manifest.empty"],
    );
    assert.equal(analysis.readme, null);
    assert.ok(analysis.manifest);
  });
});

describe("readCapabilityDir", () => {
  test("reads regular files recursively with / paths, dotfiles included, symlinks skipped", async () => {
    const dir = await mkdtemp(join(tmpdir(), "capstan-read-"));
    try {
      await mkdir(join(dir, "agents", "deep"), { recursive: true });
      await writeFile(join(dir, "capability.yaml"), "x");
      await writeFile(join(dir, ".mcp.json"), "{}");
      await writeFile(join(dir, "agents", "deep", "a.md"), "A");
      await symlink(join(dir, "capability.yaml"), join(dir, "link.yaml"));
      await symlink(join(dir, "agents"), join(dir, "linked-dir"));
      const files = await readCapabilityDir(dir);
      assert.deepEqual([...files.keys()].sort(), [".mcp.json", "agents/deep/a.md", "capability.yaml"]);
      assert.equal(files.get("agents/deep/a.md")?.toString(), "A");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
