// Everything the CLI prints: aligned tables and key/value blocks for people, JSON for scripts,
// colour only on a terminal and never with NO_COLOR (https://no-color.org), errors from the envelope.
import { ApiError, NetworkError } from "./api-client.js";
import type { ApiErrorItem } from "./api-types.js";
import { CliError, UsageError } from "./cli-errors.js";
import type { CliIo } from "./cli-io.js";
import { cliVersion } from "./cli-version.js";

export type Paint = (text: string) => string;

export interface Palette {
  bold: Paint;
  dim: Paint;
  green: Paint;
  yellow: Paint;
  red: Paint;
}

const plain: Paint = (text) => text;
const PLAIN_PALETTE: Palette = { bold: plain, dim: plain, green: plain, yellow: plain, red: plain };
const ANSI_PALETTE: Palette = {
  bold: (text) => `\u001b[1m${text}\u001b[22m`,
  dim: (text) => `\u001b[2m${text}\u001b[22m`,
  green: (text) => `\u001b[32m${text}\u001b[39m`,
  yellow: (text) => `\u001b[33m${text}\u001b[39m`,
  red: (text) => `\u001b[31m${text}\u001b[39m`,
};

/** A table cell: text, optionally painted once it has been padded (padding counts visible width). */
export type Cell = string | { text: string; paint: Paint };

export function usesColour(io: CliIo): boolean {
  return io.stdout.isTTY === true && io.env.NO_COLOR === undefined;
}

export class Output {
  readonly palette: Palette;

  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {
    this.palette = usesColour(io) ? ANSI_PALETTE : PLAIN_PALETTE;
  }

  line(text = ""): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** Side remarks (hints, progress notes): stderr, so that stdout stays parseable. */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  data(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  table(headers: string[], rows: Cell[][]): void {
    this.io.stdout.write(renderTable(headers, rows, this.palette.bold));
  }

  /** `key: value` lines with the values aligned; empty values are left out. */
  fields(entries: [string, string | number | null | undefined][]): void {
    const shown = entries.filter(([, value]) => value !== null && value !== undefined && value !== "");
    const width = Math.max(0, ...shown.map(([key]) => key.length));
    for (const [key, value] of shown) this.line(`${this.palette.dim(`${key}:`.padEnd(width + 1))} ${value}`);
  }
}

/** Columns aligned on the widest cell, two spaces apart, no trailing white space. */
export function renderTable(headers: string[], rows: Cell[][], paintHeader: Paint = plain): string {
  const texts = rows.map((row) => row.map(cellText));
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...texts.map((row) => (row[column] ?? "").length)),
  );
  const renderRow = (cells: Cell[], paintAll: Paint) =>
    cells
      .map((cell, column) => {
        const text = cellText(cell);
        const padded = column === cells.length - 1 ? text : text.padEnd(widths[column]);
        return typeof cell === "string" ? paintAll(padded) : cell.paint(padded);
      })
      .join("  ")
      .trimEnd();
  const lines = [renderRow(headers, paintHeader), ...rows.map((row) => renderRow(row, plain))];
  return `${lines.join("\n")}\n`;
}

function cellText(cell: Cell): string {
  return typeof cell === "string" ? cell : cell.text;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function formatIssue(item: ApiErrorItem): string {
  const where = item.loc.length > 0 ? `${item.loc.join(".")}: ` : "";
  return `${where}${item.msg}`;
}

/**
 * The server's words where the CLI has its own: query parameters become the flags that send them
 * (`?force=true` → `--force`), and an org that is missing or not the caller's says both (the
 * server may not tell them apart, SPEC §2.3).
 */
export function cliWording(detail: string): string {
  return detail
    .replace(/\?([a-z][a-z_]*)=true\b/g, (_match, name: string) => `--${name.replace(/_/g, "-")}`)
    .replace(/^(Organization '[^']*' not found)\.?$/, "$1, or you are not a member of it");
}

/** With --json: the failure as one JSON document on stdout (SPEC §2.4's envelope shape). */
export interface FailureEnvelope {
  /** The HTTP status for an API error; null for a failure of the CLI itself. */
  code: number | null;
  type: string;
  detail: string;
  errors?: ApiErrorItem[];
  hint?: string;
}

export function failureEnvelope(error: unknown): FailureEnvelope {
  const items = (list: ApiErrorItem[]) => (list.length > 0 ? { errors: list } : {});
  if (error instanceof UsageError) {
    return {
      code: null,
      type: "usage_error",
      detail: error.message,
      ...(error.hint && { hint: error.hint }),
    };
  }
  if (error instanceof ApiError) {
    return { code: error.status, type: error.type, detail: cliWording(error.detail), ...items(error.items) };
  }
  if (error instanceof CliError) {
    return {
      code: null,
      type: "cli_error",
      detail: error.message,
      ...items(error.items),
      ...(error.hint && { hint: error.hint }),
    };
  }
  if (error instanceof NetworkError) return { code: null, type: "network_error", detail: error.message };
  return {
    code: null,
    type: "unexpected_error",
    detail: error instanceof Error ? error.message : String(error),
  };
}

/**
 * Writes a failure to stderr and returns the exit code it stands for; with `json`, its envelope
 * also goes to stdout, so that a script reads one JSON document whatever happened.
 */
export function reportFailure(io: CliIo, error: unknown, options: { json?: boolean } = {}): number {
  if (options.json) io.stdout.write(`${JSON.stringify(failureEnvelope(error), null, 2)}\n`);
  const write = (text: string) => io.stderr.write(`${text}\n`);
  if (error instanceof UsageError) {
    write(`capstan: ${error.message}`);
    if (error.hint) write(error.hint);
    else write(`Run 'capstan ${[...error.command, "--help"].join(" ")}' for usage.`);
    return 2;
  }
  if (error instanceof ApiError) {
    write(`${error.type}: ${cliWording(error.detail)}`);
    for (const item of error.items) write(`  ${formatIssue(item)}`);
    if (error.status === 426) write(upgradeHint(error.detail));
    return 1;
  }
  if (error instanceof CliError) {
    write(`capstan: ${error.message}`);
    for (const item of error.items) write(`  ${formatIssue(item)}`);
    if (error.hint) write(error.hint);
    return 1;
  }
  if (error instanceof NetworkError) {
    write(`capstan: ${error.message}`);
    return 1;
  }
  write(
    `capstan: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return 1;
}

/** The server names the minimum version in its detail, next to ours: the one that is not ours. */
function upgradeHint(detail: string): string {
  const versions = detail.match(/\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?/g) ?? [];
  const minimum = versions.find((version) => version !== cliVersion());
  const needed = minimum
    ? `This server needs capstan-cli ${minimum} or later.`
    : "This server needs a newer capstan-cli.";
  return `${needed} Upgrade the CLI: update your Capstan checkout and run npm ci, or npm install -g capstan@latest.`;
}
