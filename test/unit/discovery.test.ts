import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stringify } from "yaml";
import {
  type DiscoveryResult,
  discoverComponents,
  MAX_COMPONENTS,
  MAX_PYTHON_SCAN_BYTES,
  MAX_PYTHON_SCAN_TOTAL_BYTES,
} from "../../src/domain/discovery.js";
import { parseManifest } from "../../src/domain/manifest.js";
import type { ComponentType } from "../../src/domain/types.js";

const BASE = { schema: 1, name: "demo", version: "1.0.0", description: "A demo capability." };

/** Discovers over `files` with a manifest built from BASE + `fields` (which must be valid). */
function discover(fields: Record<string, unknown>, files: Record<string, string>): DiscoveryResult {
  const { manifest, errors } = parseManifest(stringify({ ...BASE, ...fields }));
  assert.deepEqual(errors, []);
  const map = new Map(Object.entries(files).map(([path, text]) => [path, Buffer.from(text)]));
  return discoverComponents(manifest!, map);
}

function names(result: DiscoveryResult, type: ComponentType): string[] {
  return result.details.filter((d) => d.type === type).map((d) => d.name);
}

function find(result: DiscoveryResult, type: ComponentType, name: string) {
  const found = result.details.find((d) => d.type === type && d.name === name);
  assert.ok(found, `${type} ${name} not found`);
  return found;
}

const TOOL = (name: string) =>
  `from dreadnode import tool\n\n@tool\ndef ${name}() -> None:\n    """Does ${name}."""\n`;

describe("agents", () => {
  test("finds *.md and *.markdown recursively under agents/ when agents is omitted", () => {
    const result = discover(
      {},
      {
        "agents/a.md": "A",
        "agents/deep/er/b.markdown": "B",
        "agents/notes.txt": "not an agent",
        "other/c.md": "outside",
      },
    );
    assert.deepEqual(names(result, "agent"), ["a", "b"]);
    assert.equal(result.counts.agents, 2);
  });

  test("takes name, description and model from frontmatter", () => {
    const result = discover(
      {},
      { "agents/file.md": "---\nname: recon\ndescription: Investigate hosts.\nmodel: inherit\n---\nBody.\n" },
    );
    assert.deepEqual(result.details, [
      {
        type: "agent",
        name: "recon",
        path: "agents/file.md",
        description: "Investigate hosts.",
        metadata: { model: "inherit" },
      },
    ]);
  });

  test("falls back to the file stem and the first non-empty body line, cut to 120 characters", () => {
    const long = "x".repeat(200);
    const result = discover(
      {},
      {
        "agents/lead.md": "\n\n# Lead triager\nYou coordinate.\n",
        "agents/long.md": `---\nname: long\n---\n\n${long}\n`,
        "agents/empty.md": "",
      },
    );
    assert.equal(find(result, "agent", "lead").description, "Lead triager");
    assert.equal(find(result, "agent", "long").description, "x".repeat(120));
    assert.equal(find(result, "agent", "empty").description, undefined);
    assert.equal(find(result, "agent", "lead").metadata, undefined);
  });

  test("frontmatter that is not a YAML map is ignored, with a warning", () => {
    const result = discover({}, { "agents/odd.md": "---\n[not: a map\n---\nHello\n" });
    assert.deepEqual(names(result, "agent"), ["odd"]);
    assert.equal(find(result, "agent", "odd").description, "Hello");
    assert.deepEqual(
      result.warnings.map(({ type, loc }) => ({ type, loc })),
      [{ type: "manifest.frontmatter", loc: ["bundle", "agents/odd.md"] }],
    );
  });

  test("broken, unclosed or odd frontmatter is a warning naming the file and place; counts do not change", () => {
    const result = discover(
      {},
      {
        "agents/syntax.md": "---\nname: syntax\ndescription: a: b\n---\nBody\n",
        "agents/unclosed.md": "---\nname: unclosed\nBody without a closing line\n",
        "agents/list.md": "---\n- a\n- b\n---\nBody\n",
        "agents/number.md": "---\nname: 42\n---\nBody\n",
        "agents/plain.md": "# Plain prompt\nNo frontmatter is fine for an agent.\n",
        "agents/empty.md": "---\n---\nEmpty frontmatter.\n",
        "agents/good.md": "---\nname: good\n---\nGood.\n",
      },
    );
    assert.deepEqual(names(result, "agent"), [
      "empty",
      "good",
      "list",
      "number",
      "plain",
      "syntax",
      "unclosed",
    ]);
    assert.equal(result.counts.agents, 7);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(
      result.warnings.map(({ type, loc }) => [type, loc[1]]),
      [
        ["manifest.frontmatter", "agents/list.md"],
        ["manifest.frontmatter", "agents/number.md"],
        ["manifest.frontmatter", "agents/syntax.md"],
        ["manifest.frontmatter", "agents/unclosed.md"],
      ].sort((a, b) => (a[1] < b[1] ? -1 : 1)),
    );
    const syntax = result.warnings.find((w) => w.loc[1] === "agents/syntax.md")!;
    assert.match(syntax.msg, /^agents\/syntax\.md:3:\d+: /);
    assert.match(result.warnings.find((w) => w.loc[1] === "agents/unclosed.md")!.msg, /no closing ---/);
  });

  test("a list adds listed files and directories to agents/, without duplicates", () => {
    const result = discover(
      { agents: ["extra/reviewer.md", "more", "agents/sub"] },
      {
        "agents/a.md": "A",
        "agents/sub/b.md": "B",
        "extra/reviewer.md": "R",
        "extra/ignored.md": "not listed",
        "more/c.md": "C",
      },
    );
    assert.deepEqual(names(result, "agent"), ["a", "b", "c", "reviewer"]);
    assert.deepEqual(result.errors, []);
  });

  test("an empty list disables agents", () => {
    const result = discover({ agents: [], tools: [] }, { "agents/a.md": "A", "tools/t.py": TOOL("t") });
    assert.deepEqual(result.counts, { agents: 0, tools: 0, skills: 0, mcp_servers: 0, workers: 0 });
  });

  test("duplicate agent names are an error at the later file", () => {
    const result = discover(
      {},
      { "agents/a.md": "---\nname: same\n---\n", "agents/b.md": "---\nname: same\n---\n" },
    );
    assert.deepEqual(
      result.errors.map(({ type, loc }) => ({ type, loc })),
      [{ type: "manifest.duplicate_component", loc: ["bundle", "agents/b.md"] }],
    );
  });
});

