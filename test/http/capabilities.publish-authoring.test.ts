// What a publish tells an author about files other than capability.yaml: where a JSON file is
// broken, and the warnings for frontmatter and skill files that discovery could not use.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { expectError } from "../helpers/api.js";
import { capabilityBundle, publishBundle, publishOk } from "../helpers/capability-bundles.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

describe("POST CAP: authoring errors and warnings", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("a JSON syntax error in .mcp.json is a 422 whose headline names .mcp.json, with line and column", async () => {
    const mcp = '{\n  "mcpServers": {\n    "search": {"command": "npx",}\n  }\n}\n';
    const res = await publishBundle(t, capabilityBundle({ name: "broken-mcp", files: { ".mcp.json": mcp } }));
    expectError(res, 422, "validation_error", ["bundle", ".mcp.json"]);
    const envelope = res.json();
    assert.equal(envelope.detail, ".mcp.json is invalid");
    assert.deepEqual(envelope.errors, [
      {
        loc: ["bundle", ".mcp.json"],
        msg: ".mcp.json:3:33: Expected double-quoted property name",
        type: "manifest.mcp",
      },
    ]);
  });

  test("errors in several files are all named in the headline", async () => {
    const res = await publishBundle(
      t,
      capabilityBundle({
        name: "broken-both",
        manifestExtra: "mcp:\n  files: [mcp/a.json, mcp/b.json]",
        files: { "mcp/a.json": "{", "mcp/b.json": '{"mcpServers": []' },
      }),
    );
    expectError(res, 422, "validation_error");
    const envelope = res.json();
    assert.equal(envelope.detail, "mcp/a.json and mcp/b.json are invalid");
  });

  test("explicit tool names, broken frontmatter and a miscased skill file come back as warnings", async () => {
    const artifact = await publishOk(t, {
      name: "authoring-warnings",
      files: {
        "tools/web.py": '@tool(name="fetch_page")\ndef fetch(url: str) -> str:\n    """Fetch a page."""\n',
        "agents/broken.md": "---\nname: broken\ndescription: a: b\n---\nBody.\n",
        "skills/notes/skill.md": "---\nname: notes\ndescription: Notes.\n---\n",
        "tools/defs.json": '{"name": "run", }',
      },
    });
    assert.deepEqual(artifact.component_counts, {
      agents: 2,
      tools: 1,
      skills: 0,
      mcp_servers: 0,
      workers: 0,
    });
    const tools = artifact.component_details.filter((d: { type: string }) => d.type === "tool");
    assert.deepEqual(
      tools.map((d: { name: string }) => d.name),
      ["fetch_page"],
    );
    assert.deepEqual(
      artifact.warnings.map((w: { type: string; loc: unknown[] }) => [w.type, w.loc]),
      [
        ["manifest.frontmatter", ["bundle", "agents/broken.md"]],
        ["manifest.skill_file", ["bundle", "skills/notes/skill.md"]],
        ["manifest.tools", ["bundle", "tools/defs.json"]],
      ],
    );
    assert.match(artifact.warnings[0].msg, /^agents\/broken\.md:3:14: /);
    assert.match(artifact.warnings[2].msg, /^tools\/defs\.json:1:17: /);
  });
});
