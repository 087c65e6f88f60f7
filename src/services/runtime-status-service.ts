// Sync status reports (SPEC §12): after every apply and every failure a runtime's sync says which
// resolved set it has applied, which checks pass and what went wrong. One row per runtime, replaced
// by each report. A runtime token reports for its own runtime (it is otherwise read-only); people
// need the contributor role, as for any change to a runtime.
//
// Reports are neither audited nor published on the change feed: a fleet reports every few seconds,
// and nothing cached shows them (a published change would also wake every watcher of the runtime).
// A report that changes the runtime's status (applied digest, failing checks, errors) appends a
// `runtime.status_changed` event (SPEC §15) in the transaction that stores it; an identical
// heartbeat stores the report alone.
import { type RuntimeStatusInput, type RuntimeStatusView, STATUS_LIMITS } from "../contract/runtimes.js";
import {
  findRuntimeInWorkspace,
  findRuntimeSyncStatus,
  upsertRuntimeSyncStatus,
} from "../db/repositories/runtime-repository.js";
import type { Row } from "../db/schema.js";
import { AppError, notFound } from "../errors.js";
import { requireOrgRole } from "./access.js";
import { appendEvent } from "./audit.js";
import type { RequestScope, ServiceDeps } from "./deps.js";
import type { RuntimePath } from "./runtime-path.js";
import { currentDigestOf, syncView } from "./runtime-service.js";
import { requireRuntimeTokenRead } from "./runtime-token-service.js";
import { inTransaction } from "./transaction.js";

interface ReportedRuntime {
  id: string;
  orgId: string;
  workspaceId: string;
}

export async function reportRuntimeStatus(
  deps: ServiceDeps,
  scope: RequestScope,
  path: RuntimePath,
  report: RuntimeStatusInput,
): Promise<RuntimeStatusView> {
  const runtime = await locateReportedRuntime(deps, scope, path);
  const runtimeId = runtime.id;
  // The schema caps characters; stored sizes are bytes, which a multi-byte string can exceed.
  checkByteSizes(report);
  const checks = report.checks ?? [];
  const errors = report.errors ?? [];
  const row = {
    runtime_id: runtimeId,
    last_seen_at: deps.now().toISOString(),
    applied_digest: report.applied_digest,
    agent_name: report.agent.name,
    agent_version: report.agent.version,
    host: report.host ?? null,
    checks: JSON.stringify(checks),
    checks_failed: checks.filter((check) => !check.ok).length,
    errors: JSON.stringify(errors),
    reported_by_key_id: scope.actor.apiKeyId,
  };
  const previous = await findRuntimeSyncStatus(deps.db, runtimeId);
  if (previous !== undefined && statusOf(previous) === statusOf(row)) {
    await upsertRuntimeSyncStatus(deps.db, row);
  } else {
    await inTransaction(deps, async (trx) => {
      await upsertRuntimeSyncStatus(trx, row);
      await appendEvent(
        trx,
        scope,
        {
          orgId: runtime.orgId,
          type: "runtime.status_changed",
          workspaceId: runtime.workspaceId,
          subject: { kind: "runtime", id: runtimeId },
          data: {
            applied_digest: row.applied_digest,
            previous_digest: previous?.applied_digest ?? null,
            checks_failed: row.checks_failed,
            errors: errors.length,
          },
        },
        row.last_seen_at,
      );
    });
  }
  return {
    sync: syncView(row, await currentDigestOf(deps.db, runtimeId)),
    agent: report.agent,
    host: row.host,
    checks,
    errors,
  };
}

/** What a status event compares: a report that repeats these changes nothing worth an event. */
function statusOf(
  report: Pick<Row<"runtime_sync_status">, "applied_digest" | "checks_failed" | "errors">,
): string {
  return JSON.stringify([report.applied_digest, Number(report.checks_failed), report.errors]);
}

/** The runtime: a token's own runtime (403 for another), or one a contributor may change. */
async function locateReportedRuntime(
  deps: ServiceDeps,
  scope: RequestScope,
  path: RuntimePath,
): Promise<ReportedRuntime> {
  const { actor } = scope;
  if (actor.runtimeId !== null) {
    const token = await requireRuntimeTokenRead(deps, actor, { runtime: path });
    return { id: token.id, orgId: token.orgId, workspaceId: token.workspaceId };
  }
  const { org } = await requireOrgRole(deps, actor, path.org, "contributor");
  const runtime = await findRuntimeInWorkspace(deps.db, org.id, path.workspace, path.runtimeId);
  if (!runtime) throw notFound("Runtime");
  return { id: runtime.id, orgId: runtime.org_id, workspaceId: runtime.workspace_id };
}

function checkByteSizes(report: RuntimeStatusInput): void {
  const problems: { loc: (string | number)[]; msg: string; type: string }[] = [];
  report.checks?.forEach((check, index) => {
    if (check.output !== undefined && Buffer.byteLength(check.output) > STATUS_LIMITS.maxOutputBytes)
      problems.push({
        loc: ["body", "checks", index, "output"],
        msg: `must be at most ${STATUS_LIMITS.maxOutputBytes} bytes (UTF-8)`,
        type: "status.size",
      });
  });
  report.errors?.forEach((error, index) => {
    if (Buffer.byteLength(error) > STATUS_LIMITS.maxErrorBytes)
      problems.push({
        loc: ["body", "errors", index],
        msg: `must be at most ${STATUS_LIMITS.maxErrorBytes} bytes (UTF-8)`,
        type: "status.size",
      });
  });
  if (problems.length > 0) throw new AppError("validation_error", "The status report is too large", problems);
}
