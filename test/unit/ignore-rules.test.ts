// The .capstanignore matcher against gitignore(5): named cases, then random rule sets and trees
// compared with git itself (the reference implementation), then the CLI's directory walk compared
// with the server's in-memory selection, which must agree.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { readCapabilitySelection } from "../../src/cli/bundle-pack.js";
import { bundleFileWarnings, secretLookingFiles, selectBundleFiles } from "../../src/domain/bundle-files.js";
import {
  IgnoreMatcher,
  IgnoreWorkExceeded,
  MAX_IGNORE_RULE_LENGTH,
  MAX_IGNORE_RULES,
  parseIgnoreFile,
  parseIgnoreRules,
} from "../../src/domain/ignore-rules.js";
import { parseRegexIgnoreRules, RegexIgnoreMatcher } from "../helpers/ignore-rules-regex.js";

const only = (text: string) => new IgnoreMatcher(parseIgnoreRules(text));

describe("ignore rules: gitignore semantics", () => {
  const cases: [string, string, boolean, boolean?][] = [
    // [rules, path, ignored, isDirectory]
    ["*.pyc", "a.pyc", true],
    ["*.pyc", "deep/down/a.pyc", true],
    ["*.pyc", "a.pyc.txt", false],
    ["# comment\n\n*.log", "# comment", false],
    ["\\#hash", "#hash", true],
    ["\\!bang", "!bang", true],
    ["build/", "build", false],
    ["build/", "build", true, true],
    ["build/", "build/out.js", true],
    ["build/", "src/build/out.js", true],
    ["/build", "src/build", false],
    ["/build", "build/x", true],
    ["doc/frotz", "doc/frotz", true],
    ["doc/frotz", "a/doc/frotz", false],
    ["**/foo", "foo", true],
    ["**/foo", "a/b/foo", true],
    ["**/foo/bar", "x/foo/bar", true],
    ["abc/**", "abc/x/y", true],
    ["abc/**", "abc", false, true],
    ["a/**/b", "a/b", true],
    ["a/**/b", "a/x/y/b", true],
    ["a/**/b", "a/xb", false],
    ["a?c", "abc", true],
    ["a?c", "a/c", false],
    ["a*", "a/b", true],
    ["x/a*", "x/ab/c", true],
    ["x/*", "x/y/z", true],
    ["[ab].md", "a.md", true],
    ["[ab].md", "c.md", false],
    ["[!ab].md", "c.md", true],
    ["[a-c]x", "bx", true],
    ["*.txt\n!keep.txt", "keep.txt", false],
    ["*.txt\n!keep.txt", "other.txt", true],
    ["logs/\n!logs/keep.txt", "logs/keep.txt", true],
    ["logs/*\n!logs/keep.txt", "logs/keep.txt", false],
    ["trail   ", "trail", true],
    ["trail\\ ", "trail ", true],
    ["!*.md\n*.md", "a.md", true],
  ];
  for (const [rules, file, ignored, isDirectory] of cases) {
    test(`${JSON.stringify(rules)} ${ignored ? "ignores" : "keeps"} ${file}${isDirectory ? "/" : ""}`, () => {
      assert.equal(only(rules).ignores(file, isDirectory ?? false), ignored);
    });
  }

  test("the built-in defaults leave out .env, caches, OS litter, VCS and installed packages", () => {
    const matcher = IgnoreMatcher.forCapability(null);
    for (const file of [
      ".env",
      ".env.local",
      "sub/.env",
      "__pycache__/x.cpython-312.pyc",
      "tools/__pycache__/a.pyc",
      "a.pyc",
      ".DS_Store",
      "skills/.DS_Store",
      ".git/HEAD",
      "node_modules/x/index.js",
      "workers/node_modules/y.js",
    ]) {
      assert.ok(matcher.ignores(file), file);
    }
    for (const file of [
      "capability.yaml",
      "tools/env.py",
      "skills/a/SKILL.md",
      ".mcp.json",
      ".capstanignore",
    ]) {
      assert.ok(!matcher.ignores(file), file);
    }
  });

  test(".capstanignore can re-include what a default leaves out", () => {
    assert.ok(!IgnoreMatcher.forCapability("!.env.example\n").ignores(".env.example"));
    assert.ok(IgnoreMatcher.forCapability("!.env.example\n").ignores(".env"));
  });
});