describe("Python tools", () => {
  const tools = (source: string, fields: Record<string, unknown> = {}) =>
    discover(fields, { "tools/t.py": source }).details.filter((d) => d.type === "tool");

  test("@tool, @tool(), @dn.tool, @tool_method, @x_tool, with or without parens", () => {
    const source = [
      "import dreadnode as dn",
      "@tool",
      "def a(): pass",
      "@tool()",
      "def b(): pass",
      "@dn.tool",
      "def c(): pass",
      "@dn.agent.tool(name='x')",
      "def d(): pass",
      "@safe_tool",
      "def e(): pass",
      "@tool_method",
      "def f(): pass",
      "@toolbox",
      "def not_g(): pass",
      "@tools",
      "def not_h(): pass",
      "@staticmethod",
      "def not_i(): pass",
      "def not_j(): pass",
    ].join("\n");
    assert.deepEqual(
      tools(source).map((t) => t.name),
      ["a", "b", "c", "e", "f", "x"],
    );
  });

  test("an explicit name= (or a first positional string) of @tool wins over the function name", () => {
    const source = [
      '@tool(name="fetch_page")',
      "def fetch(url): pass",
      "@dn.tool('lookup', description='Look, name=\"no\" here')",
      "async def look(host): pass",
      "@tool(description='x, name=\"not_this\"', name = r'renamed')",
      "def original(): pass",
      "@safe_tool(catch=True, name='guarded')",
      "def risky(): pass",
      "@tool(name=NAME)",
      "def computed(): pass",
      "@tool(f'{prefix}_x')",
      "def formatted(): pass",
      "@tool(name='')",
      "def empty(): pass",
    ].join("\n");
    assert.deepEqual(
      tools(source).map((t) => t.name),
      ["computed", "empty", "fetch_page", "formatted", "guarded", "lookup", "renamed"],
    );
  });

  test("@tool_method keeps the method's name whatever name= it passes (SPEC §4.3's examples)", () => {
    assert.deepEqual(
      tools(
        "class T(Toolset):\n    @tool_method(name='score')\n    async def score_signal(self, x):\n        return 0\n",
      ).map((t) => t.name),
      ["score_signal"],
    );
  });

  test("decorator arguments may span several lines, and decorators may stack", () => {
    const source = [
      "@tool(",
      "    name='x',",
      '    description="""multi',
      '    line""",',
      ")",
      "@other.decorator(1)",
      "async def spanning(",
      "    a: int,",
      ") -> int:",
      '    """First line.',
      "",
      "    More detail.",
      '    """',
      "    return a",
    ].join("\n");
    assert.deepEqual(tools(source), [
      { type: "tool", name: "x", path: "tools/t.py", description: "First line." },
    ]);
  });

  test("methods carry their class as toolset", () => {
    const source = [
      "class SignalTools(Toolset):",
      "    @tool_method",
      "    def fetch(self):",
      "        '''Fetch.'''",
      "",
      "    def _private(self):",
      "        pass",
      "",
      "    @tool_method(name='s')",
      "    async def score(self):",
      "        return 0",
      "",
      "@tool",
      "def free():",
      "    pass",
    ].join("\n");
    assert.deepEqual(tools(source), [
      {
        type: "tool",
        name: "fetch",
        path: "tools/t.py",
        description: "Fetch.",
        metadata: { toolset: "SignalTools" },
      },
      { type: "tool", name: "free", path: "tools/t.py" },
      { type: "tool", name: "score", path: "tools/t.py", metadata: { toolset: "SignalTools" } },
    ]);
  });

  test("functions nested in functions are not tools", () => {
    const source = ["def outer():", "    @tool", "    def inner():", "        pass", "    return inner"].join(
      "\n",
    );
    assert.deepEqual(tools(source), []);
  });

  test("@tool inside strings and comments is not a decorator", () => {
    const source = [
      '"""Module docs.',
      "@tool",
      "def in_docstring(): pass",
      '"""',
      "# @tool",
      "def commented(): pass",
      "x = '@tool'",
      "def after_string(): pass",
    ].join("\n");
    assert.deepEqual(tools(source), []);
  });

  test("a decorated class does not make its first method a tool", () => {
    const source = ["@tool", "class NotATool:", "    def method(self):", "        pass"].join("\n");
    assert.deepEqual(tools(source), []);
  });

  test("handles CRLF line endings and tab indentation", () => {
    const source = "class T:\r\n\t@tool_method\r\n\tdef m(self):\r\n\t\t'''Doc.'''\r\n";
    assert.deepEqual(tools(source), [
      { type: "tool", name: "m", path: "tools/t.py", description: "Doc.", metadata: { toolset: "T" } },
    ]);
  });

  test("scans *.py recursively and never __init__.py", () => {
    const result = discover(
      {},
      { "tools/__init__.py": TOOL("hidden"), "tools/pkg/deep.py": TOOL("deep"), "tools/a.txt": TOOL("txt") },
    );
    assert.deepEqual(names(result, "tool"), ["deep"]);
  });

  test("a list adds listed files and directories to tools/", () => {
    const result = discover(
      { tools: ["lib/extra.py", "more/", "tools"] },
      {
        "tools/a.py": TOOL("a"),
        "lib/extra.py": TOOL("extra"),
        "lib/other.py": TOOL("other"),
        "more/m.py": TOOL("m"),
      },
    );
    assert.deepEqual(names(result, "tool"), ["a", "extra", "m"]);
  });
});

