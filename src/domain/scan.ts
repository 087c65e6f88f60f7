// The publish-time scanner (SPEC §14): runs the rules of scan-rules.ts over a capability's files,
// the server's in the bundle worker before a version is stored, the CLI's in `capability validate`,
// so both report the same findings.
//
// Bounded like the rest of a publish: at most MAX_FILE_SCAN_BYTES of each file and
// MAX_TOTAL_SCAN_BYTES in all are read, binary files are skipped, and at most MAX_FINDINGS are kept.
// A scan that stopped at a bound says so (`complete: false`) instead of passing silently.
import { MANIFEST_PATH } from "./manifest.js";
import { SCAN_RULES, type ScanRule, type ScanScope, type ScanSeverity } from "./scan-rules.js";
import type { ComponentDetail } from "./types.js";

/** Generous for anything a person writes; a larger file is a data file, read only this far. */
export const MAX_FILE_SCAN_BYTES = 1024 * 1024;
/** About 30 ms of scanning on a slow core; a bundle may hold more, the rest is not read. */
export const MAX_TOTAL_SCAN_BYTES = 32 * 1024 * 1024;
/** Enough to see what is wrong; a bundle with more is reported as incomplete. */
export const MAX_FINDINGS = 1000;
/** How far into a file a NUL byte marks it as binary. */
const BINARY_SNIFF_BYTES = 8192;

export interface ScanFinding {
  rule: string;
  severity: ScanSeverity;
  path: string;
  /** 1-based. */
  line: number;
  message: string;
  /** Set when a `capstan-scan: ignore <rule> <reason>` comment covers the finding. */
  suppressed?: { reason: string };
}

export interface ScanCounts {
  high: number;
  medium: number;
  low: number;
}

export interface ScanSummary {
  /** `findings` when anything is left after suppressions, else `passed`. */
  status: "passed" | "findings";
  /** Unsuppressed findings by severity. */
  counts: ScanCounts;
  suppressed: number;
  /** false when a bound stopped the scan before every file was read whole. */
  complete: boolean;
}

export interface ScanReport {
  findings: ScanFinding[];
  summary: ScanSummary;
}

const MARKDOWN = /\.(?:md|markdown|mdx)$/i;
const YAML = /\.ya?ml$/i;
const PYTHON = /\.py$/i;

/** Which scopes each file is read under, from the components the analysis found. */
function scopesByPath(files: ReadonlyMap<string, Buffer>, components: readonly ComponentDetail[]) {
  const agentFiles = new Set<string>();
  const skillDirs: string[] = [];
  const codeFiles = new Set<string>();
  const toolFiles = new Set<string>();
  const commandFiles = new Set<string>([MANIFEST_PATH]);
  for (const component of components) {
    if (component.type === "agent") agentFiles.add(component.path);
    else if (component.type === "skill") skillDirs.push(`${component.path}/`);
    else if (component.type === "mcp_server") commandFiles.add(component.path);
    else if (PYTHON.test(component.path) && (component.type === "tool" || component.type === "worker")) {
      codeFiles.add(component.path);
      if (component.type === "tool") toolFiles.add(component.path);
    }
  }
  const scopes = new Map<string, { scopes: Set<ScanScope>; docstringsOnly: boolean }>();
  for (const path of files.keys()) {
    const set = new Set<ScanScope>(["text"]);
    const markdown = MARKDOWN.test(path);
    if (markdown || YAML.test(path)) set.add("markup");
    if (markdown && (agentFiles.has(path) || skillDirs.some((dir) => path.startsWith(dir)))) {
      set.add("instructions");
    }
    if (toolFiles.has(path)) set.add("instructions");
    if (codeFiles.has(path)) set.add("tool_code");
    if (commandFiles.has(path)) set.add("commands");
    scopes.set(path, { scopes: set, docstringsOnly: toolFiles.has(path) });
  }
  return scopes;
}

/** One file's text with its lines found lazily: most files have no finding and never need them. */
class ScannedText {
  private starts: number[] | null = null;
  private docstrings: Set<number> | null = null;
  private commandSections: Set<number> | null = null;

  constructor(readonly text: string) {}

  /** 1-based line of a character offset. */
  lineOf(offset: number): number {
    const starts = this.lineStarts();
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  }

  lineText(line: number): string {
    const starts = this.lineStarts();
    if (line < 1 || line > starts.length) return "";
    const end = line < starts.length ? starts[line] - 1 : this.text.length;
    return this.text.slice(starts[line - 1], end);
  }

