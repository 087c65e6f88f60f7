// Shared by the tests and the benchmarks (test/helpers/server-process.ts re-exports it).
// Starts the real server as a child process (`src/main.ts`, transpiled once by compiled-sources.ts,
// or through tsx with CAPSTAN_TEST_TSX=1) on a free port and resolves once it logs its URL. For tests
// that need several processes or a real socket.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TEST_SECRETS_KEY } from "./app-harness.js";
import { sourceRunner } from "./compiled-sources.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout so far. */
  output(): string;
  stop(): Promise<void>;
}

/** The parent's environment without CAPSTAN_* variables: a child gets only the ones a test names. */
export function withoutCapstanVariables(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => !entry[0].startsWith("CAPSTAN_") && entry[1] !== undefined,
    ),
  );
}

export async function startServerProcess(
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<ServerProcess> {
  const runner = await sourceRunner();
  const child = spawn(process.execPath, runner.args("src/main.ts"), {
    cwd: ROOT,
    env: {
      ...withoutCapstanVariables(),
      CAPSTAN_PORT: "0",
      CAPSTAN_LOG_LEVEL: "info",
      CAPSTAN_RATE_LIMIT_RPM: "0",
      // PostgreSQL refuses to start without a master key for secrets (SPEC §11); a test that
      // checks that passes CAPSTAN_SECRETS_KEY: "" (unset).
      ...(env.CAPSTAN_DATABASE_URL?.startsWith("postgres") ? { CAPSTAN_SECRETS_KEY: TEST_SECRETS_KEY } : {}),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start in time:\n${stdout}\n${stderr}`)),
      timeoutMs,
    );
    const check = () => {
      const match = /Capstan listening on (http:\/\/\S+?)"/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${stdout}\n${stderr}`));
    });
  });
  return {
    url,
    child,
    output: () => stdout,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export { sourceRunner } from "./compiled-sources.js";
