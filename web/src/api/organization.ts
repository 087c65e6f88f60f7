// The organization and its members (SPEC §3).
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "./client";

export const organizationKeys = {
  one: (org: string) => ["org", org, "detail"] as const,
  members: (org: string) => ["org", org, "members"] as const,
};

export function useOrganization(org: string) {
  return useQuery({
    queryKey: organizationKeys.one(org),
    queryFn: () => unwrap(api.GET("/api/v1/org/{org}", { params: { path: { org } } })),
  });
}

export function useMembers(org: string) {
  return useQuery({
    queryKey: organizationKeys.members(org),
    queryFn: () => unwrap(api.GET("/api/v1/org/{org}/members", { params: { path: { org } } })),
  });
}
