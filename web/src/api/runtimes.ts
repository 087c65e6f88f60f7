// Runtimes of a workspace (SPEC §6). The runtime page itself comes with the next part of the console.
import { useInfiniteQuery } from "@tanstack/react-query";
import { api, unwrap } from "./client";

export const runtimeKeys = {
  list: (org: string, workspace: string) => ["org", org, "ws", workspace, "runtimes"] as const,
};

export function useRuntimes(org: string, workspace: string) {
  return useInfiniteQuery({
    queryKey: runtimeKeys.list(org, workspace),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/org/{org}/ws/{workspace}/runtimes", {
          params: { path: { org, workspace }, query: { limit: 50, cursor: pageParam } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}