describe("tool-definition files", () => {
  test("reads {name, …} and {tools: [{name, …}]} from YAML and JSON", () => {
    const result = discover(
      {},
      {
        "tools/one.yaml": "name: single\ndescription: |\n  Does one thing.\n  Well.\n",
        "tools/many.yml":
          "tools:\n  - name: grep\n  - name: find\n    description: Find.\n  - description: nameless\n",
        "tools/defs.json": JSON.stringify({ tools: [{ name: "from_json" }] }),
      },
    );
    assert.deepEqual(names(result, "tool"), ["find", "from_json", "grep", "single"]);
    assert.equal(find(result, "tool", "single").description, "Does one thing.");
    assert.equal(find(result, "tool", "find").path, "tools/many.yml");
  });

  test("a file that is neither shape is ignored; one that is not parseable, with a warning", () => {
    const result = discover(
      {},
      {
        "tools/config.yaml": "retries: 3\n",
        "tools/list.json": "[1, 2]",
        "tools/broken.json": "{nope",
        "tools/broken.yaml": "a: [",
        "tools/t.py": TOOL("t"),
      },
    );
    assert.deepEqual(names(result, "tool"), ["t"]);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(
      result.warnings.map(({ type, loc, msg }) => [type, loc, msg]),
      [
        [
          "manifest.tools",
          ["bundle", "tools/broken.json"],
          "tools/broken.json:1:2: Expected property name or '}'; tools defined there are not listed",
        ],
        ["manifest.tools", ["bundle", "tools/broken.yaml"], result.warnings[1]?.msg],
      ],
    );
    assert.match(
      result.warnings[1].msg,
      /^tools\/broken\.yaml:1:\d+: .+; tools defined there are not listed$/,
    );
  });
});

