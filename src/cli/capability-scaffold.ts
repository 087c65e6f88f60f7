// `capstan capability init`: a new capability that validates as written, with one of each basic
// component so that every convention (agents/, tools/, skills/, .mcp.json) is shown by example.

export interface ScaffoldOptions {
  withSkills: boolean;
  withMcp: boolean;
  /** The JSON Schema editors check capability.yaml against (the first line names it). */
  schemaUrl: string;
}

/** Where `capstan serve` listens by default (SPEC §1), for when no server is configured. */
export const DEFAULT_SERVER_URL = "http://127.0.0.1:8080";
export const CAPABILITY_SCHEMA_PATH = "/schemas/capability.schema.json";

/** The schema's URL on a server: the configured one when known, else the default local one. */
export function capabilitySchemaUrl(serverUrl: string | null): string {
  return `${(serverUrl ?? DEFAULT_SERVER_URL).replace(/\/+$/, "")}${CAPABILITY_SCHEMA_PATH}`;
}

/** Path → content of every file of the new capability. */
export function scaffoldFiles(name: string, options: ScaffoldOptions): Map<string, string> {
  const files = new Map<string, string>([
    ["capability.yaml", manifest(name, options.schemaUrl)],
    ["README.md", readme(name, options)],
    [`agents/${name}.md`, agent(name)],
    ["tools/greeting.py", TOOL],
  ]);
  if (options.withSkills) files.set("skills/summarise/SKILL.md", SKILL);
  if (options.withMcp) files.set(".mcp.json", MCP_SERVERS);
  return files;
}

function manifest(name: string, schemaUrl: string): string {
  return `# yaml-language-server: $schema=${schemaUrl}
# The manifest: what this capability is and what it holds.
schema: 1
name: ${name}
version: 0.1.0
description: Describe what ${name} adds to an agent.
license: Apache-2.0
keywords: []
# Agents, tools and skills are discovered in agents/, tools/ and skills/; MCP servers in .mcp.json.
# Flags let each runtime switch parts on and off; a runtime sees them as
# CAPABILITY_FLAG__<CAPABILITY>__<FLAG>=1|0 in capabilities.env.
# flags:
#   verbose:
#     description: Log every tool call
#     default: false
`;
}

function readme(name: string, options: ScaffoldOptions): string {
  const parts = [
    `- \`agents/${name}.md\`: an agent (frontmatter \`name\`, \`description\`, \`model\`)`,
    "- `tools/greeting.py`: a tool (a function decorated with `@tool`)",
  ];
  if (options.withSkills) parts.push("- `skills/summarise/SKILL.md`: a skill (one directory per skill)");
  if (options.withMcp) parts.push("- `.mcp.json`: MCP servers, in the format MCP clients use");
  return `# ${name}

${parts.join("\n")}

Check it with \`capstan capability validate .\`, publish it with \`capstan capability push .\`.
`;
}

function agent(name: string): string {
  return `---
name: ${name}
description: Helps with the tasks ${name} is made for.
model: inherit
---
You are ${name}. Use the \`greeting\` tool to greet people by name.
`;
}

const TOOL = `from dreadnode import tool


@tool
def greeting(name: str) -> str:
    """Greet someone by name."""
    return f"Hello, {name}!"
`;

const SKILL = `---
name: summarise
description: Summarise a long text into a few bullet points.
---
Read the whole text first, then write at most five bullet points that keep its conclusions.
`;

const MCP_SERVERS = `${JSON.stringify(
  {
    mcpServers: {
      everything: { command: "npx", args: ["-y", "@modelcontextprotocol/server-everything"] },
    },
  },
  null,
  2,
)}
`;
