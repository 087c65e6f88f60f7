// A progress bar on stderr for uploads and downloads; silent unless stderr is a terminal, so logs
// and pipes never fill with carriage returns.
import type { CliIo } from "./cli-io.js";
import { formatBytes } from "./output.js";

const BAR_WIDTH = 24;
const REDRAW_INTERVAL_MS = 100;

export interface Progress {
  /** `totalBytes` may become known late (from a response's Content-Length). */
  update(doneBytes: number, totalBytes?: number | null): void;
  finish(): void;
}

const SILENT: Progress = { update() {}, finish() {} };

export function startProgress(io: CliIo, label: string, totalBytes: number | null): Progress {
  if (io.stderr.isTTY !== true) return SILENT;
  let lastDraw = 0;
  let done = 0;
  let total = totalBytes;
  const draw = () => {
    io.stderr.write(`\r${renderProgress(label, done, total)}\u001b[K`);
    lastDraw = Date.now();
  };
  draw();
  return {
    update(doneBytes, totalBytes) {
      done = doneBytes;
      if (totalBytes !== undefined && totalBytes !== null) total = totalBytes;
      if (Date.now() - lastDraw >= REDRAW_INTERVAL_MS) draw();
    },
    finish() {
      draw();
      io.stderr.write("\n");
    },
  };
}

export function renderProgress(label: string, doneBytes: number, totalBytes: number | null): string {
  if (totalBytes === null || totalBytes <= 0) return `${label} ${formatBytes(doneBytes)}`;
  const ratio = Math.min(1, doneBytes / totalBytes);
  const filled = Math.round(ratio * BAR_WIDTH);
  const bar = `${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}`;
  const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `${label} [${bar}] ${percent} ${formatBytes(doneBytes)}/${formatBytes(totalBytes)}`;
}
