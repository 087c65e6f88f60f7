// Component discovery, naming and counting (SPEC §4.3) over a bundle held in memory.
import { MANIFEST_PATH, type Manifest, parseSafeYaml } from "./manifest.js";
import type { ComponentCounts, ComponentDetail, ComponentType, Issue } from "./types.js";

export interface DiscoveryResult {
  counts: ComponentCounts;
  details: ComponentDetail[];
  errors: Issue[];
}

type Files = ReadonlyMap<string, Buffer>;
type Json = Record<string, unknown>;
type Transport = "stdio" | "http";

const MAX_FALLBACK_DESCRIPTION = 120;
const DEFAULT_MCP_FILES = [".mcp.json", "mcp.json"];

/**
 * `files` maps normalised bundle paths to contents; directories are implied by the paths. The
 * manifest is assumed valid (its listed paths normalised and, where required, present).
 */
export function discoverComponents(manifest: Manifest, files: Files): DiscoveryResult {
  const errors: Issue[] = [];
  const details = [
    ...discoverAgents(manifest, files),
    ...discoverTools(manifest, files),
    ...discoverSkills(manifest, files),
    ...discoverMcpServers(manifest, files, errors),
    ...declaredWorkers(manifest),
  ].sort(compareDetails);
  errors.push(...duplicateNames(details, "agent"), ...duplicateNames(details, "skill"));
  const counts = countComponents(details);
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0) + (manifest.hooks?.length ?? 0);
  if (total === 0) {
    errors.push({
      loc: ["bundle", MANIFEST_PATH],
      msg: "the capability has no agents, tools, skills, MCP servers, workers or hooks",
      type: "manifest.empty",
    });
  }
  return { counts, details, errors };
}

// --- where to look ---------------------------------------------------------------------------------

/** Omitted → the conventional directory; a list → that directory plus the list; [] → nothing. */
function componentRoots(listed: string[] | undefined, conventional: string): string[] {
  if (listed === undefined) return [conventional];
  if (listed.length === 0) return [];
  return [...new Set([conventional, ...listed])];
}

/** Every file at or below the roots, once, in bundle order. A root may be a file or a directory. */
function filesUnder(roots: string[], files: Files): string[] {
  const found = new Set<string>();
  for (const root of roots) {
    if (files.has(root)) found.add(root);
    for (const path of files.keys()) {
      if (path.startsWith(`${root}/`)) found.add(path);
    }
  }
  return [...found];
}

// --- agents ----------------------------------------------------------------------------------------

function discoverAgents(manifest: Manifest, files: Files): ComponentDetail[] {
  return filesUnder(componentRoots(manifest.agents, "agents"), files)
    .filter((path) => /\.(md|markdown)$/i.test(path))
    .map((path) => {
      const { data, body } = splitFrontmatter(decode(files.get(path)!));
      const model = nonEmptyString(data.model);
      return detail(
        "agent",
        nonEmptyString(data.name) ?? stem(path),
        path,
        nonEmptyString(data.description) ?? firstBodyLine(body),
        model === undefined ? undefined : { model },
      );
    });
}

// --- skills ----------------------------------------------------------------------------------------

function discoverSkills(manifest: Manifest, files: Files): ComponentDetail[] {
  return skillDirectories(manifest, files).map((dir) => {
    const { data, body } = splitFrontmatter(decode(files.get(`${dir}/SKILL.md`)!));
    return detail(
      "skill",
      nonEmptyString(data.name) ?? basename(dir),
      dir,
      nonEmptyString(data.description) ?? firstBodyLine(body),
    );
  });
}

/**
 * Immediate sub-directories holding SKILL.md. A listed directory that holds SKILL.md itself is
 * one skill (so is a listed SKILL.md file); the conventional `skills/` never is.
 */
function skillDirectories(manifest: Manifest, files: Files): string[] {
  const listed = new Set(manifest.skills ?? []);
  const dirs = new Set<string>();
  for (const root of componentRoots(manifest.skills, "skills")) {
    if (listed.has(root) && files.has(`${root}/SKILL.md`)) {
      dirs.add(root);
    } else if (listed.has(root) && basename(root) === "SKILL.md" && root.includes("/") && files.has(root)) {
      dirs.add(dirname(root));
    } else {
      for (const path of files.keys()) {
        const rest = path.startsWith(`${root}/`) ? path.slice(root.length + 1) : "";
        if (/^[^/]+\/SKILL\.md$/.test(rest)) dirs.add(dirname(path));
      }
    }
  }
  return [...dirs];
}

