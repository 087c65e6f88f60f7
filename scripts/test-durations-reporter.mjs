// A test reporter for scripts/run-tests.mjs: one JSON line per test file, with the file's wall time
// (its process's start to its end, as the runner measured it) and whether it passed.
import path from "node:path";

export default async function* testDurations(source) {
  for await (const event of source) {
    if (event.type !== "test:complete") continue;
    const { name, file, nesting, details } = event.data;
    // The runner reports each file as a test of its own, named after the file: by its absolute path
    // on Node 20, by the path it was given on the command line on Node 24.
    if (nesting !== 0 || file === undefined || path.resolve(name) !== file) continue;
    const passed = details.passed ?? details.error === undefined;
    yield `${JSON.stringify({ file, durationMs: details.duration_ms, passed })}\n`;
  }
}
