// The default scan policy (block `high`) must never refuse a legitimate capability, offensive-
// security ones included: every bundle the repository holds as a valid example, and the red-team
// capabilities under test/fixtures/red-team, scans with zero high findings. The findings per bundle
// by severity are printed as the test's diagnostics: the false-positive rate of each severity.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readCapabilityDir } from "../../src/cli/read-capability-dir.js";
import { analyzeCapability } from "../../src/domain/capability-analysis.js";
import { scanCapability } from "../../src/domain/scan.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

function capabilityDirs(parent: string, except: string[] = []): string[] {
  return readdirSync(path.join(FIXTURES, parent), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !except.includes(entry.name))
    .map((entry) => path.join(parent, entry.name))
    .sort();
}

const LEGITIMATE = [
  ...capabilityDirs("examples"),
  ...capabilityDirs("capabilities", ["invalid"]),
  ...capabilityDirs("red-team"),
];

describe("scan: no high finding in any legitimate capability", () => {
  test("there are legitimate bundles to scan, three or more of them red-team", () => {
    assert.ok(LEGITIMATE.length >= 8, LEGITIMATE.join(", "));
    assert.ok(LEGITIMATE.filter((dir) => dir.startsWith("red-team")).length >= 3);
  });

  const totals = { bundles: 0, high: 0, medium: 0, low: 0 };
  for (const dir of LEGITIMATE) {
    test(`${dir} has no high finding`, async (t) => {
      const files = await readCapabilityDir(path.join(FIXTURES, dir));
      const analysis = analyzeCapability(files);
      assert.deepEqual(analysis.errors, [], "the fixture must be a valid capability");
      const { findings, summary } = scanCapability(files, analysis.componentDetails);
      assert.equal(summary.complete, true);
      const high = findings.filter((finding) => finding.severity === "high");
      assert.deepEqual(high, []);
      totals.bundles += 1;
      for (const severity of ["high", "medium", "low"] as const) totals[severity] += summary.counts[severity];
      t.diagnostic(
        `${dir}: ${JSON.stringify(summary.counts)} ${findings.map((f) => `${f.rule}@${f.path}:${f.line}`).join(" ")}`,
      );
    });
  }

  test("findings per bundle by severity", (t) => {
    assert.equal(totals.bundles, LEGITIMATE.length);
    assert.equal(totals.high, 0);
    const rate = (n: number) => (n / totals.bundles).toFixed(2);
    t.diagnostic(
      `${totals.bundles} bundles: high ${rate(totals.high)}, medium ${rate(totals.medium)}, low ${rate(totals.low)} findings per bundle`,
    );
  });
});
