import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  DEFINITION_FILE_LIMITS,
  type DocumentLimits,
  FRONTMATTER_LIMITS,
  locateJsonError,
  MANIFEST_LIMITS,
  ParseBudget,
  parseBoundedJson,
  parseBoundedYaml,
} from "../../src/domain/bounded-parse.js";

const LIMITS: DocumentLimits = { maxBytes: 1024 * 1024, maxTokens: 10_000, maxDepth: 8, maxAliases: 3 };

function flowList(items: number): string {
  return `[${"0,".repeat(items - 1)}0]`;
}

function nestedFlow(depth: number): string {
  return `${"[".repeat(depth)}${"]".repeat(depth)}`;
}

function elapsed<T>(work: () => T): { result: T; ms: number } {
  const start = performance.now();
  const result = work();
  return { result, ms: performance.now() - start };
}

describe("parseBoundedYaml", () => {
  test("reads ordinary YAML", () => {
    const parsed = parseBoundedYaml("name: a\nlist: [1, {b: c}]\nmap:\n  - x\n  - y: z\n", LIMITS);
    assert.deepEqual(parsed, {
      ok: true,
      value: { name: "a", list: [1, { b: "c" }], map: ["x", { y: "z" }] },
      document: (parsed as { document: unknown }).document,
    });
  });

  test("a flow list of half a million items in 1 MiB is refused after its token cap, not composed", () => {
    const text = flowList(500_000);
    assert.ok(Buffer.byteLength(text) <= DEFINITION_FILE_LIMITS.maxBytes);
    // Composing it took seconds and hundreds of MB; stopping at the cap takes a fraction of that.
    const { result, ms } = elapsed(() => parseBoundedYaml(text, DEFINITION_FILE_LIMITS));
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.overLimit, true);
    assert.match(!result.ok ? result.error : "", /YAML tokens/);
    assert.ok(ms < 10_000, `${ms} ms`);
  });

  test("100,000 keys are checked for duplicates in linear time (yaml's own check is quadratic)", () => {
    const text = Array.from({ length: 100_000 }, (_, i) => `key${i}: ${i}`).join("\n");
    const roomy = { ...DEFINITION_FILE_LIMITS, maxBytes: 10 * 1024 * 1024, maxTokens: 10_000_000 };
    const { result, ms } = elapsed(() => parseBoundedYaml(text, roomy));
    assert.equal(result.ok, true);
    // About 1.5 s on an idle core; yaml's pairwise check took 34 s for 70,000 keys, twice that here.
    assert.ok(ms < 30_000, `${ms} ms`);
  });

  test("duplicate keys are still refused, also when only their object keys collide", () => {
    for (const text of ["a: 1\nb: 2\na: 3\n", "1: x\n'1': y\n", "{a: 1, a: 2}"]) {
      const parsed = parseBoundedYaml(text, LIMITS);
      assert.equal(parsed.ok, false, text);
      assert.match(!parsed.ok ? parsed.error : "", /duplicate key/);
    }
  });

  test("over the byte cap: refused before lexing", () => {
    const parsed = parseBoundedYaml(`a: "${"x".repeat(FRONTMATTER_LIMITS.maxBytes)}"`, FRONTMATTER_LIMITS);
    assert.deepEqual(parsed, {
      ok: false,
      error: `${FRONTMATTER_LIMITS.maxBytes + 5} bytes; at most ${FRONTMATTER_LIMITS.maxBytes} are allowed`,
      overLimit: true,
    });
  });

  test("block nesting deeper than the cap, however it is written", () => {
    const blockSeq = `${"- ".repeat(20)}x`;
    const blockMap = Array.from({ length: 20 }, (_, i) => `${" ".repeat(i)}k:`).join("\n");
    for (const text of [blockSeq, blockMap, nestedFlow(20), `a: ${nestedFlow(20)}`]) {
      const parsed = parseBoundedYaml(text, LIMITS);
      assert.equal(!parsed.ok && parsed.overLimit, true, text);
    }
  });

  test("100,000 levels of flow nesting: refused, no stack overflow", () => {
    const parsed = parseBoundedYaml(nestedFlow(100_000), DEFINITION_FILE_LIMITS);
    assert.equal(!parsed.ok && parsed.overLimit, true);
  });

  test("aliases: at most maxAliases, and their expansion counts against the token cap", () => {
    const four = "a: &x 1\nb: [*x, *x, *x, *x]\n";
    assert.equal(parseBoundedYaml(four, LIMITS).ok, false);
    // 3 aliases of a 3,000-item list: 12,000 values once expanded, over 10,000.
    const wide = `a: &x ${flowList(3_000)}\nb: [*x, *x, *x]\n`;
    const parsed = parseBoundedYaml(wide, LIMITS);
    assert.equal(!parsed.ok && parsed.overLimit, true);
    assert.match(!parsed.ok ? parsed.error : "", /aliases are expanded/);
  });

  test("a syntax error's line and column count from 1", () => {
    const parsed = parseBoundedYaml("name: x\ndescription: a: b\n", LIMITS);
    assert.ok(!parsed.ok);
    assert.deepEqual([parsed.line, parsed.column], [2, 14]);
    assert.match(parsed.error, /at line 2, column 14$/);
  });

  test("several documents, custom tags and collection keys are refused as syntax, not limits", () => {
    for (const text of ["a: 1\n---\nb: 2\n", "a: !custom 1\n", "? [a]\n: 1\n", "a: [1\n"]) {
      const parsed = parseBoundedYaml(text, LIMITS);
      assert.equal(parsed.ok, false, text);
      assert.equal(!parsed.ok && parsed.overLimit, false, text);
    }
  });

  test("the shared budget stops a capability made of many small documents", () => {
    const budget = new ParseBudget(100);
    const doc = "a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n";
    let accepted = 0;
    while (parseBoundedYaml(doc, LIMITS, budget).ok) accepted += 1;
    assert.ok(accepted > 0 && accepted < 10, `${accepted}`);
    assert.equal(budget.exhausted, true);
    assert.equal(parseBoundedJson("[1]", LIMITS, budget).ok, false);
  });

  test("manifest limits follow SPEC §4.2", () => {
    assert.equal(MANIFEST_LIMITS.maxBytes, 256 * 1024);
    assert.equal(MANIFEST_LIMITS.maxAliases, 100);
    assert.equal(FRONTMATTER_LIMITS.maxBytes, 64 * 1024);
    assert.equal(DEFINITION_FILE_LIMITS.maxBytes, 1024 * 1024);
  });
});

