// Component discovery, naming and counting (SPEC §4.3) over a bundle held in memory. Everything
// here reads untrusted files, so the work is bounded: documents through bounded-parse.ts, Python
// sources by size, and discovery stops as soon as the capability has too many components.
import {
  type BoundedParseFailure,
  type BoundedParseResult,
  BUDGET_EXHAUSTED,
  CAPABILITY_JSON_BUDGET_TOKENS,
  CAPABILITY_YAML_BUDGET_TOKENS,
  DEFINITION_FILE_LIMITS,
  FRONTMATTER_LIMITS,
  ParseBudget,
  parseBoundedJson,
  parseBoundedYaml,
} from "./bounded-parse.js";
import { MANIFEST_PATH, type Manifest } from "./manifest.js";
import type { ComponentCounts, ComponentDetail, ComponentType, Issue } from "./types.js";

export interface DiscoveryResult {
  counts: ComponentCounts;
  details: ComponentDetail[];
  errors: Issue[];
  /** Things discovery could not look at (a Python file over the scan limit). */
  warnings: Issue[];
}

/** SPEC §4.1: components of all kinds together. */
export const MAX_COMPONENTS = 2000;
/** Python sources larger than this are not scanned for tools (a warning says so). */
export const MAX_PYTHON_SCAN_BYTES = 1024 * 1024;
/** All Python sources of one capability scanned together. */
export const MAX_PYTHON_SCAN_TOTAL_BYTES = 16 * 1024 * 1024;
/** Of a logical Python line only the start is kept: decorators, `def` and docstrings begin there. */
const MAX_LOGICAL_LINE_CHARS = 4096;

interface Context {
  files: Files;
  errors: Issue[];
  warnings: Issue[];
  budget: ParseBudget;
  components: number;
  pythonBytesScanned: number;
  pythonFilesSkipped: string[];
  budgetReported: boolean;
}

/** Thrown to stop discovery once the capability is over MAX_COMPONENTS. */
class TooManyComponents extends Error {}

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
  const ctx: Context = {
    files,
    errors: [],
    warnings: [],
    budget: new ParseBudget(CAPABILITY_YAML_BUDGET_TOKENS, CAPABILITY_JSON_BUDGET_TOKENS),
    components: 0,
    pythonBytesScanned: 0,
    pythonFilesSkipped: [],
    budgetReported: false,
  };
  let details: ComponentDetail[];
  try {
    // Workers and inline servers first: they cost nothing to count.
    const declared = [...declaredWorkers(manifest, ctx)];
    details = [
      ...declared,
      ...discoverMcpServers(manifest, ctx),
      ...discoverAgents(manifest, ctx),
      ...discoverSkills(manifest, ctx),
      ...discoverTools(manifest, ctx),
    ].sort(compareDetails);
  } catch (error) {
    if (!(error instanceof TooManyComponents)) throw error;
    const msg = `the capability has more than ${MAX_COMPONENTS} components (agents, tools, skills, MCP servers and workers)`;
    const errors = [{ loc: ["bundle", MANIFEST_PATH], msg, type: "manifest.limits" }];
    return { counts: countComponents([]), details: [], errors, warnings: ctx.warnings };
  }
  reportSkippedPython(ctx);
  const errors = [...ctx.errors, ...duplicateNames(details, "agent"), ...duplicateNames(details, "skill")];
  const counts = countComponents(details);
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0) + (manifest.hooks?.length ?? 0);
  if (total === 0) {
    errors.push({
      loc: ["bundle", MANIFEST_PATH],
      msg: "the capability has no agents, tools, skills, MCP servers, workers or hooks",
      type: "manifest.empty",
    });
  }
  return { counts, details, errors, warnings: ctx.warnings };
}

// --- where to look ---------------------------------------------------------------------------------

/** Omitted → the conventional directory; a list → that directory plus the list; [] → nothing. */
function componentRoots(listed: string[] | undefined, conventional: string): string[] {
  if (listed === undefined) return [conventional];
  if (listed.length === 0) return [];
  return [...new Set([conventional, ...listed])];
}

