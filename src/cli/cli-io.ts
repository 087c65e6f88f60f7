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
  stopQuietlyOnClosedPipe(process.stdout);
  stopQuietlyOnClosedPipe(process.stderr);
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

const guardedStreams = new WeakSet<NodeJS.WriteStream>();

/**
 * `capstan … | head -1`: once the reader has closed the pipe, every write fails with EPIPE, which
 * Node reports as an unhandled 'error' event (a stack trace and exit 1). Stop there instead, as
 * SIGPIPE stops C tools, but quietly. Exit 0, unless the command had already settled its code (a
 * failure whose message was cut off keeps its 1): a reader that stopped reading is not an API or
 * validation error, and `set -o pipefail` scripts should not fail on `| head`.
 */
function stopQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  if (guardedStreams.has(stream)) return;
  guardedStreams.add(stream);
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    // No code: process.exitCode if bin/capstan.mjs has set it (the error event comes ticks after
    // the failed write, once main has returned), else 0.
    process.exit();
  });
}

/** Interactive questions need a person on both ends: a terminal for the prompt and for the answer. */
export function isInteractive(io: CliIo): boolean {
  return io.stdin.isTTY === true && io.stderr.isTTY === true;
}