// --- against the former regex translation -----------------------------------------------------------

const GLOB_PIECES = [
  "a",
  "b",
  "*",
  "**",
  "?",
  "/",
  "\\*",
  "\\/",
  "\\",
  "[ab]",
  "[!a]",
  "[a-b]",
  "[]a]",
  "[",
  "-",
  "!",
  " ",
];
const NAME_CHARS = ["a", "b", "*", "[", "]", "-", "\\", "!", " "];

describe("ignore rules agree with the regex translation they replace", () => {
  test("random globs (escapes, classes, `**` anywhere) on random paths", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...GLOB_PIECES), { minLength: 1, maxLength: 8 }).map((p) => p.join("")),
        fc.array(
          fc.array(fc.constantFrom(...NAME_CHARS), { minLength: 1, maxLength: 4 }).map((c) => c.join("")),
          { minLength: 1, maxLength: 5 },
        ),
        fc.boolean(),
        (line, segments, isDirectory) => {
          let reference: RegexIgnoreMatcher;
          try {
            reference = new RegexIgnoreMatcher(parseRegexIgnoreRules(line));
          } catch {
            // A reversed range (`[b-a]`) was a SyntaxError there; it matches nothing now.
            return;
          }
          const file = segments.join("/");
          assert.equal(only(line).ignores(file, isDirectory), reference.ignores(file, isDirectory), line);
        },
      ),
      { numRuns: 3000 },
    );
  });

  test("a reversed range matches nothing instead of failing", () => {
    assert.equal(only("[b-a]x").ignores("ax"), false);
    assert.equal(only("[b-a]x\n!y").ignores("bx"), false);
  });
});

// --- hostile patterns ---------------------------------------------------------------------------------

/** Passes the first- and last-segment checks on `a/a/…/b`, then needs the whole table to fail. */
const COSTLY_RULE = `${"**/a/".repeat(200)}c/b`;