/**
 * Every file at or below the roots, once. A root may be a file or a directory. Roots inside other
 * roots are dropped first and each remaining one is a range of the sorted paths, so a long list of
 * roots costs no more than the files it names (a scan of every file per root did).
 */
function filesUnder(roots: string[], ctx: Context): string[] {
  const kept = new Set<string>();
  for (const root of [...roots].sort((a, b) => a.length - b.length)) {
    const segments = root.split("/");
    const insideKept = segments.some((_, end) => kept.has(segments.slice(0, end + 1).join("/")));
    if (!insideKept) kept.add(root);
  }
  const found: string[] = [];
  for (const root of kept) {
    if (ctx.files.has(root)) found.push(root);
    found.push(...pathsBelow(root, ctx));
  }
  return found;
}

const sortedPathsCache = new WeakMap<Files, string[]>();

/** The paths below `dir/`, found by binary search in the sorted paths. */
function pathsBelow(dir: string, ctx: Context): string[] {
  let sorted = sortedPathsCache.get(ctx.files);
  if (sorted === undefined) {
    sorted = [...ctx.files.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    sortedPathsCache.set(ctx.files, sorted);
  }
  const prefix = `${dir}/`;
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] < prefix) low = middle + 1;
    else high = middle;
  }
  const below: string[] = [];
  for (let i = low; i < sorted.length && sorted[i].startsWith(prefix); i++) below.push(sorted[i]);
  return below;
}

// --- agents ----------------------------------------------------------------------------------------

function discoverAgents(manifest: Manifest, ctx: Context): ComponentDetail[] {
  return filesUnder(componentRoots(manifest.agents, "agents"), ctx)
    .filter((path) => /\.(md|markdown)$/i.test(path))
    .map((path) => {
      const { data, firstBodyLine } = readMarkdown(path, ctx.files.get(path)!, ctx, "agent");
      const model = nonEmptyString(data.model);
      return component(
        ctx,
        detail(
          "agent",
          frontmatterName(data, path, "agent", stem(path), ctx),
          path,
          nonEmptyString(data.description) ?? firstBodyLine,
          model === undefined ? undefined : { model },
        ),
      );
    });
}

// --- skills ----------------------------------------------------------------------------------------

function discoverSkills(manifest: Manifest, ctx: Context): ComponentDetail[] {
  return skillDirectories(manifest, ctx).map((dir) => {
    const path = `${dir}/SKILL.md`;
    const { data, firstBodyLine } = readMarkdown(path, ctx.files.get(path)!, ctx, "skill");
    return component(
      ctx,
      detail(
        "skill",
        frontmatterName(data, path, "skill", basename(dir), ctx),
        dir,
        nonEmptyString(data.description) ?? firstBodyLine,
      ),
    );
  });
}

/**
 * Immediate sub-directories holding SKILL.md. A listed directory that holds SKILL.md itself is
 * one skill (so is a listed SKILL.md file); the conventional `skills/` never is.
 */
function skillDirectories(manifest: Manifest, ctx: Context): string[] {
  const files = ctx.files;
  const listed = new Set(manifest.skills ?? []);
  const dirs = new Set<string>();
  const miscased = new Set<string>();
  for (const root of componentRoots(manifest.skills, "skills")) {
    if (listed.has(root) && files.has(`${root}/SKILL.md`)) {
      dirs.add(root);
    } else if (listed.has(root) && basename(root) === "SKILL.md" && root.includes("/") && files.has(root)) {
      dirs.add(dirname(root));
    } else {
      for (const path of pathsBelow(root, ctx)) {
        const rest = path.slice(root.length + 1);
        if (/^[^/]+\/SKILL\.md$/.test(rest)) dirs.add(dirname(path));
        else if (/^[^/]+\/skill\.md$/i.test(rest)) miscased.add(path);
      }
      // A listed directory that is itself the skill, its file misspelt.
      if (listed.has(root)) {
        for (const path of pathsBelow(root, ctx)) {
          if (/^skill\.md$/i.test(path.slice(root.length + 1))) miscased.add(path);
        }
      }
    }
  }
  for (const path of [...miscased].sort(compare)) {
    if (dirs.has(dirname(path)) || files.has(`${dirname(path)}/SKILL.md`)) continue;
    ctx.warnings.push({
      loc: ["bundle", path],
      msg: `${path}: a skill's file must be named SKILL.md, in capitals; ${dirname(path)} is not read as a skill`,
      type: "manifest.skill_file",
    });
  }
  return [...dirs];
}

