// `capstan runtime sync RT --dir DIR [--watch]`: the runtime side. Works with a user key or with a
// runtime token (then RT must be the runtime's id: a runtime token cannot list runtimes).
import path from "node:path";
import { ApiError, NetworkError } from "../api-client.js";
import { DEFAULT_MAX_BUNDLE_BYTES } from "../bundle-download.js";
import { CliError } from "../cli-errors.js";
import type { CommandContext, CommandInput, CommandSpec } from "../command.js";
import { formatIssue } from "../output.js";
import { startProgress } from "../progress.js";
import { resolveRuntime } from "../runtime-lookup.js";
import { CHECK_TIMEOUT_MS, runChecks } from "../sync/run-checks.js";
import {
  type SyncOptions,
  type SyncReport,
  type SyncTarget,
  syncRuntime,
  watchRuntime,
} from "../sync/runtime-sync.js";
import { StatusReporter } from "../sync/status-report.js";

const DEFAULT_INTERVAL_SECONDS = 30;
/** Below the 60 s a server holds at most, and below the idle timeout of most proxies. */
const WATCH_WAIT_SECONDS = 55;
export const syncCommand: CommandSpec = {
  name: "sync",
  summary: "Make a directory hold a runtime's enabled capabilities, with their flags",
  args: ["RT"],
  options: {
    dir: { type: "string", value: "DIR", description: "Directory to keep in sync (created if missing)" },
    watch: {
      type: "boolean",
      description:
        "Keep watching: the server answers as soon as something changes; retry with backoff when it is away",
    },
    force: {
      type: "boolean",
      description: "Adopt files and directories in DIR that the sync did not create (replace or remove them)",
    },
    interval: {
      type: "string",
      value: "SECONDS",
      description: `Seconds between polls with --watch when the server cannot hold a request (default ${DEFAULT_INTERVAL_SECONDS})`,
    },
    "run-checks": {
      type: "boolean",
      description: `After each apply, run each capability's checks (${CHECK_TIMEOUT_MS / 1000} s each) and report them`,
    },
    "max-bundle-bytes": {
      type: "string",
      value: "BYTES",
      description: `Largest bundle accepted (default ${DEFAULT_MAX_BUNDLE_BYTES}, as the server's default)`,
    },
  },
  details: `DIR/<name>/ holds each enabled capability (owner/name → owner__name), DIR/capabilities.env its
flags as CAPABILITY_FLAG__<CAP>__<FLAG>=1|0, DIR/resolved.json the resolved set and its ETag,
DIR/mcp.json the MCP servers its flags allow, as MCP clients read them (<capability>.<server>).
After every apply and every failure the sync reports its status to the server (PUT RT/status).
Only bundles whose digest changed are downloaded; each is verified before it is unpacked, and the
directory is only changed once everything has been fetched.
The sync owns only what it created (listed in resolved.json): a file or directory in its way that it
did not create, or a file added to a capability directory, stops it (exit 1) with the paths named;
--force adopts them. Anything else in DIR is never touched.`,
  async run(ctx, input) {
    const dirOption = input.string("dir");
    if (dirOption === undefined) throw ctx.usageError("missing --dir DIR");
    const intervalSeconds = positiveNumber(ctx, input, "interval") ?? DEFAULT_INTERVAL_SECONDS;
    const maxBundleBytes = positiveNumber(ctx, input, "max-bundle-bytes") ?? DEFAULT_MAX_BUNDLE_BYTES;
    const scope = await ctx.workspaceScope();
    let target: SyncTarget | null = null;
    const resolveTarget = async (): Promise<SyncTarget> => {
      if (target === null) {
        const runtime = await resolveRuntime(scope, input.args[0]);
        target = { api: runtime.api, runtimeId: runtime.runtimeId, runtimePath: runtime.path };
      }
      return target;
    };
    const options: Omit<SyncOptions, "signal"> = {
      dir: path.resolve(ctx.io.cwd, dirOption),
      force: input.boolean("force"),
      maxBundleBytes,
      startProgress: (label) => startProgress(ctx.io, label, null),
    };
    const runsChecks = input.boolean("run-checks");
    const reporter = new StatusReporter(options.dir, (message) => ctx.out.note(message));
    /** Checks (when asked) after an apply, or first thing; then the status report. */
    const afterSync = async (synced: SyncTarget, report: SyncReport, first: boolean) => {
      if (runsChecks && (first || report.status === "updated")) {
        const checks = await runChecks(options.dir, [...report.downloaded, ...report.kept]);
        reporter.setChecks(checks);
        report.checks = checks;
      }
      await reporter.applied(synced, report, first);
    };

    // A stop signal aborts downloads; renames already under way are finished first.
    const stop = new AbortController();
    const removeHandler = ctx.io.onStopSignal(() => stop.abort());
    try {
      if (input.boolean("watch")) {
        if (!ctx.json) ctx.out.note(`watching runtime ${input.args[0]} into ${options.dir}`);
        await watchRuntime({
          intervalMs: intervalSeconds * 1000,
          signal: stop.signal,
          target: resolveTarget,
          sync: { ...options, waitSeconds: WATCH_WAIT_SECONDS },
          afterSync,
          afterFailure: (synced, error) => reporter.failed(synced, describe(error)),
          onReport: (report) => printReport(ctx, report, options.dir, true),
          onFailure: (error, retryInMs) => printFailure(ctx, error, retryInMs),
        });
        if (!ctx.json) ctx.out.note("sync stopped");
        return;
      }
      const synced = await resolveTarget();
      let report: SyncReport;
      try {
        report = await syncRuntime(synced, { ...options, signal: stop.signal });
      } catch (error) {
        if (!stop.signal.aborted) await reporter.failed(synced, describe(error));
        throw error;
      }
      await afterSync(synced, report, true);
      printReport(ctx, report, options.dir, false);
    } catch (error) {
      if (stop.signal.aborted) throw new CliError("sync interrupted: the directory was left as it was");
      throw error;
    } finally {
      removeHandler();
    }
  },
};

