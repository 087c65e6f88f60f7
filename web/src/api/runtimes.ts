// Runtimes of a workspace (SPEC §6) and their capability bindings (SPEC §7): queries, and writes
// that carry the revision the user saw (`If-Match`), so a colleague's change is never overwritten.
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import { api, unwrap } from "./client";
import type { paths } from "./schema";

type RuntimePath = paths["/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}"];
type BindingsPath = paths["/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/capabilities"];
type BindingPath = paths["/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/capabilities/{binding_id}"];
type PreviewPath =
  paths["/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/capabilities/{binding_id}/upgrade-preview"];
type ResolvedPath = paths["/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/capabilities/resolved"];
type ConfigPath = paths["/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/config"];

export type Runtime = RuntimePath["get"]["responses"][200]["content"]["application/json"];
export type Binding = BindingsPath["get"]["responses"][200]["content"]["application/json"]["items"][number];
export type BindingPatch = NonNullable<BindingPath["patch"]["requestBody"]>["content"]["application/json"];
export type NewBinding = NonNullable<BindingsPath["post"]["requestBody"]>["content"]["application/json"];
export type UpgradePreview = PreviewPath["get"]["responses"][200]["content"]["application/json"];
export type ResolvedSet = ResolvedPath["get"]["responses"][200]["content"]["application/json"];
export type RuntimeConfig = ConfigPath["get"]["responses"][200]["content"]["application/json"]["config"];
export type ConfigBody = NonNullable<ConfigPath["put"]["requestBody"]>["content"]["application/json"];
export interface ConfigPlan {
  install: { name: string; version: string; enabled: boolean }[];
  update: { name: string; from: string; to: string; enabled: boolean }[];
  remove: { name: string; version: string }[];
}

export interface RuntimeScope {
  org: string;
  ws: string;
  runtime: string;
}

export const runtimeKeys = {
  list: (org: string, workspace: string) => ["org", org, "ws", workspace, "runtimes"] as const,
  one: (s: RuntimeScope) => [...runtimeKeys.list(s.org, s.ws), "one", s.runtime] as const,
  bindings: (s: RuntimeScope) => [...runtimeKeys.one(s), "bindings"] as const,
  resolved: (s: RuntimeScope) => [...runtimeKeys.one(s), "resolved"] as const,
  config: (s: RuntimeScope) => [...runtimeKeys.one(s), "config"] as const,
  preview: (s: RuntimeScope, binding: string, version: string) =>
    [...runtimeKeys.one(s), "preview", binding, version] as const,
};

const path = (s: RuntimeScope) => ({ org: s.org, workspace: s.ws, runtime_id: s.runtime });

export function useRuntimes(org: string, workspace: string, projectId?: string, enabled = true) {
  return useInfiniteQuery({
    enabled,
    queryKey: [...runtimeKeys.list(org, workspace), { projectId }],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/org/{org}/ws/{workspace}/runtimes", {
          params: {
            path: { org, workspace },
            query: { limit: 50, cursor: pageParam, project_id: projectId },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useProjects(org: string, workspace: string) {
  return useQuery({
    queryKey: ["org", org, "ws", workspace, "projects"],
    queryFn: () =>
      unwrap(api.GET("/api/v1/org/{org}/ws/{workspace}/projects", { params: { path: { org, workspace } } })),
    staleTime: 60_000,
  });
}

export function useRuntime(s: RuntimeScope) {
  return useQuery({
    queryKey: runtimeKeys.one(s),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}", { params: { path: path(s) } }),
      ),
  });
}

export function useBindings(s: RuntimeScope, options: { enabled?: boolean; staleTime?: number } = {}) {
  return useQuery({
    queryKey: runtimeKeys.bindings(s),
    queryFn: () => fetchBindings(s),
    ...options,
  });
}

export const fetchBindings = (s: RuntimeScope) =>
  unwrap(
    api.GET("/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/capabilities", {
      params: { path: path(s) },
    }),
  );

export function useResolved(s: RuntimeScope, options: { enabled?: boolean; staleTime?: number } = {}) {
  return useQuery({
    queryKey: runtimeKeys.resolved(s),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/capabilities/resolved", {
          params: { path: path(s), header: {} },
        }),
      ),
    ...options,
  });
}