// --- tools -----------------------------------------------------------------------------------------

function discoverTools(manifest: Manifest, ctx: Context): ComponentDetail[] {
  return filesUnder(componentRoots(manifest.tools, "tools"), ctx).flatMap((path) => {
    const name = basename(path).toLowerCase();
    const content = ctx.files.get(path)!;
    if (name.endsWith(".py")) return name === "__init__.py" ? [] : pythonFileTools(path, content, ctx);
    if (/\.(ya?ml|json)$/.test(name)) return definitionFileTools(path, content, ctx);
    return [];
  });
}

/**
 * `{name, …}` or `{tools: [{name, …}]}`; any other file (config, fixtures, broken) is not ours.
 * A file over the limits of SPEC §4.1 is an error rather than ignored: whether it defines tools
 * cannot be known without reading it.
 */
function definitionFileTools(path: string, content: Buffer, ctx: Context): ComponentDetail[] {
  const parse = path.toLowerCase().endsWith(".json") ? parseBoundedJson : parseBoundedYaml;
  const parsed = parseDocument(path, content, parse, ctx);
  if (parsed !== null && !parsed.ok) {
    // Not an error: a file in tools/ may be anybody's (a tsconfig.json with comments). But a
    // definition with a typo must not lose its tools in silence.
    ctx.warnings.push({
      loc: ["bundle", path],
      msg: `${syntaxMessage(path, parsed)}; tools defined there are not listed`,
      type: "manifest.tools",
    });
    return [];
  }
  const value = parsed?.ok ? parsed.value : undefined;
  if (!isMap(value)) return [];
  const entries = Array.isArray(value.tools) ? value.tools : [value];
  const tools: ComponentDetail[] = [];
  for (const entry of entries) {
    const name = isMap(entry) ? nonEmptyString(entry.name) : undefined;
    if (name === undefined) continue;
    const description = nonEmptyString((entry as Json).description);
    tools.push(
      component(
        ctx,
        detail("tool", name, path, description === undefined ? undefined : firstLine(description)),
      ),
    );
  }
  return tools;
}

/** Parses a definition document within DEFINITION_FILE_LIMITS; null when over them (reported). */
function parseDocument(
  path: string,
  content: Buffer,
  parse: typeof parseBoundedJson,
  ctx: Context,
): BoundedParseResult | null {
  if (content.length > DEFINITION_FILE_LIMITS.maxBytes) {
    limitsError(
      ctx,
      path,
      `${path} is ${content.length} bytes; at most ${DEFINITION_FILE_LIMITS.maxBytes} are read`,
    );
    return null;
  }
  const parsed = parse(decode(content), DEFINITION_FILE_LIMITS, ctx.budget);
  if (!parsed.ok && parsed.overLimit) {
    overLimitError(ctx, path, path, parsed.error);
    return null;
  }
  return parsed;
}

function limitsError(ctx: Context, path: string, msg: string): void {
  ctx.errors.push({ loc: ["bundle", path], msg, type: "manifest.limits" });
}

/** A document over its limits; once the capability's budget is spent, that is said only once. */
function overLimitError(ctx: Context, path: string, what: string, error: string): void {
  if (error === BUDGET_EXHAUSTED) {
    if (ctx.budgetReported) return;
    ctx.budgetReported = true;
  }
  limitsError(ctx, path, `${what} cannot be read: ${error}`);
}

/** Counts a component; past MAX_COMPONENTS discovery stops at once. */
function component(ctx: Context, found: ComponentDetail): ComponentDetail {
  ctx.components += 1;
  if (ctx.components > MAX_COMPONENTS) throw new TooManyComponents();
  return found;
}