describe("skills", () => {
  test("immediate sub-directories of skills/ holding SKILL.md", () => {
    const result = discover(
      {},
      {
        "skills/report/SKILL.md": "---\nname: reporting\ndescription: Write reports.\n---\n",
        "skills/plain/SKILL.md": "# Plain skill\nSteps.\n",
        "skills/notes/README.md": "no SKILL.md",
        "skills/deep/er/SKILL.md": "too deep",
        "skills/SKILL.md": "not a skill of skills/",
      },
    );
    assert.deepEqual(result.details, [
      { type: "skill", name: "plain", path: "skills/plain", description: "Plain skill" },
      { type: "skill", name: "reporting", path: "skills/report", description: "Write reports." },
    ]);
  });

  test("a listed directory holding SKILL.md is one skill; a listed parent contributes its children", () => {
    const result = discover(
      { skills: ["playbooks/escalate", "library", "single/SKILL.md"] },
      {
        "skills/triage/SKILL.md": "T",
        "playbooks/escalate/SKILL.md": "E",
        "playbooks/other/SKILL.md": "not listed",
        "library/a/SKILL.md": "A",
        "library/b/SKILL.md": "B",
        "single/SKILL.md": "S",
      },
    );
    assert.deepEqual(
      result.details.map((d) => [d.name, d.path]),
      [
        ["a", "library/a"],
        ["b", "library/b"],
        ["escalate", "playbooks/escalate"],
        ["single", "single"],
        ["triage", "skills/triage"],
      ],
    );
  });

  test("an empty list disables skills", () => {
    const result = discover({ skills: [], agents: ["a.md"] }, { "skills/x/SKILL.md": "X", "a.md": "A" });
    assert.deepEqual(names(result, "skill"), []);
  });

  test("a skill file in the wrong letter case is a warning, and that directory is no skill", () => {
    const result = discover(
      { skills: ["listed"] },
      {
        "skills/lower/skill.md": "---\nname: lower\ndescription: L.\n---\n",
        "skills/mixed/Skill.MD": "---\nname: mixed\ndescription: M.\n---\n",
        "skills/right/SKILL.md": "---\nname: right\ndescription: R.\n---\n",
        "listed/skill.md": "---\nname: listed\ndescription: X.\n---\n",
      },
    );
    assert.deepEqual(names(result, "skill"), ["right"]);
    assert.deepEqual(
      result.warnings.map(({ type, loc }) => [type, loc[1]]),
      [
        ["manifest.skill_file", "listed/skill.md"],
        ["manifest.skill_file", "skills/lower/skill.md"],
        ["manifest.skill_file", "skills/mixed/Skill.MD"],
      ],
    );
    assert.match(result.warnings[1].msg, /must be named SKILL\.md/);
  });

  test("a SKILL.md without frontmatter is a skill named after its directory, with a warning", () => {
    const result = discover({}, { "skills/plain/SKILL.md": "# Plain skill\nSteps.\n" });
    assert.deepEqual(names(result, "skill"), ["plain"]);
    assert.equal(find(result, "skill", "plain").description, "Plain skill");
    assert.deepEqual(
      result.warnings.map(({ type, loc }) => [type, loc]),
      [["manifest.frontmatter", ["bundle", "skills/plain/SKILL.md"]]],
    );
  });

  test("duplicate skill names are an error", () => {
    const result = discover(
      { skills: ["extra"] },
      { "skills/a/SKILL.md": "---\nname: same\n---\n", "extra/b/SKILL.md": "---\nname: same\n---\n" },
    );
    assert.deepEqual(
      result.errors.map(({ type, loc }) => ({ type, loc })),
      [{ type: "manifest.duplicate_component", loc: ["bundle", "skills/a"] }],
    );
  });
});

