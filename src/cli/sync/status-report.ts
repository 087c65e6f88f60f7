// The sync's status reports (SPEC §12 `PUT RT/status`): after every apply and every failure, what
// the directory holds now (`applied_digest`), the last check results and the error. An unchanged
// answer is reported at most once a minute, which keeps `last_seen_at` fresh (a runtime unseen for
// 5 minutes is stale) without a write per poll. A report that cannot be delivered never fails the
// sync: the server may be older than §12, or away, and the next report says the same again.
import { hostname } from "node:os";
import { cliVersion } from "../cli-version.js";
import type { CheckResult } from "./run-checks.js";
import type { SyncReport, SyncTarget } from "./runtime-sync.js";
import { readState } from "./sync-state.js";

export const HEARTBEAT_MS = 60_000;
/** SPEC §12 caps: 50 errors of 4 KiB. */
const MAX_ERROR_CHARS = 1000;

export interface StatusBody {
  applied_digest: string | null;
  agent: { name: string; version: string };
  host: string;
  checks: CheckResult[];
  errors: string[];
}

export class StatusReporter {
  private checks: CheckResult[] = [];
  private lastSentAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly dir: string,
    private readonly onWarning: (message: string) => void,
    private readonly heartbeatMs = HEARTBEAT_MS,
  ) {}

  /** Remembers the checks that later reports carry until they run again. */
  setChecks(checks: CheckResult[]): void {
    this.checks = checks;
  }

  async applied(target: SyncTarget, report: SyncReport, force = false): Promise<void> {
    if (report.status === "unchanged" && !force && Date.now() - this.lastSentAt < this.heartbeatMs) return;
    await this.send(target, { applied_digest: digestOrNull(report.runtime_digest), errors: [] });
  }

  async failed(target: SyncTarget | null, error: string): Promise<void> {
    if (target === null) return;
    const state = await readState(this.dir).catch(() => null);
    await this.send(target, {
      applied_digest: digestOrNull(state?.runtime_digest ?? ""),
      errors: [error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS)}…` : error],
    });
  }

  private async send(target: SyncTarget, body: Pick<StatusBody, "applied_digest" | "errors">): Promise<void> {
    const full: StatusBody = {
      ...body,
      agent: { name: "capstan-cli", version: cliVersion() },
      host: hostname().slice(0, 255) || "unknown",
      checks: this.checks,
    };
    try {
      await target.api.put(`${target.runtimePath}/status`, { json: full });
      this.lastSentAt = Date.now();
    } catch (error) {
      this.onWarning(`could not report the sync status: ${(error as Error).message}`);
    }
  }
}

/** An interrupted first sync leaves an empty digest: that is "nothing applied". */
function digestOrNull(digest: string): string | null {
  return /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : null;
}
