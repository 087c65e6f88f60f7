// What a bundle leaves out: `.capstanignore` at the capability's root, in gitignore syntax, after
// built-in defaults. The CLI's pack and the server's publish check use this one module, so a file
// the CLI leaves out is the file the server warns about when another tool packed it.
//
// Written here rather than taken from a package: the semantics are small and exact (gitignore(5)),
// and a dependency in the server's bundle path is one more thing that reads untrusted input.
//
// Semantics, as in gitignore(5): blank lines and `#` lines are skipped (`\#`, `\!` and `\ ` escape);
// trailing unescaped spaces are dropped; `!` re-includes; a trailing `/` matches directories only; a
// pattern with a `/` at its start or middle is anchored at the root, otherwise it matches a name at
// any depth; `*` and `?` never match `/`; `[…]` is a class (`!` or `^` negates); a leading `**/`
// matches in every directory, a trailing `/**` everything inside, `/**/` zero or more directories.
// The last matching rule wins, and nothing inside an excluded directory can be re-included.

/** The ignore file read from a capability's root. */
export const IGNORE_FILE = ".capstanignore";

/**
 * Left out of every bundle before `.capstanignore` is applied (which may re-include them with `!`):
 * version control, environment files (they hold keys), caches and OS litter, installed packages.
 */
export const DEFAULT_IGNORE_PATTERNS: readonly string[] = [
  ".git/",
  ".hg/",
  ".svn/",
  ".env*",
  "__pycache__/",
  "*.pyc",
  ".DS_Store",
  "node_modules/",
];

export interface IgnoreRule {
  /** The line as written, for messages. */
  pattern: string;
  /** Where it comes from: `built-in` or `.capstanignore:<line>`. */
  source: string;
  negated: boolean;
  directoryOnly: boolean;
  /** Matched against the whole relative path (else against the last segment). */
  anchored: boolean;
  /** The pattern compiled (see compileGlob). */
  glob: CompiledGlob;
}

/**
 * At most this many rules of an ignore file are applied, each at most this long: a rule costs every
 * path it is tried on, and the server tries them on every published bundle. What is over is not
 * applied and named in `warnings` (the server's `bundle.ignore_rules` warning).
 */
export const MAX_IGNORE_RULES = 1000;
export const MAX_IGNORE_RULE_LENGTH = 1024;

export interface ParsedIgnoreFile {
  rules: IgnoreRule[];
  /** What was not applied and why, one sentence each (none when the file is within the limits). */
  warnings: string[];
}

/** Parses ignore-file text; lines that are not patterns (blank, comments) are skipped. */
export function parseIgnoreFile(text: string, sourceName: string = IGNORE_FILE): ParsedIgnoreFile {
  const rules: IgnoreRule[] = [];
  const tooLong: number[] = [];
  const overCount: number[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.length > MAX_IGNORE_RULE_LENGTH) {
      if (trimTrailingSpaces(line).trim() !== "" && !line.startsWith("#")) tooLong.push(index + 1);
      return;
    }
    const rule = parseIgnoreLine(line, `${sourceName}:${index + 1}`);
    if (rule === null) return;
    if (rules.length < MAX_IGNORE_RULES) rules.push(rule);
    else overCount.push(index + 1);
  });
  const warnings: string[] = [];
  if (tooLong.length > 0)
    warnings.push(
      `${sourceName}: ${plural(tooLong.length, "rule")} longer than ${MAX_IGNORE_RULE_LENGTH} characters ${tooLong.length === 1 ? "is" : "are"} not applied (${linesOf(tooLong)})`,
    );
  if (overCount.length > 0)
    warnings.push(
      `${sourceName}: only the first ${MAX_IGNORE_RULES} rules are applied; ${plural(overCount.length, "more rule")} ${overCount.length === 1 ? "is" : "are"} not (${linesOf(overCount)})`,
    );
  return { rules, warnings };
}

