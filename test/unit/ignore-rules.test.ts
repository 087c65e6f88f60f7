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
import { IgnoreMatcher, parseIgnoreRules } from "../../src/domain/ignore-rules.js";

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
