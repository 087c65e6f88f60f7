// `npm run lint:openapi` as a test, so that `npm test` (and so CI) fails on a document that Redocly's
// recommended rules find a problem in: an error or a warning alike (redocly.yaml).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DOCUMENT = path.join(ROOT, "openapi", "openapi.json");

function lint(file?: string): { status: number | null; output: string } {
  const result = spawnSync(
    process.execPath,
    [path.join(ROOT, "scripts", "lint-openapi.mjs"), ...(file ? [file] : [])],
    { encoding: "utf8" },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("npm run lint:openapi", () => {
  test("finds no error and no warning in the committed document", () => {
    const { status, output } = lint();
    assert.equal(status, 0, output);
    assert.match(output, /Your API description is valid/, output);
  });

  test("fails on a warning: an operation without operationId, or an example that breaks its schema", () => {
    const document = JSON.parse(readFileSync(DOCUMENT, "utf8"));
    delete document.paths["/healthz"].get.operationId;
    const list = document.paths["/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/capabilities"].get;
    list.responses["200"].content["application/json"].example.items[0].enabled = "yes";
    const dir = mkdtempSync(path.join(tmpdir(), "capstan-openapi-lint-"));
    try {
      const broken = path.join(dir, "openapi.json");
      writeFileSync(broken, JSON.stringify(document));
      const { status, output } = lint(broken);
      assert.notEqual(status, 0, output);
      assert.match(output, /operation-operationId/);
      assert.match(output, /no-invalid-media-type-examples/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