  /** Lines inside a Python docstring (a triple-quoted string that is a statement of its own). */
  inDocstring(line: number): boolean {
    if (this.docstrings === null) {
      this.docstrings = new Set();
      const count = this.lineStarts().length;
      let closing: string | null = null;
      for (let n = 1; n <= count; n++) {
        const current = this.lineText(n);
        if (closing !== null) {
          this.docstrings.add(n);
          if (current.includes(closing)) closing = null;
          continue;
        }
        const opening = /^\s*[rRuU]?("""|''')/.exec(current);
        if (opening === null) continue;
        this.docstrings.add(n);
        const quote = opening[1];
        if (!current.slice(opening[0].length).includes(quote)) closing = quote;
      }
    }
    return this.docstrings.has(line);
  }

  /** Lines of capability.yaml's `mcp` and `workers` sections, where commands are declared. */
  inCommandSection(line: number): boolean {
    if (this.commandSections === null) {
      this.commandSections = new Set();
      const count = this.lineStarts().length;
      let inside = false;
      for (let n = 1; n <= count; n++) {
        const current = this.lineText(n);
        const key = /^([A-Za-z_][\w-]{0,63})\s{0,8}:/.exec(current);
        if (key !== null) inside = key[1] === "mcp" || key[1] === "workers";
        if (inside) this.commandSections.add(n);
      }
    }
    return this.commandSections.has(line);
  }

  private lineStarts(): number[] {
    if (this.starts === null) {
      const starts = [0];
      for (let at = this.text.indexOf("\n"); at !== -1; at = this.text.indexOf("\n", at + 1)) {
        starts.push(at + 1);
      }
      this.starts = starts;
    }
    return this.starts;
  }
}

const SUPPRESSION_MARKER = "capstan-scan:";

/**
 * The rules a comment on this line suppresses, with their reasons: `# capstan-scan: ignore <rule>
 * <reason>` (or after `//`, or `<!-- … -->` in Markdown). A suppression without a reason is not
 * one: the reason is what a reviewer reads in the SARIF.
 */
export function suppressionsOn(line: string): Map<string, string> {
  const found = new Map<string, string>();
  for (let at = line.indexOf(SUPPRESSION_MARKER); at !== -1; at = line.indexOf(SUPPRESSION_MARKER, at + 1)) {
    const before = line.slice(Math.max(0, at - 8), at).trimEnd();
    if (!(before.endsWith("#") || before.endsWith("//") || before.endsWith("<!--"))) continue;
    const rest = line.slice(at + SUPPRESSION_MARKER.length, at + SUPPRESSION_MARKER.length + 400);
    const words = rest
      .replace(/-->.*$/s, "")
      .trim()
      .split(/\s+/);
    if (words[0] !== "ignore" || words.length < 3) continue;
    found.set(words[1], words.slice(2).join(" "));
  }
  return found;
}

function isBinary(content: Buffer): boolean {
  return content.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

/**
 * Scans a capability's files. `components` are the analysis's component details: they say which
 * files are agents, skills, tools and MCP definitions, so rules read only where they apply.
 */
export function scanCapability(
  files: ReadonlyMap<string, Buffer>,
  components: readonly ComponentDetail[],
  rules: readonly ScanRule[] = SCAN_RULES,
): ScanReport {
  const findings: ScanFinding[] = [];
  let complete = true;
  let budget = MAX_TOTAL_SCAN_BYTES;
  const scopes = scopesByPath(files, components);
  // Sorted, so the findings (and which ones a bound cuts off) never depend on archive order.
  const paths = [...files.keys()].sort();
  scanning: for (const path of paths) {
    const content = files.get(path)!;
    if (content.length === 0 || isBinary(content)) continue;
    const limit = Math.min(content.length, MAX_FILE_SCAN_BYTES, budget);
    if (limit < content.length) complete = false;
    if (limit === 0) break;
    budget -= limit;
    const file = new ScannedText(content.toString("utf8", 0, limit));
    const { scopes: fileScopes, docstringsOnly } = scopes.get(path)!;
    const fileFindings: ScanFinding[] = [];
    for (const rule of rules) {
      if (!fileScopes.has(rule.scope)) continue;
      const pattern = rule.pattern;
      pattern.lastIndex = 0;
      // One finding per rule and line: a bidi pair or a run of tokens is one thing to fix.
      let lastLine = 0;
      for (let match = pattern.exec(file.text); match !== null; match = pattern.exec(file.text)) {
        if (match[0].length === 0) pattern.lastIndex += 1;
        if (rule.accept && !rule.accept(match)) continue;
        const line = file.lineOf(match.index);
        if (line === lastLine) continue;
        if (rule.deferTo && fileFindings.some((f) => f.line === line && f.rule.startsWith(rule.deferTo!)))
          continue;
        lastLine = line;
        if (rule.scope === "instructions" && docstringsOnly && !file.inDocstring(line)) continue;
        if (rule.scope === "commands" && path === MANIFEST_PATH && !file.inCommandSection(line)) continue;
        if (findings.length >= MAX_FINDINGS) {
          complete = false;
          break scanning;
        }
        const finding: ScanFinding = {
          rule: rule.id,
          severity: rule.severity,
          path,
          line,
          message: rule.message(match),
        };
        // On the line itself, or alone on the line above (a PEM block or a Markdown paragraph has
        // no room for a trailing comment).
        const reason =
          suppressionsOn(file.lineText(line)).get(rule.id) ??
          suppressionsOn(file.lineText(line - 1)).get(rule.id);
        if (reason !== undefined) finding.suppressed = { reason };
        findings.push(finding);
        fileFindings.push(finding);
      }
    }
  }
  return { findings, summary: summarize(findings, complete) };
}

export function summarize(findings: readonly ScanFinding[], complete: boolean): ScanSummary {
  const counts: ScanCounts = { high: 0, medium: 0, low: 0 };
  let suppressed = 0;
  for (const finding of findings) {
    if (finding.suppressed) suppressed += 1;
    else counts[finding.severity] += 1;
  }
  const open = counts.high + counts.medium + counts.low;
  return { status: open > 0 ? "findings" : "passed", counts, suppressed, complete };
}

export type BlockSeverity = "none" | "high" | "medium";

/** The unsuppressed findings an org's `block_severity` refuses a publish for. */
export function blockingFindings(findings: readonly ScanFinding[], block: BlockSeverity): ScanFinding[] {
  if (block === "none") return [];
  const blocked = new Set<ScanSeverity>(block === "high" ? ["high"] : ["high", "medium"]);
  return findings.filter((finding) => !finding.suppressed && blocked.has(finding.severity));
}
