// The .capstanignore matcher as it was before it stopped using regular expressions, kept only as
// the oracle that test/unit/ignore-rules.test.ts compares the new one with on small inputs (this
// translation backtracks exponentially on hostile patterns: never use it outside tests).
interface IgnoreRule {
  /** The line as written, for messages. */
  pattern: string;
  /** Where it comes from: `built-in` or `.capstanignore:<line>`. */
  source: string;
  negated: boolean;
  directoryOnly: boolean;
  /** Matched against the whole relative path (else against the last segment). */
  anchored: boolean;
  regex: RegExp;
}

/** Parses ignore-file text; lines that are not patterns (blank, comments) are skipped. */
export function parseRegexIgnoreRules(text: string, sourceName = ".capstanignore"): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const rule = parseIgnoreLine(line, `${sourceName}:${index + 1}`);
    if (rule !== null) rules.push(rule);
  });
  return rules;
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
    regex: new RegExp(`^${globToRegex(body)}$`, "s"),
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

function globToRegex(glob: string): string {
  let out = "";
  let i = 0;
  const segmentStart = (at: number) => at === 0 || glob[at - 1] === "/";
  while (i < glob.length) {
    const char = glob[i];
    if (char === "*" && glob[i + 1] === "*" && segmentStart(i)) {
      const after = glob[i + 2];
      if (after === "/") {
        // `**/` (leading or in the middle): zero or more whole directories.
        out += "(?:[^/]*/)*";
        i += 3;
        continue;
      }
      if (after === undefined) {
        // A trailing `/**` (or a bare `**`): everything below.
        out += ".*";
        i += 2;
        continue;
      }
    }
    if (char === "*") {
      while (glob[i] === "*") i++;
      out += "[^/]*";
      continue;
    }
    if (char === "?") {
      out += "[^/]";
      i++;
      continue;
    }
    if (char === "\\" && i + 1 < glob.length) {
      out += escapeRegex(glob[i + 1]);
      i += 2;
      continue;
    }
    if (char === "[") {
      const parsed = characterClass(glob, i);
      if (parsed !== null) {
        out += parsed.regex;
        i = parsed.end;
        continue;
      }
    }
    out += escapeRegex(char);
    i++;
  }
  return out;
}

/** `[abc]`, `[a-z]`, `[!x]`/`[^x]` starting at `start`; null when unterminated (then `[` is literal). */
function characterClass(glob: string, start: number): { regex: string; end: number } | null {
  let i = start + 1;
  let negated = false;
  if (glob[i] === "!" || glob[i] === "^") {
    negated = true;
    i++;
  }
  let body = "";
  let first = true;
  while (i < glob.length && (glob[i] !== "]" || first)) {
    const char = glob[i];
    if (char === "\\" && i + 1 < glob.length) {
      body += escapeClassChar(glob[i + 1]);
      i += 2;
    } else if (char === "-" && !first && i + 1 < glob.length && glob[i + 1] !== "]") {
      body += "-";
      i++;
    } else {
      body += escapeClassChar(char);
      i++;
    }
    first = false;
  }
  if (i >= glob.length) return null;
  // A class never matches `/`, as `*` and `?` do not.
  return { regex: negated ? `[^/${body}]` : `(?!/)[${body}]`, end: i + 1 };
}

function escapeRegex(char: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(char) ? `\\${char}` : char;
}

function escapeClassChar(char: string): string {
  return /[\]\\^-]/.test(char) ? `\\${char}` : char;
}

function ruleMatches(rule: IgnoreRule, path: string, isDirectory: boolean): boolean {
  if (rule.directoryOnly && !isDirectory) return false;
  const subject = rule.anchored ? path : path.slice(path.lastIndexOf("/") + 1);
  return rule.regex.test(subject);
}

interface IgnoreMatch {
  ignored: boolean;
  /** The deciding rule: for an ignored path the rule that excluded it (or its directory). */
  rule: IgnoreRule | null;
}

export class RegexIgnoreMatcher {
  constructor(readonly rules: readonly IgnoreRule[]) {}

  /** Whether one path is ignored, looking only at it (not at its parent directories). */
  private decide(path: string, isDirectory: boolean): IgnoreMatch {
    for (let index = this.rules.length - 1; index >= 0; index--) {
      const rule = this.rules[index];
      if (ruleMatches(rule, path, isDirectory)) return { ignored: !rule.negated, rule };
    }
    return { ignored: false, rule: null };
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
