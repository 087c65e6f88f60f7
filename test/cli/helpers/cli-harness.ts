// Runs the CLI in-process with captured output, a made-up environment and chosen terminal-ness.
import { PassThrough } from "node:stream";
import type { CliIo } from "../../../src/cli/cli-io.js";
import { main } from "../../../src/cli/main.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FakeIoOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdoutTty?: boolean;
  stderrTty?: boolean;
  stdinTty?: boolean;
  /** Lines typed at the prompt. */
  input?: string;
  /** Sees each write to stdout as it happens (to react to a watching command's output). */
  onStdout?: (text: string, fake: FakeIo) => void;
}

export interface FakeIo {
  io: CliIo;
  stdout(): string;
  stderr(): string;
  /** Delivers SIGINT/SIGTERM to the handlers the command registered. */
  sendStopSignal(): void;
}

export function fakeIo(options: FakeIoOptions = {}): FakeIo {
  let out = "";
  let err = "";
  const stopHandlers = new Set<() => void>();
  const stdin = Object.assign(new PassThrough(), { isTTY: options.stdinTty ?? false });
  if (options.input !== undefined) stdin.end(options.input);
  const io: CliIo = {
    stdout: {
      write: (text: string) => {
        out += text;
        options.onStdout?.(text, fake);
      },
      isTTY: options.stdoutTty ?? false,
    },
    stderr: { write: (text: string) => (err += text), isTTY: options.stderrTty ?? false },
    stdin,
    env: { ...options.env },
    cwd: options.cwd ?? process.cwd(),
    onStopSignal(handler) {
      stopHandlers.add(handler);
      return () => stopHandlers.delete(handler);
    },
  };
  const fake: FakeIo = {
    io,
    stdout: () => out,
    stderr: () => err,
    sendStopSignal: () => {
      for (const handler of [...stopHandlers]) handler();
    },
  };
  return fake;
}

export async function runCli(argv: string[], options: FakeIoOptions = {}): Promise<CliRun> {
  const fake = fakeIo(options);
  const code = await main(argv, fake.io);
  return { code, stdout: fake.stdout(), stderr: fake.stderr() };
}