describe("parseBoundedJson", () => {
  test("300,000 tool definitions in one file: refused by size or token cap before JSON.parse", () => {
    const tools = Array.from({ length: 300_000 }, (_, i) => ({ name: `t${i}` }));
    const big = JSON.stringify({ tools });
    assert.equal(parseBoundedJson(big, DEFINITION_FILE_LIMITS).ok, false);
    const small = JSON.stringify({ tools: tools.slice(0, 70_000).map((_, i) => ({ name: `t${i % 10}` })) });
    assert.ok(Buffer.byteLength(small) <= DEFINITION_FILE_LIMITS.maxBytes);
    const parsed = parseBoundedJson(small, DEFINITION_FILE_LIMITS);
    assert.equal(!parsed.ok && parsed.overLimit, true);
  });

  test("nesting is counted outside strings only, escapes included", () => {
    assert.equal(parseBoundedJson(JSON.stringify({ s: '[[[[[[[[[[[[\\"[[[[' }), LIMITS).ok, true);
    assert.equal(parseBoundedJson(nestedFlow(9), LIMITS).ok, false);
    assert.equal(parseBoundedJson(nestedFlow(8), LIMITS).ok, true);
  });

  test("syntax errors are not limit errors", () => {
    const parsed = parseBoundedJson("{", LIMITS);
    assert.equal(parsed.ok, false);
    assert.equal(!parsed.ok && parsed.overLimit, false);
  });

  test("a syntax error says where, by line and column, with the parser's message and no excerpt", () => {
    const cases: [string, string, number, number][] = [
      ['{\n  "a": 1,\n  "b": }\n', "Unexpected token '}'", 3, 8],
      ['{"a":1,}', "Expected double-quoted property name", 1, 8],
      ['{\n  "a": tru}', "Unexpected token '}'", 2, 11],
      ["[1,2", "Expected ',' or ']' after array element", 1, 5],
      ['{"a":1}}', "Unexpected non-whitespace character after JSON", 1, 8],
      ["", "Unexpected end of JSON input", 1, 1],
    ];
    for (const [text, reason, line, column] of cases) {
      const parsed = parseBoundedJson(text, LIMITS);
      assert.ok(!parsed.ok, text);
      assert.deepEqual([parsed.reason, parsed.line, parsed.column], [reason, line, column], text);
      assert.equal(parsed.error, `${reason} at line ${line}, column ${column}`);
    }
  });

  test("property: where V8 names a position, the locator finds the same one", () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 4 }),
        fc.nat(),
        fc.constantFrom("}", "]", ",", ":", "x", '"', "{", "[", " 1", "\\", "\n", "-", ".", "e", "t"),
        (value, at, garbage) => {
          const valid = JSON.stringify(value, null, 1);
          const cut = at % (valid.length + 1);
          const text = valid.slice(0, cut) + garbage + valid.slice(cut);
          let message = "";
          try {
            JSON.parse(text);
            return;
          } catch (error) {
            message = (error as Error).message;
          }
          const position = /at position (\d+)/.exec(message);
          if (position) assert.equal(locateJsonError(text), Number(position[1]), `${text} / ${message}`);
        },
      ),
    );
  });

  test("property: any JSON value within the limits reads back as itself", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        const parsed = parseBoundedJson(text, { ...LIMITS, maxTokens: 1_000_000 });
        assert.equal(parsed.ok, true);
        assert.equal(JSON.stringify(parsed.ok && parsed.value), text);
      }),
    );
  });

  test("property: a value nested d levels deep is refused exactly when d > maxDepth, by both parsers", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.boolean(), (depth, asObject) => {
        let text = "0";
        for (let i = 0; i < depth; i++) text = asObject ? `{"k": ${text}}` : `[${text}]`;
        const expected = depth <= LIMITS.maxDepth;
        assert.equal(parseBoundedJson(text, LIMITS).ok, expected, `json ${text}`);
        assert.equal(parseBoundedYaml(text, LIMITS).ok, expected, `yaml ${text}`);
      }),
    );
  });

  test("property: arbitrary text never throws and never passes the byte cap", () => {
    const small = { ...LIMITS, maxBytes: 64 };
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        for (const parse of [parseBoundedJson, parseBoundedYaml]) {
          const parsed = parse(text, small);
          if (Buffer.byteLength(text) > small.maxBytes) assert.equal(parsed.ok, false);
        }
      }),
    );
  });
});
