// `capstan runtime sync --run-checks` (SPEC §12): after an apply, each synced capability's
// `checks:` commands run in its directory, 30 s each at most, and their results go into the status
// report. A check passes when its command exits 0.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { MANIFEST_PATH, parseManifest } from "../../domain/manifest.js";
import { capabilityDirectory } from "./sync-state.js";

export const CHECK_TIMEOUT_MS = 30_000;
/** What the status keeps of a check's output (SPEC §12: 4 KiB); the end, where errors usually are. */
export const MAX_CHECK_OUTPUT_BYTES = 4096;

export interface CheckResult {
  capability: string;
  name: string;
  ok: boolean;
  duration_ms: number;
  output?: string;
}

/** Runs every check of every named capability synced into `dir`, one after the other. */
export async function runChecks(
  dir: string,
  capabilities: readonly { name: string }[],
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const capability of capabilities) {
    const root = path.join(dir, capabilityDirectory(capability.name));
    const source = await readFile(path.join(root, MANIFEST_PATH)).catch(() => null);
    const checks =
      source === null ? [] : (parseManifest(source, { allowPrerelease: true }).manifest?.checks ?? []);
    for (const check of checks) {
      results.push({
        capability: capability.name,
        name: check.name,
        ...(await runOne(check.command, root, timeoutMs)),
      });
    }
  }
  return results;
}

async function runOne(
  command: string,
  cwd: string,
  timeoutMs: number,
): Promise<{ ok: boolean; duration_ms: number; output?: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    // Its own process group, so a timeout ends the command and whatever it started.
    const child = spawn(command, { cwd, shell: true, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = Buffer.alloc(0);
    const keep = (chunk: Buffer) => {
      output = Buffer.concat([output, chunk]);
      if (output.length > MAX_CHECK_OUTPUT_BYTES * 2)
        output = output.subarray(output.length - MAX_CHECK_OUTPUT_BYTES);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    const finish = (ok: boolean, note?: string) => {
      clearTimeout(timer);
      const text = [lastBytes(output), note].filter((part) => part).join("\n");
      resolve({
        ok,
        duration_ms: Math.round(performance.now() - started),
        ...(text ? { output: lastBytes(Buffer.from(text)) } : {}),
      });
    };
    child.on("error", (error) => finish(false, `could not start: ${error.message}`));
    child.on("close", (code, signal) => {
      if (timedOut) finish(false, `timed out after ${Math.round(timeoutMs / 1000)} s`);
      else finish(code === 0, code === 0 ? undefined : `exited with ${code ?? signal}`);
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** The last MAX_CHECK_OUTPUT_BYTES bytes as text, not splitting a UTF-8 character. */
function lastBytes(data: Buffer): string {
  let start = Math.max(0, data.length - MAX_CHECK_OUTPUT_BYTES);
  // Skip continuation bytes (10xxxxxx) so the text starts on a character.
  while (start < data.length && start > 0 && (data[start] & 0xc0) === 0x80) start += 1;
  let text = data.subarray(start).toString("utf8").trim();
  // Bytes that are not UTF-8 decode to U+FFFD (3 bytes each): the text can outgrow the slice.
  while (Buffer.byteLength(text) > MAX_CHECK_OUTPUT_BYTES) text = text.slice(Math.ceil(text.length / 16));
  return text;
}