// --- tools -----------------------------------------------------------------------------------------

function discoverTools(manifest: Manifest, files: Files): ComponentDetail[] {
  return filesUnder(componentRoots(manifest.tools, "tools"), files).flatMap((path) => {
    const name = basename(path).toLowerCase();
    if (name.endsWith(".py"))
      return name === "__init__.py" ? [] : pythonTools(path, decode(files.get(path)!));
    if (/\.(ya?ml|json)$/.test(name)) return definitionFileTools(path, decode(files.get(path)!));
    return [];
  });
}

/** `{name, …}` or `{tools: [{name, …}]}`; any other file (config, fixtures, broken) is not ours. */
function definitionFileTools(path: string, text: string): ComponentDetail[] {
  const value = path.toLowerCase().endsWith(".json") ? parseJson(text) : parseYaml(text);
  if (!isMap(value)) return [];
  const entries = Array.isArray(value.tools) ? value.tools : [value];
  return entries.flatMap((entry) => {
    const name = isMap(entry) ? nonEmptyString(entry.name) : undefined;
    if (name === undefined) return [];
    const description = nonEmptyString((entry as Json).description);
    return [detail("tool", name, path, description === undefined ? undefined : firstLine(description))];
  });
}

const IDENTIFIER = "[\\p{ID_Start}_][\\p{ID_Continue}]*";
const DEF_PATTERN = new RegExp(`^(?:async\\s+)?def\\s+(${IDENTIFIER})`, "u");
const CLASS_PATTERN = new RegExp(`^class\\s+(${IDENTIFIER})`, "u");
const DECORATOR_PATTERN = new RegExp(`^@\\s*(${IDENTIFIER}(?:\\s*\\.\\s*${IDENTIFIER})*)\\s*(?:\\(|$)`, "u");
const DOCSTRING_START = /^[rRuU]?("""|'''|"|')/;

interface Scope {
  indent: number;
  kind: "class" | "def";
  name: string;
}

/**
 * Decorated functions at module level and decorated methods (`{toolset: Class}`), read from the
 * source without running it. Functions nested in functions are not tools: nobody can import them.
 */
function pythonTools(path: string, source: string): ComponentDetail[] {
  const lines = pythonLogicalLines(source);
  const scopes: Scope[] = [];
  const tools: ComponentDetail[] = [];
  let decorated = false;
  lines.forEach((line, index) => {
    while (scopes.length > 0 && scopes[scopes.length - 1].indent >= line.indent) scopes.pop();
    if (line.text.startsWith("@")) {
      decorated ||= isToolDecorator(line.text);
      return;
    }
    const def = DEF_PATTERN.exec(line.text);
    const cls = CLASS_PATTERN.exec(line.text);
    if (def) {
      if (decorated && scopes.every((scope) => scope.kind === "class")) {
        const toolset = scopes[scopes.length - 1]?.name;
        const metadata = toolset === undefined ? undefined : { toolset };
        tools.push(detail("tool", def[1], path, docstringSummary(lines, index), metadata));
      }
      scopes.push({ indent: line.indent, kind: "def", name: def[1] });
    } else if (cls) {
      scopes.push({ indent: line.indent, kind: "class", name: cls[1] });
    }
    decorated = false;
  });
  return tools;
}

function isToolDecorator(line: string): boolean {
  const match = DECORATOR_PATTERN.exec(line);
  const last = match?.[1].split(".").pop()?.trim();
  return last !== undefined && (last === "tool" || last === "tool_method" || last.endsWith("_tool"));
}

function docstringSummary(lines: PythonLine[], defIndex: number): string | undefined {
  const body = lines[defIndex + 1];
  if (body === undefined || body.indent <= lines[defIndex].indent) return undefined;
  const open = DOCSTRING_START.exec(body.text);
  if (!open) return undefined;
  const end = body.text.indexOf(open[1], open[0].length);
  return firstLine(body.text.slice(open[0].length, end === -1 ? undefined : end));
}

interface PythonLine {
  indent: number;
  /** The logical line: continuations joined, comments dropped, string literals kept verbatim. */
  text: string;
}

/**
 * Splits Python source into logical lines, so that multi-line decorator arguments, signatures
 * and strings count as one line, and a `@tool` inside a string or comment is never seen.
 */
function pythonLogicalLines(source: string): PythonLine[] {
  const src = source.replace(/\r\n?/g, "\n");
  const lines: PythonLine[] = [];
  let text = "";
  let indent = 0;
  let depth = 0;
  let atLineStart = true;
  let i = 0;
  const endLine = () => {
    if (text.trim() !== "") lines.push({ indent, text: text.trim() });
    text = "";
  };
  while (i < src.length) {
    if (atLineStart) {
      indent = 0;
      while (src[i] === " " || src[i] === "\t")
        indent = src[i++] === "\t" ? indent + 8 - (indent % 8) : indent + 1;
      atLineStart = false;
      continue;
    }
    const ch = src[i];
    if (ch === "#") {
      while (i < src.length && src[i] !== "\n") i += 1;
    } else if (ch === "\\" && src[i + 1] === "\n") {
      text += " ";
      i += 2;
    } else if (ch === "\n") {
      i += 1;
      if (depth > 0) {
        text += " ";
      } else {
        endLine();
        atLineStart = true;
      }
    } else if (ch === "'" || ch === '"') {
      const end = stringLiteralEnd(src, i);
      text += src.slice(i, end);
      i = end;
    } else {
      if ("([{".includes(ch)) depth += 1;
      else if (")]}".includes(ch)) depth = Math.max(0, depth - 1);
      text += ch;
      i += 1;
    }
  }
  endLine();
  return lines;
}

/** Index just past the literal starting at `start`; an unterminated one-line string ends at the newline. */
function stringLiteralEnd(src: string, start: number): number {
  const quote = src[start];
  const delimiter = src.startsWith(quote.repeat(3), start) ? quote.repeat(3) : quote;
  let i = start + delimiter.length;
  while (i < src.length) {
    if (src[i] === "\\") i += 2;
    else if (src.startsWith(delimiter, i)) return i + delimiter.length;
    else if (src[i] === "\n" && delimiter.length === 1) return i;
    else i += 1;
  }
  return src.length;
}

// --- MCP servers and workers -----------------------------------------------------------------------

/** Files first (an earlier file wins a name over a later one), then inline servers, which win. */
function discoverMcpServers(manifest: Manifest, files: Files, errors: Issue[]): ComponentDetail[] {
  const sources = manifest.mcp ? manifest.mcp.files : DEFAULT_MCP_FILES.filter((path) => files.has(path));
  const servers = new Map<string, ComponentDetail>();
  for (const path of sources) {
    const content = files.get(path);
    // A listed file that is missing was already reported by parseManifest (fileExists).
    if (content === undefined) continue;
    for (const [name, transport] of readMcpFile(path, decode(content), errors)) {
      if (!servers.has(name)) servers.set(name, mcpServerDetail(name, path, transport, []));
    }
  }
  for (const [name, server] of Object.entries(manifest.mcp?.servers ?? {})) {
    const transport = "url" in server ? "http" : "stdio";
    servers.set(name, mcpServerDetail(name, MANIFEST_PATH, transport, server.when ?? []));
  }
  return [...servers.values()];
}

/** The standard `{"mcpServers": {name: {command…} | {url…}}}` file of MCP clients. */
function readMcpFile(path: string, text: string, errors: Issue[]): [string, Transport][] {
  const problem = (msg: string, loc: (string | number)[] = []) =>
    errors.push({ loc: ["bundle", path, ...loc], msg, type: "manifest.mcp" });
  const value = parseJson(text);
  if (!isMap(value) || !isMap(value.mcpServers)) {
    problem(`${path} must be a JSON object with an "mcpServers" object`);
    return [];
  }
  return Object.entries(value.mcpServers).flatMap(([name, entry]): [string, Transport][] => {
    if (isMap(entry) && typeof entry.url === "string") return [[name, "http"]];
    if (isMap(entry) && typeof entry.command === "string") return [[name, "stdio"]];
    problem(`MCP server "${name}" must be an object with a command or a url`, ["mcpServers", name]);
    return [];
  });
}

function mcpServerDetail(
  name: string,
  path: string,
  transport: Transport,
  gatedBy: string[],
): ComponentDetail {
  return detail("mcp_server", name, path, undefined, { transport, gated_by: gatedBy });
}

function declaredWorkers(manifest: Manifest): ComponentDetail[] {
  return Object.entries(manifest.workers ?? {}).map(([name, worker]) => {
    const inProcess = "path" in worker;
    return detail("worker", name, inProcess ? worker.path : MANIFEST_PATH, undefined, {
      kind: inProcess ? "in_process" : "subprocess",
      gated_by: worker.when ?? [],
    });
  });
}

// --- results ---------------------------------------------------------------------------------------

function detail(
  type: ComponentType,
  name: string,
  path: string,
  description: string | undefined,
  metadata?: Record<string, unknown>,
): ComponentDetail {
  return {
    type,
    name,
    path,
    ...(description === undefined ? {} : { description }),
    ...(metadata === undefined ? {} : { metadata }),
  };
}

/** Plain code-unit order, so the result never depends on the server's locale. */
function compareDetails(a: ComponentDetail, b: ComponentDetail): number {
  return compare(a.type, b.type) || compare(a.name, b.name) || compare(a.path, b.path);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function countComponents(details: ComponentDetail[]): ComponentCounts {
  const count = (type: ComponentType) => details.filter((d) => d.type === type).length;
  return {
    agents: count("agent"),
    tools: count("tool"),
    skills: count("skill"),
    mcp_servers: count("mcp_server"),
    workers: count("worker"),
  };
}

/** One issue per component that reuses a name already taken (details are sorted by name, then path). */
function duplicateNames(details: ComponentDetail[], type: "agent" | "skill"): Issue[] {
  const firstPath = new Map<string, string>();
  const issues: Issue[] = [];
  for (const { name, path } of details.filter((d) => d.type === type)) {
    const first = firstPath.get(name);
    if (first === undefined) firstPath.set(name, path);
    else {
      const msg = `${type} name "${name}" is already used by ${first}`;
      issues.push({ loc: ["bundle", path], msg, type: "manifest.duplicate_component" });
    }
  }
  return issues;
}

// --- text helpers ----------------------------------------------------------------------------------

/**
 * `---` YAML `---` at the top of a Markdown file. Frontmatter that is not a YAML map is treated
 * as absent: a prompt file with odd frontmatter still is a component, named after its file.
 */
function splitFrontmatter(text: string): { data: Json; body: string } {
  const lines = text.split(/\r?\n/);
  if (lines[0].trimEnd() !== "---") return { data: {}, body: text };
  const close = lines.findIndex((line, index) => index > 0 && /^(---|\.\.\.)\s*$/.test(line));
  if (close === -1) return { data: {}, body: text };
  const parsed = parseYaml(lines.slice(1, close).join("\n"));
  return { data: isMap(parsed) ? parsed : {}, body: lines.slice(close + 1).join("\n") };
}

/** The first non-empty line, without Markdown heading marks, cut to 120 characters. */
function firstBodyLine(body: string): string | undefined {
  const line = body
    .split(/\r?\n/)
    .map((candidate) => candidate.trim().replace(/^#+\s*/, ""))
    .find((candidate) => candidate !== "");
  return line === undefined ? undefined : [...line].slice(0, MAX_FALLBACK_DESCRIPTION).join("").trimEnd();
}

function firstLine(text: string): string | undefined {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .find((line) => line !== "");
}

function parseYaml(text: string): unknown {
  const parsed = parseSafeYaml(text);
  return parsed.ok ? parsed.value : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function decode(content: Buffer): string {
  return content.toString("utf8").replace(/^\uFEFF/, "");
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

function isMap(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function dirname(path: string): string {
  return path.slice(0, Math.max(0, path.lastIndexOf("/")));
}

function stem(path: string): string {
  return basename(path).replace(/\.[^.]+$/, "");
}