describe("ignore rules: hostile patterns cost bounded work", () => {
  test("`**/` ten times, on paths 22 and 2,000 directories deep (the former regex: seconds)", () => {
    const matcher = only(`${"**/".repeat(10)}z`);
    assert.equal(matcher.ignores(`${"a/".repeat(22)}y`), false);
    assert.equal(matcher.ignores(`${"a/".repeat(22)}z`), true);
    // Consecutive `**` fold into one: two rows of a table per directory, each directory decided once.
    assert.ok(matcher.work.steps < 1_000, `${matcher.work.steps} steps`);
    const deep = only(`${"**/".repeat(300)}z`);
    assert.equal(deep.ignores(`${"a/".repeat(2000)}y`), false);
    assert.ok(deep.work.steps < 3 * 2001 * 2001, `${deep.work.steps} steps`);
  });

  test("`*a` ten and 500 times, on names of 60 and 4,000 characters (the former regex: minutes)", () => {
    const matcher = only(`${"*a".repeat(10)}*b`);
    assert.equal(matcher.ignores("a".repeat(60)), false);
    assert.equal(matcher.ignores(`${"a".repeat(60)}b`), true);
    assert.ok(matcher.work.steps < 22 * 61 * 2, `${matcher.work.steps} steps`);
    const long = only(`${"*a".repeat(500)}*b`);
    assert.equal(long.ignores(`dir/${"a".repeat(4000)}`), false);
    assert.ok(long.work.steps < 1002 * 4001, `${long.work.steps} steps`);
  });

  test("`**` between many segments on a deep path runs into the step budget, not for minutes", () => {
    const matcher = new IgnoreMatcher(parseIgnoreRules(COSTLY_RULE), [], 100_000);
    assert.throws(() => matcher.ignores(`${"a/".repeat(2000)}b`), IgnoreWorkExceeded);
    assert.ok(matcher.work.steps <= 100_001);
    // Within the default budget, one such rule is decided (a table of 402 × 2,002 cells).
    assert.equal(only(COSTLY_RULE).ignores(`${"a/".repeat(2000)}b`), false);
    assert.equal(only(COSTLY_RULE).ignores(`${"a/".repeat(2000)}c/b`), true);
  });

  test("the server accepts a bundle whose rules cost too much, with a bundle.ignore_rules warning", () => {
    const rules = Array.from({ length: MAX_IGNORE_RULES }, () => COSTLY_RULE).join("\n");
    const files = new Map<string, Buffer>([
      [".capstanignore", Buffer.from(rules)],
      [`${"a/".repeat(2000)}b`, Buffer.from("x")],
      ["id_rsa", Buffer.from("x")],
    ]);
    const warnings = bundleFileWarnings(files);
    assert.deepEqual(
      warnings.map((item) => [item.type, item.loc.join("/")]),
      [
        ["bundle.ignore_rules", "bundle/.capstanignore"],
        ["bundle.secret_file", "bundle/id_rsa"],
      ],
    );
    assert.match(warnings[0].msg, /costs too much/);
  });

  test("the CLI stops with a clear error on rules that cost too much", async () => {
    const root = path.join(scratch, `costly-${runs++}`);
    writeTree(
      root,
      [`${"a/".repeat(1000)}b`],
      Array.from({ length: MAX_IGNORE_RULES }, () => COSTLY_RULE).join("\n"),
    );
    await assert.rejects(readCapabilitySelection(root), /costs too much to apply/);
  });

  test("rules past the first 1,000, or longer than 1,024 characters, are not applied and are named", () => {
    const long = `${"x".repeat(MAX_IGNORE_RULE_LENGTH)}*`;
    const lines = [
      "# a comment",
      long,
      ...Array.from({ length: MAX_IGNORE_RULES }, (_, i) => `r${i}`),
      "late",
    ];
    const parsed = parseIgnoreFile(lines.join("\n"));
    assert.equal(parsed.rules.length, MAX_IGNORE_RULES);
    assert.equal(parsed.rules[0].pattern, "r0");
    assert.equal(parsed.warnings.length, 2);
    assert.match(parsed.warnings[0], /1 rule longer than 1024 characters is not applied \(line 2\)/);
    assert.match(
      parsed.warnings[1],
      /only the first 1000 rules are applied; 1 more rule is not \(line 1003\)/,
    );
    const matcher = IgnoreMatcher.forCapability(lines.join("\n"));
    assert.ok(matcher.ignores("r999"));
    assert.ok(!matcher.ignores("late"));
    assert.ok(!matcher.ignores(`${"x".repeat(MAX_IGNORE_RULE_LENGTH)}y`));
    const warnings = bundleFileWarnings(
      new Map([
        [".capstanignore", Buffer.from(lines.join("\n"))],
        ["capability.yaml", Buffer.from("x")],
      ]),
    );
    assert.deepEqual(
      warnings.map((item) => item.type),
      ["bundle.ignore_rules", "bundle.ignore_rules"],
    );
  });
});

// --- against git ------------------------------------------------------------------------------------

const SEGMENTS = ["a", "b", "ab", "c.md", ".x", "ba"];
const PATTERN_PIECES = ["a", "b", "ab", "*", "?", "**", "a*", "*.md", "[ab]", "[!a]*", ".x", "b?"];

const patternArbitrary = fc
  .record({
    negated: fc.boolean(),
    leadingSlash: fc.boolean(),
    trailingSlash: fc.boolean(),
    pieces: fc.array(fc.constantFrom(...PATTERN_PIECES), { minLength: 1, maxLength: 3 }),
  })
  .map(
    ({ negated, leadingSlash, trailingSlash, pieces }) =>
      `${negated ? "!" : ""}${leadingSlash ? "/" : ""}${pieces.join("/")}${trailingSlash ? "/" : ""}`,
  );

const treeArbitrary = fc.uniqueArray(
  fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/")),
  { minLength: 1, maxLength: 10 },
);

/** Drops paths that are also a prefix directory of another (a name cannot be a file and a directory). */
function consistentTree(paths: string[]): string[] {
  return paths.filter((file) => !paths.some((other) => other.startsWith(`${file}/`)));
}

const scratch = mkdtempSync(path.join(tmpdir(), "capstan-ignore-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let runs = 0;

function writeTree(root: string, files: string[], ignoreFile?: string): void {
  for (const file of files) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), file);
  }
  if (ignoreFile !== undefined) writeFileSync(path.join(root, ".capstanignore"), ignoreFile);
}

/** The files git leaves untracked-and-not-ignored with `rules` as its only exclude file. */
function gitIncluded(files: string[], rules: string): string[] {
  const root = path.join(scratch, `git-${runs++}`);
  mkdirSync(root);
  execFileSync("git", ["init", "-q"], { cwd: root });
  writeTree(root, files);
  const excludes = `${root}.rules`;
  writeFileSync(excludes, rules);
  const out = execFileSync("git", ["ls-files", "--others", `--exclude-from=${excludes}`, "-z"], {
    cwd: root,
    encoding: "utf8",
  });
  rmSync(root, { recursive: true, force: true });
  return out.split("\0").filter(Boolean).sort();
}

