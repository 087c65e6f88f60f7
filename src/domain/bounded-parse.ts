// Parsing of the YAML and JSON documents a bundle carries (SPEC §4.1, §4.2), with every cost capped
// while the text is read: size first, then lexical tokens and nesting one token at a time, so a
// hostile document is refused before a single node of it is built. A flow list of six million
// items used to exhaust the heap while `yaml` composed it, and `yaml`'s duplicate-key check
// compares every key with every other one (70,000 keys held the server for 34 s): keys are checked
// here with a Set instead.
import {
  Composer,
  type Document,
  isAlias,
  isCollection,
  isScalar,
  Lexer,
  LineCounter,
  Parser,
  visit,
} from "yaml";

export interface DocumentLimits {
  /** UTF-8 bytes of the document. */
  maxBytes: number;
  /**
   * Lexical tokens (YAML: scalars, indicators, white space, line breaks; JSON: values and
   * punctuation). Cost and memory are linear in it, and it also bounds the values built, since
   * each takes at least one token; alias expansions count against it too.
   */
  maxTokens: number;
  /** Nesting of collections. */
  maxDepth: number;
  /** YAML aliases (`*name`) in the document. */
  maxAliases: number;
}

/**
 * Shared by all the documents of one capability, so that many small documents are bounded too.
 * YAML and JSON are counted apart: a YAML token costs tens of times what a JSON one does.
 */
export class ParseBudget {
  private spent = { yaml: 0, json: 0 };

  constructor(
    readonly maxYamlTokens: number,
    readonly maxJsonTokens: number = maxYamlTokens,
  ) {}

  get exhausted(): boolean {
    return this.spent.yaml > this.maxYamlTokens || this.spent.json > this.maxJsonTokens;
  }

  /** Records the tokens of one document; false once the budget is overdrawn. */
  spend(kind: "yaml" | "json", tokens: number): boolean {
    this.spent[kind] += tokens;
    return !this.exhausted;
  }
}

export type BoundedParseResult = { ok: true; value: unknown; document?: Document } | BoundedParseFailure;

export type BoundedParseFailure =
  /**
   * `overLimit`: refused for its cost, not its syntax, whatever its content. A syntax error also
   * says where: `reason` is the parser's message alone, `line` and `column` count from 1, and
   * `error` joins them ("… at line 3, column 7").
   */
  { ok: false; error: string; overLimit: boolean; reason?: string; line?: number; column?: number };

/** The error of every document parsed once the capability's budget is spent. */
export const BUDGET_EXHAUSTED = "the capability's YAML and JSON documents are too large in total";

const KiB = 1024;
const MiB = 1024 * KiB;

/** capability.yaml: SPEC §4.2. */
export const MANIFEST_LIMITS: DocumentLimits = {
  maxBytes: 256 * KiB,
  maxTokens: 100_000,
  maxDepth: 64,
  maxAliases: 100,
};

/** Agent and skill frontmatter: SPEC §4.1. */
export const FRONTMATTER_LIMITS: DocumentLimits = {
  maxBytes: 64 * KiB,
  maxTokens: 50_000,
  maxDepth: 64,
  maxAliases: 100,
};

/** Tool-definition files and MCP files: SPEC §4.1. */
export const DEFINITION_FILE_LIMITS: DocumentLimits = {
  maxBytes: 1 * MiB,
  maxTokens: 100_000,
  maxDepth: 64,
  maxAliases: 100,
};

/**
 * All documents of one capability together, well beyond what 2,000 components with ordinary
 * frontmatter need (about 100 tokens each): at most about half a second of parsing on an idle core.
 */
export const CAPABILITY_YAML_BUDGET_TOKENS = 300_000;
export const CAPABILITY_JSON_BUDGET_TOKENS = 4_000_000;

