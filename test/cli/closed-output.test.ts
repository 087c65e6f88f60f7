// The real `capstan` binary as a child process whose reader goes away mid-output, as in
// `capstan … | head -1`: it must stop quietly (no EPIPE stack trace) with the exit code of what it
// did, not crash. The output is several times a pipe's buffer (64 KiB on Linux), so the reader
// closing after the first chunk always leaves writes behind that fail with EPIPE.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { withoutCapstanVariables } from "../helpers/server-process.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin", "capstan.mjs");
const COMPONENTS = 2000;

interface ClosedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What was read from the stream that was not closed. */
  other: string;
}

/** Runs the binary offline and closes its `closed` stream after the first chunk read from it. */
function runClosingAfterFirstChunk(args: string[], closed: "stdout" | "stderr"): Promise<ClosedRun> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...withoutCapstanVariables(), CAPSTAN_CONFIG: "/nonexistent/capstan/config.json", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const reader = closed === "stdout" ? child.stdout : child.stderr;
  const other = closed === "stdout" ? child.stderr : child.stdout;
  reader.once("data", () => reader.destroy());
  let text = "";
  other.on("data", (chunk) => (text += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, other: text }));
  });
}

describe("capstan with its output closed by the reader", () => {
  let scratch: string;
  let valid: string;
  let invalid: string;

  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "capstan-closed-output-"));
    // A valid capability whose validation table runs to about 200 KB on stdout.
    valid = path.join(scratch, "many-agents");
    await mkdir(path.join(valid, "agents"), { recursive: true });
    await writeFile(
      path.join(valid, "capability.yaml"),
      'schema: 1\nname: many-agents\nversion: "1.0.0"\ndescription: Prints a long table.\n',
    );
    for (let index = 0; index < COMPONENTS; index += 1) {
      const name = `agent-${String(index).padStart(4, "0")}`;
      await writeFile(
        path.join(valid, "agents", `${name}.md`),
        `---\nname: ${name}\ndescription: Agent ${index} of a capability with a very long table.\n---\n\nHi.\n`,
      );
    }
    // An invalid capability whose error list runs to about 200 KB on stderr.
    invalid = path.join(scratch, "many-errors");
    await mkdir(invalid, { recursive: true });
    const flags = Array.from(
      { length: COMPONENTS },
      (_, index) => `  Bad_Flag_${index}:\n    description: Not kebab-case\n`,
    );
    await writeFile(
      path.join(invalid, "capability.yaml"),
      `schema: 1\nname: many-errors\nversion: "1.0.0"\ndescription: Prints a long error list.\nflags:\n${flags.join("")}`,
    );
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  test("stops quietly with exit 0 when stdout is closed after the first chunk", async () => {
    const run = await runClosingAfterFirstChunk(["capability", "validate", valid], "stdout");
    assert.doesNotMatch(run.other, /EPIPE|Error|\n\s+at /, `stderr:\n${run.other}`);
    assert.equal(run.other, "");
    assert.deepEqual({ code: run.code, signal: run.signal }, { code: 0, signal: null });
  });

  test("keeps exit 1 for a failure whose message is cut off on stderr", async () => {
    const run = await runClosingAfterFirstChunk(["capability", "validate", invalid], "stderr");
    assert.equal(run.other, "");
    assert.deepEqual({ code: run.code, signal: run.signal }, { code: 1, signal: null });
  });
});