/** parseIgnoreFile's rules alone. */
export function parseIgnoreRules(text: string, sourceName: string = IGNORE_FILE): IgnoreRule[] {
  return parseIgnoreFile(text, sourceName).rules;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function linesOf(lines: number[]): string {
  const shown = lines.slice(0, 5).join(", ");
  return `line${lines.length === 1 ? "" : "s"} ${shown}${lines.length > 5 ? ", …" : ""}`;
}

export function defaultIgnoreRules(): IgnoreRule[] {
  return DEFAULT_IGNORE_PATTERNS.map((pattern) => parseIgnoreLine(pattern, "built-in") as IgnoreRule);
}

function parseIgnoreLine(line: string, source: string): IgnoreRule | null {
  let body = trimTrailingSpaces(line);
  if (body === "" || body.startsWith("#")) return null;
  let negated = false;
  if (body.startsWith("!")) {
    negated = true;
    body = body.slice(1);
  }
  let directoryOnly = false;
  if (body.endsWith("/") && !body.endsWith("\\/")) {
    directoryOnly = true;
    body = body.replace(/\/+$/, "");
  }
  if (body === "") return null;
  const anchored = body.includes("/");
  if (body.startsWith("/")) body = body.slice(1);
  if (body === "") return null;
  return {
    pattern: line.trim(),
    source,
    negated,
    directoryOnly,
    anchored,
    glob: compiledGlob(body),
  };
}

/** Trailing spaces go unless the last one is escaped with a backslash. */
function trimTrailingSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && line[end - 1] === " ") {
    let backslashes = 0;
    for (let i = end - 2; i >= 0 && line[i] === "\\"; i--) backslashes++;
    if (backslashes % 2 === 1) break;
    end--;
  }
  return line.slice(0, end);
}

// --- matching -----------------------------------------------------------------------------------
//
// No regular expressions: a glob compiled to a backtracking regex (`**/` → `(?:[^/]*/)*`, `*` →
// `[^/]*`) made `**/**/**/…/z` or `*a*a*a*a…b` take seconds to minutes on one path, and a publish
// holds a bundle worker while it runs. A rule is a list of path segments instead: a segment glob is
// matched with the two-pointer wildcard algorithm (O(glob × name)), and `**` segments with a table
// over (rule segment, path segment), so one rule against one path costs at most
// O(rule segments × path segments × segment cost), with consecutive `**` folded into one.

/** One character of a segment glob: a literal, `?`, a `[…]` class, or `*` (any run). */
type GlobAtom =
  | { kind: "char"; char: string }
  | { kind: "any" }
  | { kind: "star" }
  | { kind: "class"; negated: boolean; singles: string; ranges: [string, string][] };

type RuleSegment =
  /** One path segment matching a glob. */
  | { kind: "glob"; atoms: GlobAtom[] }
  /** `**` followed by `/`: zero or more whole segments. */
  | { kind: "globstar" }
  /** A trailing `**`: one or more segments, whatever they hold (`.*` after the last `/`). */
  | { kind: "rest" };

export interface CompiledGlob {
  segments: RuleSegment[];
  /** No `**`: matches only paths of exactly as many segments. */
  fixed: boolean;
  /** The fewest path segments it can match. */
  minSegments: number;
}

function compiledGlob(glob: string): CompiledGlob {
  const segments = compileGlob(glob);
  return {
    segments,
    fixed: segments.every((segment) => segment.kind === "glob"),
    minSegments: segments.filter((segment) => segment.kind !== "globstar").length,
  };
}

/** Work done by a matcher, in steps (segment comparisons and table cells). */
export interface MatchWork {
  steps: number;
  /** Past this many steps the matcher throws IgnoreWorkExceeded. */
  limit: number;
}

/**
 * A matcher's default step budget: far beyond what real rules cost on a real tree (1,000 rules
 * tried on 10,000 paths are about 20 million), and one to two seconds of work. Even linear costs
 * multiply: 1,000 rules of 200 `**` segments each, on a path 2,000 directories deep, are billions of
 * steps, so the budget, not the caps alone, is what bounds one bundle.
 */
export const MAX_IGNORE_MATCH_STEPS = 150_000_000;

/** The ignore rules cost more than the matcher's budget on these paths. */
export class IgnoreWorkExceeded extends Error {
  constructor(readonly limit: number) {
    super(`applying the ignore rules took more than ${limit} steps`);
  }
}

function step(work: MatchWork): void {
  if (++work.steps > work.limit) throw new IgnoreWorkExceeded(work.limit);
}

/**
 * Splits a glob into segments, reading it as the former regex translation did: `\x`
 * is a literal `x` (`\/` a separator), an unterminated `[` is a literal, and `**` is special only at
 * the start of a segment and before a `/` or the end; elsewhere a run of `*` is one `*`.
 */