function printReport(ctx: CommandContext, report: SyncReport, dir: string, watching: boolean): void {
  if (ctx.json) {
    // One line per report, so that a watching sync's output is JSON lines.
    ctx.io.stdout.write(
      `${JSON.stringify(watching ? { at: new Date().toISOString(), ...report } : report)}\n`,
    );
    return;
  }
  if (report.status === "unchanged") {
    if (!watching) ctx.out.line(`Up to date: ${dir} (${report.runtime_digest}).`);
    return;
  }
  const stamp = watching ? `${new Date().toISOString()} ` : "";
  ctx.out.line(`${stamp}Synced ${dir} (${report.runtime_digest}):`);
  for (const item of report.downloaded) ctx.out.line(`  downloaded ${item.name}@${item.version}`);
  for (const name of report.removed) ctx.out.line(`  removed    ${name}`);
  for (const item of report.kept) ctx.out.line(`  unchanged  ${item.name}@${item.version}`);
  for (const check of report.checks ?? [])
    ctx.out.line(
      `  check      ${check.capability}/${check.name}: ${check.ok ? "ok" : "FAILED"} (${check.duration_ms} ms)`,
    );
}

function printFailure(ctx: CommandContext, error: unknown, retryInMs: number): void {
  const retry = `retrying in ${Math.ceil(retryInMs / 1000)}s`;
  ctx.out.note(`${new Date().toISOString()} sync failed: ${describe(error)}; ${retry}`);
  const items = error instanceof ApiError || error instanceof CliError ? error.items : [];
  for (const item of items) ctx.out.note(`  ${formatIssue(item)}`);
}

function describe(error: unknown): string {
  if (error instanceof ApiError) return `${error.type}: ${error.detail}`;
  if (error instanceof CliError || error instanceof NetworkError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

function positiveNumber(ctx: CommandContext, input: CommandInput, name: string): number | undefined {
  const text = input.string(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw ctx.usageError(`--${name} must be a positive number`);
  return value;
}