function pythonFileTools(path: string, content: Buffer, ctx: Context): ComponentDetail[] {
  if (
    content.length > MAX_PYTHON_SCAN_BYTES ||
    ctx.pythonBytesScanned + content.length > MAX_PYTHON_SCAN_TOTAL_BYTES
  ) {
    ctx.pythonFilesSkipped.push(path);
    return [];
  }
  ctx.pythonBytesScanned += content.length;
  return pythonTools(path, decode(content)).map((tool) => component(ctx, tool));
}

/** One warning, naming the first few files: a bundle can hold thousands. */
function reportSkippedPython(ctx: Context): void {
  const skipped = ctx.pythonFilesSkipped;
  if (skipped.length === 0) return;
  const named =
    skipped.slice(0, 5).join(", ") + (skipped.length > 5 ? ` and ${skipped.length - 5} more` : "");
  ctx.warnings.push({
    loc: ["bundle", skipped[0]],
    msg:
      `not scanned for tools: ${named} (Python files are scanned up to ${MAX_PYTHON_SCAN_BYTES} bytes each ` +
      `and ${MAX_PYTHON_SCAN_TOTAL_BYTES} bytes in all); tools defined there are not listed`,
    type: "manifest.limits",
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
  let explicitName: string | undefined;
  lines.forEach((line, index) => {
    while (scopes.length > 0 && scopes[scopes.length - 1].indent >= line.indent) scopes.pop();
    if (line.text.startsWith("@")) {
      const decorator = toolDecorator(line.text);
      decorated ||= decorator !== null;
      explicitName ??= decorator?.name;
      return;
    }
    const def = DEF_PATTERN.exec(line.text);
    const cls = CLASS_PATTERN.exec(line.text);
    if (def) {
      if (decorated && scopes.every((scope) => scope.kind === "class")) {
        const toolset = scopes[scopes.length - 1]?.name;
        const metadata = toolset === undefined ? undefined : { toolset };
        tools.push(detail("tool", explicitName ?? def[1], path, docstringSummary(lines, index), metadata));
      }
      scopes.push({ indent: line.indent, kind: "def", name: def[1] });
    } else if (cls) {
      scopes.push({ indent: line.indent, kind: "class", name: cls[1] });
    }
    decorated = false;
    explicitName = undefined;
  });
  return tools;
}

/**
 * Whether the decorator line makes a tool, and the name it gives the tool: `@tool(name="x")` or
 * `@tool("x")`, a plain string literal. `@tool_method` keeps the method's name, as SPEC §4.3's
 * examples fix (`@tool_method(name="score") def score_signal` is `score_signal`).
 */
function toolDecorator(line: string): { name?: string } | null {
  const match = DECORATOR_PATTERN.exec(line);
  const last = match?.[1].split(".").pop()?.trim();
  if (last === undefined || !(last === "tool" || last === "tool_method" || last.endsWith("_tool")))
    return null;
  if (last === "tool_method" || !match![0].endsWith("(")) return {};
  const args = callArguments(line.slice(match![0].length));
  const keyword = args.find((arg) => /^name\s*=/.test(arg));
  const literal = keyword?.replace(/^name\s*=\s*/, "") ?? (args[0]?.includes("=") ? undefined : args[0]);
  const name = literal === undefined ? undefined : stringLiteralValue(literal);
  return name === undefined ? {} : { name };
}

/**
 * The top-level arguments of a call whose `(` was just read, each trimmed: commas inside strings
 * and nested brackets do not split. Stops at the closing `)` (or the end of the logical line).
 */
function callArguments(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'" || ch === '"') {
      i = stringLiteralEnd(text, i) - 1;
    } else if ("([{".includes(ch)) {
      depth += 1;
    } else if (")]}".includes(ch) && depth > 0) {
      depth -= 1;
    } else if ((ch === "," || ch === ")") && depth === 0) {
      args.push(text.slice(start, i).trim());
      if (ch === ")") return args.filter((arg) => arg !== "");
      start = i + 1;
    }
  }
  return [];
}

