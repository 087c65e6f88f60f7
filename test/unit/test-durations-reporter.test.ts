import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import testDurations, { type TestEvent } from "../../scripts/test-durations-reporter.mjs";

async function report(events: TestEvent[]): Promise<unknown[]> {
  async function* source() {
    yield* events;
  }
  const lines: unknown[] = [];
  for await (const line of testDurations(source())) lines.push(JSON.parse(line));
  return lines;
}

const file = path.resolve("test/db/example.test.ts");
const complete = (name: string, nesting: number, details: TestEvent["data"]["details"]): TestEvent => ({
  type: "test:complete",
  data: { name, file, nesting, details },
});

describe("test durations reporter", () => {
  it("reports a file named by its absolute path, as Node 20's runner names it", async () => {
    const lines = await report([
      complete("a suite in the file", 0, { passed: true, duration_ms: 12 }),
      complete(file, 0, { duration_ms: 4700 }),
    ]);
    assert.deepEqual(lines, [{ file, durationMs: 4700, passed: true }]);
  });

  it("reports a file named by the path on the command line, as Node 24's runner names it", async () => {
    const lines = await report([
      complete("a suite in the file", 0, { passed: true, duration_ms: 12 }),
      complete("a test in the suite", 1, { passed: true, duration_ms: 3 }),
      complete(path.join("test", "db", "example.test.ts"), 0, { duration_ms: 2900, error: new Error("x") }),
    ]);
    assert.deepEqual(lines, [{ file, durationMs: 2900, passed: false }]);
  });
});