export function useRuntimeConfig(s: RuntimeScope) {
  return useQuery({
    queryKey: runtimeKeys.config(s),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/config", {
          params: { path: path(s) },
        }),
      ),
  });
}

export function useUpgradePreview(s: RuntimeScope, binding: string, version: string | null) {
  return useQuery({
    queryKey: runtimeKeys.preview(s, binding, version ?? ""),
    enabled: version !== null,
    queryFn: () =>
      unwrap(
        api.GET(
          "/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/capabilities/{binding_id}/upgrade-preview",
          {
            params: { path: { ...path(s), binding_id: binding }, query: { version: version ?? "latest" } },
          },
        ),
      ),
  });
}

export const fetchBinding = (s: RuntimeScope, binding: string) =>
  unwrap(
    api.GET("/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/capabilities/{binding_id}", {
      params: { path: { ...path(s), binding_id: binding } },
    }),
  );

/** PATCH with `If-Match: <revision the user saw>`; a 409 means someone else changed it meanwhile. */
export const patchBinding = (s: RuntimeScope, binding: string, revision: number, body: BindingPatch) =>
  unwrap(
    api.PATCH("/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/capabilities/{binding_id}", {
      params: { path: { ...path(s), binding_id: binding }, header: { "if-match": String(revision) } },
      body,
    }),
  );

export const deleteBinding = (s: RuntimeScope, binding: string, revision: number) =>
  unwrap(
    api.DELETE("/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/capabilities/{binding_id}", {
      params: { path: { ...path(s), binding_id: binding }, header: { "if-match": String(revision) } },
    }),
  );

export const createBinding = (s: RuntimeScope, body: NewBinding) =>
  unwrap(
    api.POST("/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/capabilities", {
      params: { path: path(s) },
      body,
    }),
  );

export const planConfig = (s: RuntimeScope, body: ConfigBody) =>
  unwrap(
    api.PUT("/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/config", {
      params: { path: path(s), query: { dry_run: true } },
      body,
    }),
  ) as Promise<ConfigPlan>;

export const applyConfig = (s: RuntimeScope, body: ConfigBody) =>
  unwrap(
    api.PUT("/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}/config", {
      params: { path: path(s) },
      body,
    }),
  );

export const createRuntime = (
  org: string,
  workspace: string,
  body: { key: string; name: string; project?: string },
) =>
  unwrap(
    api.POST("/api/v1/org/{org}/ws/{workspace}/runtimes", { params: { path: { org, workspace } }, body }),
  );

export const deleteRuntime = (org: string, workspace: string, runtime: string) =>
  unwrap(
    api.DELETE("/api/v1/org/{org}/ws/{workspace}/runtimes/{runtime_id}", {
      params: { path: { org, workspace, runtime_id: runtime } },
    }),
  );

/** Everything that reads a runtime's bindings, refreshed after a write. */
export function useRefreshRuntime(s: RuntimeScope) {
  const queryClient = useQueryClient();
  const { org, ws, runtime } = s;
  // Stable, so that the binding rows (memoized) keep their props across renders of the list.
  return useCallback(() => {
    const scope = { org, ws, runtime };
    void queryClient.invalidateQueries({ queryKey: runtimeKeys.bindings(scope) });
    void queryClient.invalidateQueries({ queryKey: runtimeKeys.resolved(scope) });
    void queryClient.invalidateQueries({ queryKey: runtimeKeys.config(scope) });
    void queryClient.invalidateQueries({ queryKey: runtimeKeys.one(scope), exact: true });
  }, [queryClient, org, ws, runtime]);
}