describe("MCP servers", () => {
  const mcpFile = (servers: Record<string, unknown>) => JSON.stringify({ mcpServers: servers });

  test("mcp omitted reads .mcp.json then mcp.json; the earlier file wins a name", () => {
    const result = discover(
      {},
      {
        ".mcp.json": mcpFile({ shared: { command: "a" }, dot: { url: "https://x.invalid" } }),
        "mcp.json": mcpFile({ shared: { url: "https://y.invalid" }, plain: { command: "b" } }),
        "other.json": mcpFile({ ignored: { command: "c" } }),
      },
    );
    assert.deepEqual(result.details, [
      { type: "mcp_server", name: "dot", path: ".mcp.json", metadata: { transport: "http", gated_by: [] } },
      { type: "mcp_server", name: "plain", path: "mcp.json", metadata: { transport: "stdio", gated_by: [] } },
      {
        type: "mcp_server",
        name: "shared",
        path: ".mcp.json",
        metadata: { transport: "stdio", gated_by: [] },
      },
    ]);
  });

  test("mcp present means exactly its files and servers; inline wins by name", () => {
    const result = discover(
      {
        flags: { burp: { description: "b" } },
        mcp: {
          files: ["servers/extra.json"],
          servers: { shared: { url: "https://x.invalid", when: ["burp"] }, inline: { command: "i" } },
        },
      },
      {
        ".mcp.json": mcpFile({ ignored: { command: "a" } }),
        "servers/extra.json": mcpFile({ shared: { command: "a" }, fromfile: { command: "b" } }),
      },
    );
    assert.deepEqual(result.details, [
      {
        type: "mcp_server",
        name: "fromfile",
        path: "servers/extra.json",
        metadata: { transport: "stdio", gated_by: [] },
      },
      {
        type: "mcp_server",
        name: "inline",
        path: "capability.yaml",
        metadata: { transport: "stdio", gated_by: [] },
      },
      {
        type: "mcp_server",
        name: "shared",
        path: "capability.yaml",
        metadata: { transport: "http", gated_by: ["burp"] },
      },
    ]);
  });

  test("mcp: {} disables MCP", () => {
    const result = discover(
      { mcp: {}, agents: ["a.md"] },
      { ".mcp.json": mcpFile({ x: { command: "a" } }), "a.md": "A" },
    );
    assert.equal(result.counts.mcp_servers, 0);
  });

  test("a malformed MCP file is an error at that file", () => {
    const result = discover({ agents: ["a.md"] }, { ".mcp.json": "{not json", "a.md": "A" });
    assert.deepEqual(
      result.errors.map(({ type, loc }) => ({ type, loc })),
      [{ type: "manifest.mcp", loc: ["bundle", ".mcp.json"] }],
    );
  });

  test("a JSON syntax error in an MCP file names the file, line, column and the parser's message", () => {
    const text = '{\n  "mcpServers": {\n    "a": {"command": "x",}\n  }\n}\n';
    const result = discover({ agents: ["a.md"] }, { ".mcp.json": text, "a.md": "A" });
    assert.deepEqual(
      result.errors.map(({ type, loc, msg }) => ({ type, loc, msg })),
      [
        {
          type: "manifest.mcp",
          loc: ["bundle", ".mcp.json"],
          msg: ".mcp.json:3:26: Expected double-quoted property name",
        },
      ],
    );
  });

  test("a JSON syntax error never copies the file's text into the message", () => {
    const text = '{"mcpServers": {"a": {"command": "x", "env": {"TOKEN": "s3cr3t-value"} x}}}';
    const result = discover({ agents: ["a.md"] }, { ".mcp.json": text, "a.md": "A" });
    assert.equal(result.errors.length, 1);
    assert.doesNotMatch(result.errors[0].msg, /s3cr3t/);
    assert.match(result.errors[0].msg, /^\.mcp\.json:1:\d+: /);
  });

  test("a file without an mcpServers object, or with a bad entry, is an error", () => {
    const noServers = discover({ agents: ["a.md"] }, { "mcp.json": '{"servers": {}}', "a.md": "A" });
    assert.deepEqual(noServers.errors[0].loc, ["bundle", "mcp.json"]);
    const badEntry = discover(
      { agents: ["a.md"] },
      { ".mcp.json": mcpFile({ good: { command: "a" }, bad: { args: [] } }), "a.md": "A" },
    );
    assert.deepEqual(badEntry.errors[0].loc, ["bundle", ".mcp.json", "mcpServers", "bad"]);
    assert.deepEqual(names(badEntry, "mcp_server"), ["good"]);
  });
});