const CORE_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`),
);

/** The checks both parsers make before reading a token: the document's size and the shared budget. */
function refusedBeforeParsing(
  text: string,
  limits: DocumentLimits,
  budget: ParseBudget | undefined,
): BoundedParseResult | undefined {
  const bytes = Buffer.byteLength(text);
  if (bytes > limits.maxBytes) return overLimit(`${bytes} bytes; at most ${limits.maxBytes} are allowed`);
  if (budget?.exhausted) return overLimit(BUDGET_EXHAUSTED);
  return undefined;
}

/**
 * YAML 1.2 core schema: one document, unique scalar keys (also when they only become equal as
 * object keys, `1` and `"1"`), only core tags, at most `maxAliases` aliases and no alias-driven
 * expansion beyond `maxTokens` values (billion laughs).
 */
export function parseBoundedYaml(
  text: string,
  limits: DocumentLimits,
  budget?: ParseBudget,
): BoundedParseResult {
  const refused = refusedBeforeParsing(text, limits, budget);
  if (refused) return refused;

  const lineCounter = new LineCounter();
  // Parser.parse() records the first line's start itself; feeding it lexemes by hand does not.
  lineCounter.addNewLine(0);
  const parser = new Parser(lineCounter.addNewLine);
  const cst = [];
  let tokens = 0;
  // The lexer and the parser are generators: each token is checked before the next is read.
  for (const lexeme of new Lexer().lex(text)) {
    tokens += 1;
    if (tokens > limits.maxTokens) return overLimit(`more than ${limits.maxTokens} YAML tokens`);
    for (const token of parser.next(lexeme)) cst.push(token);
    // The parser's stack holds the document, each collection open around the current token and
    // at most one more token: a coarse bound here, the exact depth is checked on the value.
    if (parser.stack.length > limits.maxDepth + 2) {
      return overLimit(`nested more than ${limits.maxDepth} levels deep`);
    }
  }
  for (const token of parser.end()) cst.push(token);
  if (budget && !budget.spend("yaml", tokens)) {
    return overLimit(BUDGET_EXHAUSTED);
  }

  const composer = new Composer({ version: "1.2", schema: "core", uniqueKeys: false });
  const documents = [...composer.compose(cst, true, text.length)];
  if (documents.length !== 1) return syntaxError("a YAML stream of several documents is not allowed");
  const doc = documents[0];
  if (doc.errors.length > 0) {
    const error = doc.errors[0];
    const { line, col } = lineCounter.linePos(error.pos[0]);
    return syntaxErrorAt(firstLine(error.message), line, col);
  }
  const problem = structureProblem(doc, limits);
  if (problem !== null) return problem;
  let value: unknown;
  try {
    // yaml counts the anchor itself in each anchor's expansion budget, hence the + 1.
    value = doc.toJS({ maxAliasCount: limits.maxAliases + 1 });
  } catch (error) {
    return overLimit(firstLine((error as Error).message));
  }
  // Aliases share one value; whoever serialises it (the stored manifest) writes every copy.
  const expanded = expandedShapeProblem(value, limits);
  return expanded ?? { ok: true, value, document: doc };
}

function structureProblem(doc: Document, limits: DocumentLimits): BoundedParseResult | null {
  let aliases = 0;
  let problem: BoundedParseResult | null = null;
  visit(doc, {
    Alias() {
      aliases += 1;
    },
    Map(_key, map) {
      const keys = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (keys.has(key)) problem ??= syntaxError(`duplicate key ${JSON.stringify(shortened(key))}`);
        keys.add(key);
      }
    },
    Pair(_key, pair) {
      // JS objects would stringify a collection key, silently merging distinct keys.
      if (isCollection(pair.key) || isAlias(pair.key))
        problem ??= syntaxError("mapping keys must be plain scalars");
    },
    Node(_key, node) {
      if (node.tag && !CORE_TAGS.has(node.tag)) problem ??= syntaxError(`tag ${node.tag} is not allowed`);
    },
  });
  if (problem) return problem;
  if (aliases > limits.maxAliases) {
    return overLimit(`${aliases} aliases; at most ${limits.maxAliases} are allowed`);
  }
  return null;
}

/** Walks the value as a serialiser would (aliases expanded), without recursion. */
function expandedShapeProblem(value: unknown, limits: DocumentLimits): BoundedParseResult | null {
  const stack: [unknown, number][] = [[value, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    nodes += 1;
    if (nodes > limits.maxTokens)
      return overLimit(`more than ${limits.maxTokens} values once aliases are expanded`);
    if (typeof node !== "object" || node === null) continue;
    if (depth > limits.maxDepth) return overLimit(`nested more than ${limits.maxDepth} levels deep`);
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return null;
}

/**
 * JSON.parse after one linear pre-scan that counts values and nesting, so that neither a huge
 * array nor a deep one is ever built. Not a validator: JSON.parse still decides what is valid.
 */
export function parseBoundedJson(
  text: string,
  limits: DocumentLimits,
  budget?: ParseBudget,
): BoundedParseResult {
  const refused = refusedBeforeParsing(text, limits, budget);
  if (refused) return refused;
  const shape = scanJson(text, limits);
  if (typeof shape === "string") return overLimit(shape);
  if (budget && !budget.spend("json", shape)) {
    return overLimit(BUDGET_EXHAUSTED);
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return jsonSyntaxError(text, firstLine((error as Error).message));
  }
}

/**
 * JSON.parse's message with the place it names as a line and column. V8 gives a position for some
 * errors and a quoted excerpt of the text for others (which would repeat the document, secrets
 * included, into an error item), so the excerpt is dropped and a missing position is found by
 * locateJsonError.
 */
function jsonSyntaxError(text: string, message: string): BoundedParseResult {
  const position = /\sat position (\d+)/.exec(message);
  const reason =
    message
      .replace(/\s+(?:in JSON\s+)?at position \d+.*$/, "")
      .replace(/\s*\(line \d+ column \d+\)$/, "")
      .replace(/, (?:\.\.\.)?".*$/s, "")
      .trim() || "invalid JSON";
  const offset = position ? Number(position[1]) : locateJsonError(text);
  const { line, column } = lineAndColumn(text, Math.min(offset, text.length));
  return syntaxErrorAt(reason, line, column);
}

/** 1-based line and column (in characters) of a string offset. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

const JSON_LITERALS = ["true", "false", "null"];

/**
 * The offset of the first character a strict JSON reader cannot accept (the text's length when
 * it ends too early). Run only on text JSON.parse refused and scanJson bounded in depth, so the
 * recursion is shallow.
 */
export function locateJsonError(text: string): number {
  let i = 0;
  const fail = (at: number): never => {
    throw new JsonErrorAt(at);
  };
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i += 1;
  };
  const string = () => {
    if (text[i] !== '"') fail(i);
    i += 1;
    while (i < text.length && text[i] !== '"') {
      const code = text.charCodeAt(i);
      if (code < 0x20) fail(i);
      if (text[i] === "\\") {
        const escaped = text[i + 1];
        if (escaped === "u") {
          i += 2;
          for (let n = 0; n < 4; n++, i++) if (!/[0-9a-fA-F]/.test(text[i] ?? "")) fail(i);
          continue;
        }
        if (escaped === undefined || !'"\\/bfnrt'.includes(escaped)) fail(i + 1);
        i += 2;
        continue;
      }
      i += 1;
    }
    if (i >= text.length) fail(text.length);
    i += 1;
  };
  const digits = () => {
    if (!isDigit(text[i])) fail(i);
    while (isDigit(text[i])) i += 1;
  };
  // Character by character, so that `1.}` fails at the `}` as it does for JSON.parse.
  const number = () => {
    if (text[i] === "-") i += 1;
    if (text[i] === "0") i += 1;
    else digits();
    if (text[i] === ".") {
      i += 1;
      digits();
    }
    if (text[i] === "e" || text[i] === "E") {
      i += 1;
      if (text[i] === "+" || text[i] === "-") i += 1;
      digits();
    }
  };
  const value = (): void => {
    space();
    const ch = text[i];
    if (ch === undefined) fail(i);
    if (ch === "{") {
      i += 1;
      space();
      if (text[i] === "}") {
        i += 1;
        return;
      }
      for (;;) {
        space();
        string();
        space();
        if (text[i] !== ":") fail(i);
        i += 1;
        value();
        space();
        if (text[i] === ",") i += 1;
        else if (text[i] === "}") {
          i += 1;
          return;
        } else fail(i);
      }
    }
    if (ch === "[") {
      i += 1;
      space();
      if (text[i] === "]") {
        i += 1;
        return;
      }
      for (;;) {
        value();
        space();
        if (text[i] === ",") i += 1;
        else if (text[i] === "]") {
          i += 1;
          return;
        } else fail(i);
      }
    }
    if (ch === '"') {
      string();
      return;
    }
    const literal = JSON_LITERALS.find((word) => word[0] === ch);
    if (literal !== undefined) {
      // `tru}` fails at the `}`, where JSON.parse sees it, not at the `t`.
      for (const expected of literal) {
        if (text[i] !== expected) fail(i);
        i += 1;
      }
      return;
    }
    number();
  };
  try {
    value();
    space();
    return Math.min(i, text.length);
  } catch (error) {
    if (error instanceof JsonErrorAt) return error.offset;
    throw error;
  }
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= "0" && ch <= "9";
}

class JsonErrorAt extends Error {
  constructor(readonly offset: number) {
    super(`JSON error at ${offset}`);
  }
}

/** The number of tokens, or why the text is over the limits. */
function scanJson(text: string, limits: DocumentLimits): number | string {
  let tokens = 1;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i += 1; // backslash: the next character is escaped
      else if (ch === 0x22) inString = false;
      continue;
    }
    switch (ch) {
      case 0x22: // "
        inString = true;
        break;
      case 0x5b: // [
      case 0x7b: // {
        depth += 1;
        if (depth > limits.maxDepth) return `nested more than ${limits.maxDepth} levels deep`;
        tokens += 1;
        break;
      case 0x5d: // ]
      case 0x7d: // }
        depth -= 1;
        break;
      case 0x2c: // ,
      case 0x3a: // :
        tokens += 1;
        break;
      default:
        continue;
    }
    if (tokens > limits.maxTokens) return `more than ${limits.maxTokens} JSON tokens`;
  }
  return tokens;
}

function overLimit(error: string): BoundedParseResult {
  return { ok: false, error, overLimit: true };
}

function syntaxError(error: string): BoundedParseResult {
  return { ok: false, error, overLimit: false };
}

function syntaxErrorAt(reason: string, line: number, column: number): BoundedParseResult {
  return {
    ok: false,
    error: `${reason} at line ${line}, column ${column}`,
    overLimit: false,
    reason,
    line,
    column,
  };
}

function firstLine(message: string): string {
  return message.split("\n", 1)[0].replace(/:$/, "");
}

function shortened(text: string): string {
  return text.length <= 100 ? text : `${text.slice(0, 100)}…`;
}
