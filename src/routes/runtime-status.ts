// A runtime's sync status report (SPEC §12).
import { errorResponses, RuntimeParams } from "../contract/common.js";
import { RuntimeStatusBody, RuntimeStatusReport } from "../contract/runtimes.js";
import { reportRuntimeStatus } from "../services/runtime-status-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

const RT = "/org/:org/ws/:workspace/runtimes/:runtime_id";

export default async function runtimeStatusRoutes(app: RouteApp): Promise<void> {
  app.put(
    `${RT}/status`,
    {
      // The one write a runtime token may make: its own runtime's report.
      config: { runtimeToken: true, runtimeTokenWrites: true },
      schema: {
        operationId: "reportRuntimeStatus",
        tags: ["runtimes"],
        summary:
          "Report what the runtime has applied, its checks and its errors (runtime token or contributor)",
        description:
          "Replaces the runtime's last report. The runtime's `sync` then shows `last_seen_at`, " +
          "`applied_digest`, `in_sync` (the applied digest is the current resolved set's) and `checks_failed`.",
        params: RuntimeParams,
        body: RuntimeStatusBody,
        response: { 200: RuntimeStatusReport, ...errorResponses },
      },
    },
    async (request) => {
      const { org, workspace, runtime_id } = request.params;
      return reportRuntimeStatus(
        app.deps,
        scopeOf(request),
        { org, workspace, runtimeId: runtime_id.toLowerCase() },
        request.body,
      );
    },
  );
}