describe("workers, ordering, counting", () => {
  test("workers are declared, never discovered", () => {
    const result = discover(
      {
        flags: { relay: { description: "r" } },
        workers: {
          relay: { command: "bin/relay", when: ["relay"] },
          journal: { path: "workers/journal.py" },
        },
      },
      { "workers/journal.py": "", "workers/undeclared.py": "" },
    );
    assert.deepEqual(result.details, [
      {
        type: "worker",
        name: "journal",
        path: "workers/journal.py",
        metadata: { kind: "in_process", gated_by: [] },
      },
      {
        type: "worker",
        name: "relay",
        path: "capability.yaml",
        metadata: { kind: "subprocess", gated_by: ["relay"] },
      },
    ]);
    assert.equal(result.counts.workers, 2);
  });

  test("details are sorted by type then name, in code-unit order", () => {
    const result = discover(
      { workers: { w: { command: "x" } }, mcp: { servers: { m: { command: "x" } } } },
      {
        "tools/t.py": `${TOOL("Zed")}\n${TOOL("alpha")}`,
        "skills/s/SKILL.md": "S",
        "agents/b.md": "B",
        "agents/a.md": "A",
      },
    );
    assert.deepEqual(
      result.details.map((d) => `${d.type}:${d.name}`),
      ["agent:a", "agent:b", "mcp_server:m", "skill:s", "tool:Zed", "tool:alpha", "worker:w"],
    );
    assert.deepEqual(result.counts, { agents: 2, tools: 2, skills: 1, mcp_servers: 1, workers: 1 });
  });

  test("a capability without components is empty", () => {
    const result = discover({}, { "README.md": "nothing here", "agents/notes.txt": "not markdown" });
    assert.deepEqual(
      result.errors.map(({ type, loc }) => ({ type, loc })),
      [{ type: "manifest.empty", loc: ["bundle", "capability.yaml"] }],
    );
  });

  test("hooks alone make a capability non-empty", () => {
    assert.deepEqual(discover({ hooks: ["hooks/h.py"] }, { "hooks/h.py": "" }).errors, []);
  });
});

