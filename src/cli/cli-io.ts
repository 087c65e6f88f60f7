// Where the CLI reads and writes. Commands never touch `process` directly, so the whole CLI runs
// in-process in tests with captured streams and a made-up environment.

export interface CliWritable {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  stdout: CliWritable;
  stderr: CliWritable;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  /** Registers a handler for SIGINT/SIGTERM; returns a function that removes it. */
  onStopSignal(handler: () => void): () => void;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    onStopSignal(handler) {
      process.on("SIGINT", handler);
      process.on("SIGTERM", handler);
      return () => {
        process.off("SIGINT", handler);
        process.off("SIGTERM", handler);
      };
    },
  };
}

/** Interactive questions need a person on both ends: a terminal for the prompt and for the answer. */
export function isInteractive(io: CliIo): boolean {
  return io.stdin.isTTY === true && io.stderr.isTTY === true;
}
