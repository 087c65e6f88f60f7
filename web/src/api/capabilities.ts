// The registry (SPEC §5): query keys, queries, mutations and what each mutation invalidates.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, fetchRaw, unwrap } from "./client";
import type { paths } from "./schema";

type ListPath = paths["/api/v1/org/{org}/capabilities"]["get"];
type DetailPath = paths["/api/v1/org/{org}/capabilities/{name}/{version}"];
export type CapabilityPage = ListPath["responses"][200]["content"]["application/json"];
export type CapabilitySummary = CapabilityPage["capabilities"][number];
export type CapabilityDetail = DetailPath["get"]["responses"][200]["content"]["application/json"];
export type ComponentDetail = CapabilityDetail["component_details"][number];
export type VersionList =
  paths["/api/v1/org/{org}/capabilities/{name}/versions"]["get"]["responses"][200]["content"]["application/json"];
export type VersionItem = VersionList["versions"][number];
export type VersionStatus = CapabilitySummary["status"];
export type Facets =
  paths["/api/v1/org/{org}/capabilities/facets"]["get"]["responses"][200]["content"]["application/json"];
export type CatalogQuery = NonNullable<ListPath["parameters"]["query"]>;

export const capabilityKeys = {
  all: (org: string) => ["org", org, "capabilities"] as const,
  list: (org: string, query: CatalogQuery) => [...capabilityKeys.all(org), "list", query] as const,
  facets: (org: string, query: CatalogQuery) => [...capabilityKeys.all(org), "facets", query] as const,
  one: (org: string, name: string) => [...capabilityKeys.all(org), "one", name] as const,
  detail: (org: string, name: string, version: string) =>
    [...capabilityKeys.one(org, name), "detail", version] as const,
  versions: (org: string, name: string) => [...capabilityKeys.one(org, name), "versions"] as const,
  readme: (org: string, name: string, version: string) =>
    [...capabilityKeys.one(org, name), "readme", version] as const,
  file: (org: string, name: string, version: string, path: string) =>
    [...capabilityKeys.one(org, name), "file", version, path] as const,
};

export function useCapabilityList(org: string, query: CatalogQuery, enabled = true) {
  return useQuery({
    enabled,
    queryKey: capabilityKeys.list(org, query),
    queryFn: () => unwrap(api.GET("/api/v1/org/{org}/capabilities", { params: { path: { org }, query } })),
    // Paging and typing keep the previous page on screen instead of flashing a spinner.
    placeholderData: keepPreviousData,
  });
}

export function useFacets(org: string, query: CatalogQuery) {
  return useQuery({
    queryKey: capabilityKeys.facets(org, query),
    queryFn: () =>
      unwrap(api.GET("/api/v1/org/{org}/capabilities/facets", { params: { path: { org }, query } })),
    placeholderData: keepPreviousData,
  });
}

export function useCapability(org: string, name: string, version: string) {
  return useQuery({
    queryKey: capabilityKeys.detail(org, name, version),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/org/{org}/capabilities/{name}/{version}", {
          params: { path: { org, name, version } },
        }),
      ),
  });
}

export function useVersions(org: string, name: string, enabled = true) {
  return useQuery({
    queryKey: capabilityKeys.versions(org, name),
    enabled,
    queryFn: () =>
      unwrap(api.GET("/api/v1/org/{org}/capabilities/{name}/versions", { params: { path: { org, name } } })),
  });
}

export function useReadme(org: string, name: string, version: string) {
  return useQuery({
    queryKey: capabilityKeys.readme(org, name, version),
    queryFn: async () => {
      const { data, response } = await api.GET("/api/v1/org/{org}/capabilities/{name}/{version}/readme", {
        params: { path: { org, name, version } },
      });
      // No README is a normal state, not an error.
      if (response.status === 404) return null;
      return unwrap(Promise.resolve({ data, response, error: response.ok ? undefined : data }));
    },
  });
}

export interface CapabilityFile {
  path: string;
  contentType: string;
  size: number;
  /** The text, or null for a binary file (offered for download instead). */
  text: string | null;
  blob: Blob;
}

const TEXT_TYPES = /^(text\/|application\/(json|yaml|x-yaml|toml|xml|javascript|x-sh|x-python))/;

/** `files/{path}` of a version: each path segment encoded, the slashes kept. */
export function filePath(org: string, name: string, version: string, path: string): string {
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  return `/api/v1/org/${encodeURIComponent(org)}/capabilities/${encodeURIComponent(name)}/${encodeURIComponent(version)}/files/${encoded}`;
}

export function useCapabilityFile(org: string, name: string, version: string, path: string | null) {
  return useQuery({
    queryKey: capabilityKeys.file(org, name, version, path ?? ""),
    enabled: path !== null,
    staleTime: Number.POSITIVE_INFINITY, // a version's files never change
    queryFn: async (): Promise<CapabilityFile> => {
      const response = await fetchRaw(filePath(org, name, version, path ?? ""));
      const blob = await response.blob();
      const contentType = response.headers.get("content-type") ?? "application/octet-stream";
      let text: string | null = null;
      if (TEXT_TYPES.test(contentType) || blob.size === 0) {
        const candidate = await blob.text();
        // A NUL in the first bytes or undecodable bytes: treat as binary whatever the label says.
        if (!candidate.slice(0, 8192).includes("\u0000") && !candidate.includes("\uFFFD")) text = candidate;
      }
      return { path: path ?? "", contentType, size: blob.size, text, blob };
    },
  });
}

type StatusBody = NonNullable<DetailPath["patch"]["requestBody"]>["content"]["application/json"];

export function useSetVersionStatus(org: string, name: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ version, body }: { version: string; body: StatusBody }) =>
      unwrap(
        api.PATCH("/api/v1/org/{org}/capabilities/{name}/{version}", {
          params: { path: { org, name, version } },
          body,
        }),
      ),
    // The status shows on the detail, the version list and the catalog row (its latest may move).
    onSuccess: () => client.invalidateQueries({ queryKey: capabilityKeys.all(org) }),
  });
}

export function useDeleteVersion(org: string, name: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ version }: { version: string }) =>
      unwrap(
        api.DELETE("/api/v1/org/{org}/capabilities/{name}/{version}", {
          params: { path: { org, name, version } },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: capabilityKeys.all(org) }),
  });
}