function compileGlob(glob: string): RuleSegment[] {
  const segments: RuleSegment[] = [];
  let atoms: GlobAtom[] = [];
  const push = (segment: RuleSegment) => {
    const last = segments[segments.length - 1];
    // `**/**/` is `**/`, and `**/` before a trailing `**` adds nothing to it.
    if (segment.kind === "globstar" && last?.kind === "globstar") return;
    if (segment.kind === "rest" && last?.kind === "globstar") segments.pop();
    segments.push(segment);
  };
  let i = 0;
  let atSegmentStart = true;
  while (i < glob.length) {
    const char = glob[i];
    if (char === "*" && glob[i + 1] === "*" && atSegmentStart) {
      const after = glob[i + 2];
      if (after === "/") {
        push({ kind: "globstar" });
        i += 3;
        continue;
      }
      if (after === undefined) {
        push({ kind: "rest" });
        return segments;
      }
    }
    atSegmentStart = false;
    if (char === "*") {
      while (glob[i] === "*") i++;
      atoms.push({ kind: "star" });
      continue;
    }
    if (char === "?") {
      atoms.push({ kind: "any" });
      i++;
      continue;
    }
    if (char === "\\" && i + 1 < glob.length) {
      i += 2;
      if (glob[i - 1] === "/") {
        push({ kind: "glob", atoms });
        atoms = [];
        atSegmentStart = true;
      } else {
        atoms.push({ kind: "char", char: glob[i - 1] });
      }
      continue;
    }
    if (char === "[") {
      const parsed = characterClass(glob, i);
      if (parsed !== null) {
        atoms.push(parsed.atom);
        i = parsed.end;
        continue;
      }
    }
    if (char === "/") {
      push({ kind: "glob", atoms });
      atoms = [];
      atSegmentStart = true;
      i++;
      continue;
    }
    atoms.push({ kind: "char", char });
    i++;
  }
  push({ kind: "glob", atoms });
  return segments;
}

/**
 * `[abc]`, `[a-z]`, `[!x]`/`[^x]` starting at `start`; null when unterminated (then `[` is literal).
 * `]` first is a member, `\x` is a literal `x`, `-` first or last is literal; `a-c-e` is `a-c`, `-`
 * and `e`; a reversed range (`z-a`) matches nothing, as in git.
 */
function characterClass(glob: string, start: number): { atom: GlobAtom; end: number } | null {
  let i = start + 1;
  let negated = false;
  if (glob[i] === "!" || glob[i] === "^") {
    negated = true;
    i++;
  }
  // Members in order; `dash` marks an unescaped `-` between two members (a range operator).
  const items: { char: string; dash: boolean }[] = [];
  let first = true;
  while (i < glob.length && (glob[i] !== "]" || first)) {
    const char = glob[i];
    if (char === "\\" && i + 1 < glob.length) {
      items.push({ char: glob[i + 1], dash: false });
      i += 2;
    } else if (char === "-" && !first && i + 1 < glob.length && glob[i + 1] !== "]") {
      items.push({ char: "-", dash: true });
      i++;
    } else {
      items.push({ char, dash: false });
      i++;
    }
    first = false;
  }
  if (i >= glob.length) return null;
  let singles = "";
  const ranges: [string, string][] = [];
  for (let k = 0; k < items.length; ) {
    if (items[k + 1]?.dash && k + 2 < items.length) {
      ranges.push([items[k].char, items[k + 2].char]);
      k += 3;
    } else {
      singles += items[k].char;
      k++;
    }
  }
  return { atom: { kind: "class", negated, singles, ranges }, end: i + 1 };
}

/** Whether one atom other than `*` matches one character (a UTF-16 code unit, never `/`). */
function atomMatches(atom: GlobAtom, char: string): boolean {
  switch (atom.kind) {
    case "char":
      return atom.char === char;
    case "any":
      return char !== "/";
    case "class": {
      if (char === "/") return false;
      const member =
        atom.singles.includes(char) || atom.ranges.some(([low, high]) => low <= char && char <= high);
      return member !== atom.negated;
    }
    case "star":
      return false;
  }
}

/**
 * The two-pointer wildcard match: on a mismatch, the last `*` takes one more character and the
 * match resumes after it. Earlier `*`s never need to be revisited, so the cost is O(atoms × name).
 */
function segmentMatches(atoms: readonly GlobAtom[], name: string, work: MatchWork): boolean {
  // Most rules fail on most names at their first or last character (`*.pyc` on `main.py`): O(1).
  const first = atoms[0];
  const last = atoms[atoms.length - 1];
  if (first?.kind === "char" && name[0] !== first.char) return false;
  if (last?.kind === "char" && name[name.length - 1] !== last.char) return false;
  let a = 0;
  let n = 0;
  let starAtom = -1;
  let starName = 0;
  while (n < name.length) {
    step(work);
    const atom = atoms[a];
    if (atom !== undefined && atom.kind === "star") {
      starAtom = a++;
      starName = n;
    } else if (atom !== undefined && atomMatches(atom, name[n])) {
      a++;
      n++;
    } else if (starAtom >= 0) {
      a = starAtom + 1;
      n = ++starName;
    } else {
      return false;
    }
  }
  while (atoms[a]?.kind === "star") a++;
  return a === atoms.length;
}