describe("bounds on the work of discovery (SPEC §4.1)", () => {
  test(`more than ${MAX_COMPONENTS} components: one manifest.limits error, found without reading every file`, () => {
    const tools = JSON.stringify({ tools: Array.from({ length: 30_000 }, (_, i) => ({ name: `t${i}` })) });
    assert.ok(Buffer.byteLength(tools) < 1024 * 1024);
    const agents = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`agents/a${i}.md`, "x"]));
    const cases: Record<string, string>[] = [
      { "tools/defs.json": tools },
      { ...agents, "tools/more.py": TOOL("t").repeat(600) },
    ];
    for (const files of cases) {
      const result = discover({}, files);
      assert.deepEqual(
        result.errors.map((issue) => issue.type),
        ["manifest.limits"],
      );
      assert.deepEqual(result.details, []);
    }
  });

  test(`exactly ${MAX_COMPONENTS} components are accepted`, () => {
    const tools = JSON.stringify({
      tools: Array.from({ length: MAX_COMPONENTS }, (_, i) => ({ name: `t${i}` })),
    });
    const result = discover({}, { "tools/defs.json": tools });
    assert.deepEqual(result.errors, []);
    assert.equal(result.counts.tools, MAX_COMPONENTS);
  });

  test("a tool-definition or MCP file over 1 MiB is a manifest.limits error, not silently skipped", () => {
    const big = JSON.stringify({ name: "t", description: "x".repeat(1024 * 1024) });
    for (const path of ["tools/defs.json", "tools/defs.yaml", ".mcp.json"]) {
      const result = discover({}, { [path]: big, "agents/a.md": "A" });
      assert.deepEqual(
        result.errors.map((issue) => [issue.type, issue.loc]),
        [["manifest.limits", ["bundle", path]]],
      );
    }
  });

  test("a YAML tool file of half a million items is refused at its token cap", () => {
    const flow = `tools: [${"0,".repeat(499_999)}0]`;
    const result = discover({}, { "tools/defs.yaml": flow, "agents/a.md": "A" });
    assert.deepEqual(
      result.errors.map((issue) => issue.type),
      ["manifest.limits"],
    );
  });

  test("frontmatter over 64 KiB, or over its token cap, is a manifest.limits error", () => {
    const huge = `---\nname: a\nnote: "${"x".repeat(70 * 1024)}"\n---\nBody\n`;
    const wide = `---\nlist: [${"0,".repeat(30_000)}0]\n---\nBody\n`;
    for (const text of [huge, wide]) {
      const result = discover({}, { "agents/a.md": text });
      assert.deepEqual(
        result.errors.map((issue) => [issue.type, issue.loc]),
        [["manifest.limits", ["bundle", "agents/a.md"]]],
      );
    }
  });

  test("a large Markdown body after small frontmatter is read only as far as needed", () => {
    const text = `---\nname: big\n---\n\n\nFirst line\n${"more text\n".repeat(3_000_000)}`;
    const result = discover({}, { "agents/a.md": text });
    assert.deepEqual(result.errors, []);
    assert.equal(find(result, "agent", "big").description, "First line");
  });

  test("the capability's parse budget is reported once, however many documents exceed it", () => {
    const doc = `---\nlist: [${"0,".repeat(10_000)}0]\n---\nBody\n`;
    const files = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`agents/a${i}.md`, doc]));
    const result = discover({}, files);
    assert.deepEqual(
      result.errors.map((issue) => issue.type),
      ["manifest.limits"],
    );
    assert.match(result.errors[0].msg, /too large in total/);
  });

  test("a Python file over the scan limit is not scanned, and a warning names it", () => {
    const big = `${TOOL("first")}${"# padding\n".repeat(MAX_PYTHON_SCAN_BYTES / 10)}`;
    const result = discover({}, { "tools/big.py": big, "tools/small.py": TOOL("small") });
    assert.deepEqual(names(result, "tool"), ["small"]);
    assert.deepEqual(
      result.warnings.map((issue) => [issue.type, issue.loc]),
      [["manifest.limits", ["bundle", "tools/big.py"]]],
    );
    assert.match(result.warnings[0].msg, /tools\/big\.py/);
  });

  test("Python files beyond the total scan budget are named in one warning", () => {
    const file = `${TOOL("x")}${"#".repeat(MAX_PYTHON_SCAN_BYTES - 200)}\n`;
    const count = MAX_PYTHON_SCAN_TOTAL_BYTES / MAX_PYTHON_SCAN_BYTES + 3;
    const files = Object.fromEntries(Array.from({ length: count }, (_, i) => [`tools/m${i}.py`, file]));
    const result = discover({}, files);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0].msg, /not scanned for tools/);
    assert.ok(result.counts.tools > 0);
  });

  test("a single-line Python file of megabytes is scanned in linear time", () => {
    // 24 MB on one line blocked the loop for 6.6 s; under the size limit the cost is linear, so
    // a 1 MiB line must take about a 24th of that.
    const line = `x = [${"1, ".repeat((MAX_PYTHON_SCAN_BYTES - 100) / 3)}]\n`;
    const start = performance.now();
    const result = discover({}, { "tools/one-line.py": `${line}${TOOL("after")}` });
    const ms = performance.now() - start;
    assert.deepEqual(names(result, "tool"), ["after"]);
    assert.ok(ms < 5_000, `${ms} ms`);
  });

  test("a decorator on a logical line longer than the part kept is still recognised", () => {
    const source = `@tool(description="${"d".repeat(10_000)}")\ndef long_one() -> None:\n    pass\n`;
    assert.deepEqual(names(discover({}, { "tools/t.py": source }), "tool"), ["long_one"]);
  });
});
