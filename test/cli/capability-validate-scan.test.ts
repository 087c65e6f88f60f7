// `capstan capability validate` runs the publish-time scanner offline (SPEC §14) and prints its
// findings; findings alone do not fail the command (the org's policy decides at publish).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "./helpers/cli-harness.js";

const AWS_KEY = ["AKIA", "Q3EGRB7LX2MN5TZP"].join("");

async function writeCapability(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
}

describe("capstan capability validate: scan findings", () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "capstan-validate-scan-"));
    const manifest = 'schema: 1\nname: findings\nversion: "1.0.0"\ndescription: Has findings.\n';
    await writeCapability(path.join(scratch, "findings"), {
      "capability.yaml": manifest,
      "tools/client.py": [
        "from dn import tool",
        "",
        `KEY = "${AWS_KEY}"`,
        `OLD = "${AWS_KEY}"  # capstan-scan: ignore secret.aws-access-key revoked in 2024`,
        "",
        "@tool",
        "def calc(expr):",
        '    """Calculates."""',
        "    return eval(expr)",
        "",
      ].join("\n"),
    });
    await writeCapability(path.join(scratch, "clean"), {
      "capability.yaml": manifest.replace("findings", "clean"),
      "agents/helper.md": "---\nname: helper\n---\nYou help.\n",
    });
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  test("prints each finding with severity, rule and place, and the counts; exits 0", async () => {
    const run = await runCli(["capability", "validate", "findings"], { cwd: scratch });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /scan: high secret\.aws-access-key tools\/client\.py:3: AWS access key id/);
    assert.match(run.stderr, /scan: medium code\.eval-exec tools\/client\.py:9: /);
    assert.match(run.stderr, /tools\/client\.py:4: .*\(suppressed: revoked in 2024\)/);
    assert.match(run.stdout, /is valid: .*\nscan: 1 high, 1 medium, 0 low, 1 suppressed\n/);
    assert.ok(!`${run.stdout}${run.stderr}`.includes(AWS_KEY), "the key itself is never printed");
  });

  test("--json carries the findings and the summary", async () => {
    const run = await runCli(["capability", "validate", "findings", "--json"], { cwd: scratch });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(
      report.scan.findings.map((f: { rule: string; line: number; suppressed?: unknown }) => [
        f.rule,
        f.line,
        f.suppressed !== undefined,
      ]),
      [
        ["secret.aws-access-key", 3, false],
        ["secret.aws-access-key", 4, true],
        ["code.eval-exec", 9, false],
      ],
    );
    assert.deepEqual(report.scan.summary, {
      status: "findings",
      counts: { high: 1, medium: 1, low: 0 },
      suppressed: 1,
      complete: true,
    });
  });

  test("a clean capability says it has no findings", async () => {
    const run = await runCli(["capability", "validate", "clean"], { cwd: scratch });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /scan: no findings/);
    assert.equal(run.stderr, "");
  });
});