describe("ignore rules agree with git", () => {
  test("random rules over random trees select the files git does", () => {
    fc.assert(
      fc.property(
        treeArbitrary,
        fc.array(patternArbitrary, { minLength: 1, maxLength: 4 }),
        (tree, patterns) => {
          const files = consistentTree(tree);
          const rules = `${patterns.join("\n")}\n`;
          const matcher = only(rules);
          const ours = files.filter((file) => !matcher.ignores(file)).sort();
          assert.deepEqual(ours, gitIncluded(files, rules), `rules:\n${rules}`);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("the CLI's walk and the server's selection agree", () => {
  test("random trees with a random .capstanignore: same files included", async () => {
    await fc.assert(
      fc.asyncProperty(
        treeArbitrary,
        fc.array(patternArbitrary, { maxLength: 3 }),
        fc.subarray([".env", "__pycache__/m.pyc", ".DS_Store", "node_modules/p/i.js", "x.pyc"]),
        async (tree, patterns, litter) => {
          const files = consistentTree([...tree, ...litter]);
          const root = path.join(scratch, `walk-${runs++}`);
          const ignoreFile = `${patterns.join("\n")}\n`;
          writeTree(root, files, ignoreFile);
          const cli = await readCapabilitySelection(root);
          const everything = new Map(files.map((file) => [file, Buffer.from(file)] as const));
          everything.set(".capstanignore", Buffer.from(ignoreFile));
          const server = selectBundleFiles(everything);
          assert.deepEqual([...cli.files.keys()].sort(), [...server.included.keys()].sort());
          assert.deepEqual(
            cli.excluded.map((item) => item.path).sort(),
            server.excluded.map((item) => item.path).sort(),
          );
          rmSync(root, { recursive: true, force: true });
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("secret-looking files", () => {
  test("are recognised by name and by a private-key block", () => {
    const files = new Map<string, Buffer>([
      ["keys/id_rsa", Buffer.from("x")],
      ["keys/id_rsa.pub", Buffer.from("ssh-rsa AAAA")],
      ["tls/server.pem", Buffer.from("x")],
      ["tls/server.key", Buffer.from("x")],
      [".npmrc", Buffer.from("//registry/:_authToken=x")],
      ["aws/credentials", Buffer.from("x")],
      ["tools/config.py", Buffer.from("KEY = '''-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n'''")],
      ["tools/safe.py", Buffer.from("print('hello')")],
    ]);
    assert.deepEqual(
      secretLookingFiles(files)
        .map((item) => item.path)
        .sort(),
      [".npmrc", "aws/credentials", "keys/id_rsa", "tls/server.key", "tls/server.pem", "tools/config.py"],
    );
  });

  test("the server warns about left-out and secret-looking files in a bundle, and caps the list", () => {
    const warnings = bundleFileWarnings(
      new Map([
        ["capability.yaml", Buffer.from("x")],
        [".env", Buffer.from("API_KEY=1")],
        ["__pycache__/a.pyc", Buffer.from("x")],
        ["__pycache__/b.pyc", Buffer.from("x")],
        ["id_ed25519", Buffer.from("x")],
      ]),
    );
    assert.deepEqual(
      warnings.map((item) => [item.type, item.loc.join(".")]),
      [
        ["bundle.ignored_file", "bundle..env"],
        ["bundle.ignored_file", "bundle.__pycache__/"],
        ["bundle.secret_file", "bundle.id_ed25519"],
      ],
    );
    const git = new Map(
      Array.from({ length: 50 }, (_, i) => [`.git/objects/${i}`, Buffer.from("x")] as const),
    );
    assert.deepEqual(
      bundleFileWarnings(git).map((item) => item.loc.join(".")),
      ["bundle..git/"],
    );
    const many = new Map(Array.from({ length: 50 }, (_, i) => [`m${i}.pyc`, Buffer.from("x")] as const));
    const capped = bundleFileWarnings(many);
    assert.equal(capped.length, 21);
    assert.match(capped[20].msg, /^30 more files/);
  });
});