/** The value of a one-line string literal without escapes (`r`/`u` prefixes allowed), else undefined. */
function stringLiteralValue(literal: string): string | undefined {
  const match = /^[rRuU]?("|')([^"'\\]*)\1$/.exec(literal);
  const value = match?.[2].trim();
  return value === undefined || value === "" ? undefined : value;
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
 * and strings count as one line, and a `@tool` inside a string or comment is never seen. Linear in
 * the size of the source: each character is looked at once, and only the first
 * MAX_LOGICAL_LINE_CHARS characters of a logical line are kept.
 */
function pythonLogicalLines(source: string): PythonLine[] {
  const src = source.replace(/\r\n?/g, "\n");
  const lines: PythonLine[] = [];
  let text = "";
  let indent = 0;
  let depth = 0;
  let atLineStart = true;
  let i = 0;
  // A logical line can be megabytes long (one huge literal); what matters is at its start.
  const append = (piece: string) => {
    if (text.length < MAX_LOGICAL_LINE_CHARS) text += piece.slice(0, MAX_LOGICAL_LINE_CHARS - text.length);
  };
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
      append(" ");
      i += 2;
    } else if (ch === "\n") {
      i += 1;
      if (depth > 0) {
        append(" ");
      } else {
        endLine();
        atLineStart = true;
      }
    } else if (ch === "'" || ch === '"') {
      const end = stringLiteralEnd(src, i);
      append(src.slice(i, Math.min(end, i + MAX_LOGICAL_LINE_CHARS)));
      i = end;
    } else {
      if ("([{".includes(ch)) depth += 1;
      else if (")]}".includes(ch)) depth = Math.max(0, depth - 1);
      append(ch);
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
function discoverMcpServers(manifest: Manifest, ctx: Context): ComponentDetail[] {
  const files = ctx.files;
  const sources = manifest.mcp ? manifest.mcp.files : DEFAULT_MCP_FILES.filter((path) => files.has(path));
  const servers = new Map<string, ComponentDetail>();
  const add = (name: string, server: ComponentDetail) => {
    if (!servers.has(name)) component(ctx, server);
    servers.set(name, server);
  };
  for (const path of sources) {
    const content = files.get(path);
    // A listed file that is missing was already reported by parseManifest (fileExists).
    if (content === undefined) continue;
    for (const [name, transport] of readMcpFile(path, content, ctx)) {
      if (!servers.has(name)) add(name, mcpServerDetail(name, path, transport, []));
    }
  }
  for (const [name, server] of Object.entries(manifest.mcp?.servers ?? {})) {
    const transport = "url" in server ? "http" : "stdio";
    add(name, mcpServerDetail(name, MANIFEST_PATH, transport, server.when ?? []));
  }
  return [...servers.values()];
}

/** The standard `{"mcpServers": {name: {command…} | {url…}}}` file of MCP clients. */
function readMcpFile(path: string, content: Buffer, ctx: Context): [string, Transport][] {
  const problem = (msg: string, loc: (string | number)[] = []) =>
    ctx.errors.push({ loc: ["bundle", path, ...loc], msg, type: "manifest.mcp" });
  const parsed = parseDocument(path, content, parseBoundedJson, ctx);
  if (parsed === null) return [];
  if (!parsed.ok) {
    problem(syntaxMessage(path, parsed));
    return [];
  }
  const value = parsed.value;
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

function declaredWorkers(manifest: Manifest, ctx: Context): ComponentDetail[] {
  return Object.entries(manifest.workers ?? {}).map(([name, worker]) => {
    const inProcess = "path" in worker;
    return component(
      ctx,
      detail("worker", name, inProcess ? worker.path : MANIFEST_PATH, undefined, {
        kind: inProcess ? "in_process" : "subprocess",
        gated_by: worker.when ?? [],
      }),
    );
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
 * How much of a Markdown file is read: frontmatter (SPEC §4.1: at most 64 KiB), its markers, and
 * some body to find the first line of. The rest of a prompt can be megabytes that nobody needs here.
 */
const MARKDOWN_HEAD_BYTES = FRONTMATTER_LIMITS.maxBytes + 16 * 1024;

interface MarkdownHead {
  data: Json;
  firstBodyLine: string | undefined;
}

/**
 * `---` YAML `---` at the top of a Markdown file. Frontmatter that cannot be read (not closed, not
 * YAML, not a map) is ignored with a warning: the file still is a component, named after its file
 * or directory. A skill without frontmatter gets a warning too (the Agent Skills format requires
 * `name` and `description`); an agent does not, since a plain prompt file is a valid agent.
 * Frontmatter over the limits is an error: its name and description cannot be known.
 */
function readMarkdown(path: string, content: Buffer, ctx: Context, kind: "agent" | "skill"): MarkdownHead {
  const cut = content.length > MARKDOWN_HEAD_BYTES;
  const lines = decode(content.subarray(0, MARKDOWN_HEAD_BYTES)).split(/\r?\n/);
  // The last line of a cut head may end inside a character or a line.
  if (cut) lines.pop();
  const ignored = (msg: string): MarkdownHead => {
    frontmatterWarning(ctx, path, `${msg}; it is ignored`);
    return { data: {}, firstBodyLine: firstBodyLine(lines) };
  };
  if (lines[0]?.trimEnd() !== "---") {
    if (kind === "skill") {
      const msg = `${path} has no frontmatter: the skill is named after its directory; start the file with --- name: …, description: … ---`;
      frontmatterWarning(ctx, path, msg);
    }
    return { data: {}, firstBodyLine: firstBodyLine(lines) };
  }
  const close = lines.findIndex((line, index) => index > 0 && /^(---|\.\.\.)\s*$/.test(line));
  if (close === -1) {
    if (cut) {
      const msg = `the frontmatter of ${path} is over ${FRONTMATTER_LIMITS.maxBytes} bytes`;
      limitsError(ctx, path, msg);
      return { data: {}, firstBodyLine: undefined };
    }
    return ignored(`the frontmatter of ${path} has no closing --- line`);
  }
  const yaml = lines.slice(1, close).join("\n");
  const parsed = parseBoundedYaml(yaml, FRONTMATTER_LIMITS, ctx.budget);
  const body = firstBodyLine(lines.slice(close + 1));
  if (!parsed.ok) {
    if (parsed.overLimit) overLimitError(ctx, path, `the frontmatter of ${path}`, parsed.error);
    // Frontmatter starts on the file's second line.
    else frontmatterWarning(ctx, path, `${syntaxMessage(path, parsed, 1)}; the frontmatter is ignored`);
    return { data: {}, firstBodyLine: body };
  }
  if (parsed.value !== null && !isMap(parsed.value)) {
    frontmatterWarning(
      ctx,
      path,
      `the frontmatter of ${path} is not a YAML mapping (name: …); it is ignored`,
    );
    return { data: {}, firstBodyLine: body };
  }
  return { data: parsed.value ?? {}, firstBodyLine: body };
}

/** Frontmatter `name` when it is a non-empty string; anything else written there is warned about. */
function frontmatterName(
  data: Json,
  path: string,
  kind: "agent" | "skill",
  fallback: string,
  ctx: Context,
): string {
  const name = nonEmptyString(data.name);
  if (name === undefined && data.name !== undefined && data.name !== null) {
    const msg = `the frontmatter name of ${path} is not a non-empty string; the ${kind} is named "${fallback}"`;
    frontmatterWarning(ctx, path, msg);
  }
  return name ?? fallback;
}

function frontmatterWarning(ctx: Context, path: string, msg: string): void {
  ctx.warnings.push({ loc: ["bundle", path], msg, type: "manifest.frontmatter" });
}

/** `path:line:column: reason`, the way compilers name a place; `lineOffset` for embedded documents. */
function syntaxMessage(path: string, failure: BoundedParseFailure, lineOffset = 0): string {
  if (failure.line === undefined || failure.reason === undefined) return `${path}: ${failure.error}`;
  return `${path}:${failure.line + lineOffset}:${failure.column}: ${failure.reason}`;
}

/** The first non-empty line, without Markdown heading marks, cut to 120 characters. */
function firstBodyLine(lines: string[]): string | undefined {
  const line = lines
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
