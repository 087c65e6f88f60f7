import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseApplyFile } from "../../src/cli/apply-file.js";
import { CliError } from "../../src/cli/cli-errors.js";

function problemsOf(text: string): { loc: string; msg: string }[] {
  try {
    parseApplyFile(text, "capabilities.yaml");
  } catch (error) {
    assert.ok(error instanceof CliError);
    return error.items.map((item) => ({ loc: item.loc.join("."), msg: item.msg }));
  }
  assert.fail("the file was accepted");
}

describe("runtime apply file", () => {
  test("reads mappings and NAME[@VERSION] shorthands", () => {
    const desired = parseApplyFile(
      `capabilities:
  - name: web-search
    version: 1.2.0
    enabled: false
  - name: acme/audit
  - summariser@2.0.0
  - notes
`,
      "capabilities.yaml",
    );
    assert.deepEqual(desired, [
      { name: "web-search", version: "1.2.0", enabled: false },
      { name: "acme/audit" },
      { name: "summariser", version: "2.0.0" },
      { name: "notes" },
    ]);
  });

  test("flags: a mapping of booleans; empty means no overrides; anything else is refused", () => {
    const desired = parseApplyFile(
      `capabilities:
  - name: a
    flags:
      readonly: true
      verbose: false
  - name: b
    flags:
  - name: c
    flags: {}
`,
      "capabilities.yaml",
    );
    assert.deepEqual(desired, [
      { name: "a", flags: { readonly: true, verbose: false } },
      { name: "b", flags: {} },
      { name: "c", flags: {} },
    ]);
    assert.deepEqual(
      problemsOf("capabilities:\n  - name: a\n    flags: [x]\n  - name: b\n    flags: {x: yes-please}\n"),
      [
        { loc: "capabilities.0.flags", msg: "must be a mapping of FLAG: true|false" },
        { loc: "capabilities.1.flags.x", msg: "must be true or false" },
      ],
    );
  });

  test("versions may be tags or prereleases; auto_update is a boolean and needs something to follow", () => {
    const desired = parseApplyFile(
      `capabilities:
  - name: web-search
    version: stable
    auto_update: true
  - name: notes
    auto_update: false
  - summariser@beta
  - name: preview
    version: 2.0.0-rc.1
`,
      "capabilities.yaml",
    );
    assert.deepEqual(desired, [
      { name: "web-search", version: "stable", auto_update: true },
      { name: "notes", auto_update: false },
      { name: "summariser", version: "beta" },
      { name: "preview", version: "2.0.0-rc.1" },
    ]);
    assert.deepEqual(
      problemsOf(
        "capabilities:\n  - name: a\n    version: 1.2.0\n    auto_update: true\n  - name: b\n    auto_update: yes-please\n  - name: c\n    version: Stable\n",
      ),
      [
        {
          loc: "capabilities.0.auto_update",
          msg: "version 1.2.0 is fixed: list a tag or latest to auto-update",
        },
        { loc: "capabilities.1.auto_update", msg: "must be true or false" },
        {
          loc: "capabilities.2.version",
          msg: "must be x.y.z, latest or a tag (quote it if YAML reads a number)",
        },
      ],
    );
  });

  test("an empty list is valid: it removes every binding", () => {
    assert.deepEqual(parseApplyFile("capabilities: []\n", "capabilities.yaml"), []);
  });

  test("reports every problem at its location", () => {
    const problems = problemsOf(`capabilities:
  - name: Web
    version: 1.0
    enable: false
  - 42
  - web@1.0.0+build.5
extra: true
`);
    assert.deepEqual(
      problems.map((problem) => problem.loc),
      [
        "extra",
        "capabilities.0.enable",
        "capabilities.0.name",
        "capabilities.0.version",
        "capabilities.1",
        "capabilities.2",
      ],
    );
  });

  test("a name listed twice is refused", () => {
    const problems = problemsOf("capabilities: [web, web@1.0.0]\n");
    assert.deepEqual(problems, [{ loc: "capabilities.1", msg: "web is listed twice" }]);
  });

  test("a file without a capabilities list is refused", () => {
    assert.throws(
      () => parseApplyFile("- web\n", "capabilities.yaml"),
      /must be a mapping with a "capabilities" list/,
    );
  });

  test("YAML that does not parse is refused", () => {
    assert.throws(() => parseApplyFile("capabilities: [\n", "capabilities.yaml"), /is not valid YAML/);
  });
});
