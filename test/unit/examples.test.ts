// Cross-checks the shared example capabilities against the results they document (EXPECTED.json).
// test/fixtures/examples holds exact copies of the product's shared examples, committed so that a
// fresh clone checks them too; without them this file fails (a skip would let a missing or moved
// directory pass unnoticed).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readCapabilityDir } from "../../src/cli/read-capability-dir.js";
import { analyzeCapability } from "../../src/domain/capability-analysis.js";
import type { ComponentType } from "../../src/domain/types.js";

interface Expected {
  version: string;
  author_name: string | null;
  component_counts: Record<string, number>;
  components: Record<ComponentType, string[]>;
  flags: Record<string, boolean>;
  gated_by?: Record<string, string[]>;
  warnings: { loc: (string | number)[]; type: string }[];
}

const examplesDir = fileURLToPath(new URL("../fixtures/examples/", import.meta.url));
const expectedPath = `${examplesDir}EXPECTED.json`;
const exists = existsSync(expectedPath);
const expectations: Record<string, Expected> = exists ? JSON.parse(readFileSync(expectedPath, "utf8")) : {};

describe("shared examples", () => {
  test("test/fixtures/examples is present", () => {
    assert.ok(exists, `the shared examples are missing: expected ${expectedPath}`);
    assert.ok(Object.keys(expectations).length > 0);
  });

  for (const [name, expected] of Object.entries(expectations)) {
    test(`${name} matches EXPECTED.json`, async () => {
      const analysis = analyzeCapability(await readCapabilityDir(`${examplesDir}${name}`));
      assert.deepEqual(analysis.errors, []);
      assert.equal(analysis.manifest?.version, expected.version);
      assert.equal(analysis.manifest?.author_name, expected.author_name);
      assert.deepEqual(analysis.componentCounts, expected.component_counts);

      for (const [type, names] of Object.entries(expected.components)) {
        const found = analysis.componentDetails.filter((d) => d.type === type).map((d) => d.name);
        assert.deepEqual(found.sort(), [...names].sort(), `${type} names`);
      }

      const defaults = Object.fromEntries(
        Object.entries(analysis.flags).map(([flag, def]) => [flag, def.default]),
      );
      assert.deepEqual(defaults, expected.flags);

      const gated = analysis.componentDetails.flatMap((d) => {
        const gatedBy = d.metadata?.gated_by as string[] | undefined;
        return gatedBy && gatedBy.length > 0 ? [[d.name, gatedBy] as const] : [];
      });
      assert.deepEqual(Object.fromEntries(gated), expected.gated_by ?? {});

      assert.deepEqual(
        analysis.warnings.map(({ loc, type }) => ({ loc, type })),
        expected.warnings,
      );
    });
  }
});
