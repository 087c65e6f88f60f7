// Who the caller is, their organizations and the org's workspaces.
import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "./client";

export const userKeys = {
  me: ["user", "me"] as const,
  organizations: ["user", "organizations"] as const,
  workspaces: (org: string) => ["org", org, "workspaces"] as const,
};

export const meQuery = queryOptions({
  queryKey: userKeys.me,
  queryFn: () => unwrap(api.GET("/api/v1/user/me")),
  staleTime: 5 * 60_000,
});

export const organizationsQuery = queryOptions({
  queryKey: userKeys.organizations,
  queryFn: () => unwrap(api.GET("/api/v1/user/organizations")),
  staleTime: 60_000,
});

export const useMe = () => useQuery(meQuery);
export const useOrganizations = () => useQuery(organizationsQuery);

export function useWorkspaces(org: string) {
  return useQuery({
    queryKey: userKeys.workspaces(org),
    queryFn: () =>
      unwrap(api.GET("/api/v1/org/{org}/ws", { params: { path: { org }, query: { page_size: 100 } } })),
    staleTime: 60_000,
  });
}

export type Role = "owner" | "contributor" | "reader";

/** The caller's role in `org`, or null while unknown / not a member. */
export function useOrgRole(org: string): Role | null {
  const orgs = useOrganizations();
  return (orgs.data?.find((o) => o.key === org)?.role as Role | undefined) ?? null;
}