/**
 * Whether the rule's segments match all of `path`'s segments: a table filled from the end, where
 * cell (r, p) says whether segments r… of the rule match segments p… of the path.
 */
function segmentsMatch(glob: CompiledGlob, path: readonly string[], work: MatchWork): boolean {
  const rule = glob.segments;
  if (glob.fixed) {
    // No `**`: one rule segment per path segment.
    if (rule.length !== path.length) return false;
    for (let i = 0; i < rule.length; i++) {
      step(work);
      if (!segmentMatches((rule[i] as { atoms: GlobAtom[] }).atoms, path[i], work)) return false;
    }
    return true;
  }
  if (path.length < glob.minSegments) return false;
  // A first or last segment that is a glob must match the path's first or last segment: checked
  // before the table, this turns most non-matching rules away at a character or two.
  const first = rule[0];
  const last = rule[rule.length - 1];
  if (first.kind === "glob" && !segmentMatches(first.atoms, path[0], work)) return false;
  if (last.kind === "glob" && !segmentMatches(last.atoms, path[path.length - 1], work)) return false;
  const width = path.length + 1;
  let below = new Uint8Array(width);
  below[path.length] = 1;
  for (let r = rule.length - 1; r >= 0; r--) {
    const segment = rule[r];
    const row = new Uint8Array(width);
    for (let p = path.length; p >= 0; p--) {
      step(work);
      if (segment.kind === "rest") row[p] = p < path.length ? 1 : 0;
      else if (segment.kind === "globstar") row[p] = below[p] || (p < path.length ? row[p + 1] : 0);
      else row[p] = p < path.length && below[p + 1] && segmentMatches(segment.atoms, path[p], work) ? 1 : 0;
    }
    below = row;
  }
  return below[0] === 1;
}

/** `path`: the path's segments for an anchored rule, else its name alone. */
function ruleMatches(
  rule: IgnoreRule,
  path: readonly string[],
  isDirectory: boolean,
  work: MatchWork,
): boolean {
  if (rule.directoryOnly && !isDirectory) return false;
  step(work);
  return segmentsMatch(rule.glob, path, work);
}

export interface IgnoreMatch {
  ignored: boolean;
  /** The deciding rule: for an ignored path the rule that excluded it (or its directory). */
  rule: IgnoreRule | null;
}

export class IgnoreMatcher {
  /** Matching work done so far; `match` throws IgnoreWorkExceeded past its limit. */
  readonly work: MatchWork;
  /** Directory decisions, shared by every path below them. */
  private readonly directories = new Map<string, IgnoreMatch>();

  /** `warnings`: what of the ignore file was not applied (see parseIgnoreFile). */
  constructor(
    readonly rules: readonly IgnoreRule[],
    readonly warnings: readonly string[] = [],
    stepLimit = MAX_IGNORE_MATCH_STEPS,
  ) {
    this.work = { steps: 0, limit: stepLimit };
  }

  /** The built-in defaults, then the ignore file's own rules (which may re-include with `!`). */
  static forCapability(ignoreFileText: string | null): IgnoreMatcher {
    const parsed = ignoreFileText === null ? { rules: [], warnings: [] } : parseIgnoreFile(ignoreFileText);
    return new IgnoreMatcher([...defaultIgnoreRules(), ...parsed.rules], parsed.warnings);
  }

  /** Whether one path is ignored, looking only at it (not at its parent directories). */
  private decide(path: string, isDirectory: boolean): IgnoreMatch {
    const cached = isDirectory ? this.directories.get(path) : undefined;
    if (cached !== undefined) return cached;
    let decision: IgnoreMatch = { ignored: false, rule: null };
    const segments = path.split("/");
    const name = segments.slice(-1);
    for (let index = this.rules.length - 1; index >= 0; index--) {
      const rule = this.rules[index];
      if (ruleMatches(rule, rule.anchored ? segments : name, isDirectory, this.work)) {
        decision = { ignored: !rule.negated, rule };
        break;
      }
    }
    if (isDirectory) this.directories.set(path, decision);
    return decision;
  }

  /** Whether `path` (relative, `/`-separated) is left out, its parent directories considered first. */
  match(path: string, isDirectory = false): IgnoreMatch {
    const segments = path.split("/");
    for (let depth = 1; depth < segments.length; depth++) {
      const parent = this.decide(segments.slice(0, depth).join("/"), true);
      if (parent.ignored) return parent;
    }
    return this.decide(path, isDirectory);
  }

  ignores(path: string, isDirectory = false): boolean {
    return this.match(path, isDirectory).ignored;
  }
}
