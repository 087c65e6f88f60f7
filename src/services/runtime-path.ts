// The runtime a request points at, as the binding service, the resolved service, their caches, the
// runtime-token check and the fast lane all read it.

/** Where a request points: `/org/{org}/ws/{workspace}/runtimes/{runtimeId}` (id lower-cased). */
export interface RuntimePath {
  org: string;
  workspace: string;
  runtimeId: string;
}
