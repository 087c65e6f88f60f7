// The organization and its members (SPEC §3).
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "./client";
import type { paths } from "./schema";

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

export type MemberRole = "owner" | "contributor" | "reader";

export const addMember = (org: string, body: { email: string; role: MemberRole; name?: string }) =>
  unwrap(api.POST("/api/v1/org/{org}/members", { params: { path: { org } }, body }));

export const changeMemberRole = (org: string, userId: string, role: MemberRole) =>
  unwrap(
    api.PUT("/api/v1/org/{org}/members/{user_id}", {
      params: { path: { org, user_id: userId } },
      body: { role },
    }),
  );

export const removeMember = (org: string, userId: string) =>
  unwrap(api.DELETE("/api/v1/org/{org}/members/{user_id}", { params: { path: { org, user_id: userId } } }));

export const apiKeyKeys = { mine: ["user", "api-keys"] as const };

export function useMyApiKeys() {
  return useQuery({ queryKey: apiKeyKeys.mine, queryFn: () => unwrap(api.GET("/api/v1/user/api-keys")) });
}

export const createApiKey = (body: { name: string; expires_in_days?: number; read_only?: boolean }) =>
  unwrap(api.POST("/api/v1/user/api-keys", { body }));

export const revokeApiKey = (keyId: string) =>
  unwrap(api.DELETE("/api/v1/user/api-keys/{key_id}", { params: { path: { key_id: keyId } } }));

type AuditPath = paths["/api/v1/org/{org}/audit"]["get"];
export type AuditFilter = Omit<NonNullable<AuditPath["parameters"]["query"]>, "cursor" | "limit">;
export type AuditEvent = AuditPath["responses"][200]["content"]["application/json"]["items"][number];

export function useAudit(org: string, filter: AuditFilter, enabled = true) {
  return useInfiniteQuery({
    queryKey: ["org", org, "audit", filter],
    enabled,
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/org/{org}/audit", {
          params: { path: { org }, query: { ...filter, limit: 25, cursor: pageParam } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

/** The newest audit event about one object (owners only; others get null). */
export async function lastChangeOf(org: string, targetId: string): Promise<AuditEvent | null> {
  const page = await unwrap(
    api.GET("/api/v1/org/{org}/audit", {
      params: { path: { org }, query: { target_id: targetId, limit: 1 } },
    }),
  );
  return page.items[0] ?? null;
}
