// Webhooks and their delivery log (SPEC §15, owners).
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "./client";
import type { paths } from "./schema";

export const webhookKeys = {
  all: (org: string) => ["org", org, "webhooks"] as const,
  deliveries: (org: string, webhookId: string) => ["org", org, "webhooks", webhookId, "deliveries"] as const,
};

export type Webhook =
  paths["/api/v1/org/{org}/webhooks/{webhook_id}"]["get"]["responses"][200]["content"]["application/json"];
export type WebhookDelivery =
  paths["/api/v1/org/{org}/webhooks/{webhook_id}/deliveries"]["get"]["responses"][200]["content"]["application/json"]["items"][number];

export function useWebhooks(org: string) {
  return useQuery({
    queryKey: webhookKeys.all(org),
    queryFn: () => unwrap(api.GET("/api/v1/org/{org}/webhooks", { params: { path: { org } } })),
  });
}

export function useWebhookDeliveries(org: string, webhookId: string) {
  return useInfiniteQuery({
    queryKey: webhookKeys.deliveries(org, webhookId),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/org/{org}/webhooks/{webhook_id}/deliveries", {
          params: { path: { org, webhook_id: webhookId }, query: { limit: 20, cursor: pageParam } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export const createWebhook = (org: string, body: { url: string; events: string[]; description?: string }) =>
  unwrap(api.POST("/api/v1/org/{org}/webhooks", { params: { path: { org } }, body }));

export const updateWebhook = (
  org: string,
  webhookId: string,
  body: { status?: "active" | "disabled"; url?: string; events?: string[]; description?: string | null },
) =>
  unwrap(
    api.PATCH("/api/v1/org/{org}/webhooks/{webhook_id}", {
      params: { path: { org, webhook_id: webhookId } },
      body,
    }),
  );

export const deleteWebhook = (org: string, webhookId: string) =>
  unwrap(
    api.DELETE("/api/v1/org/{org}/webhooks/{webhook_id}", {
      params: { path: { org, webhook_id: webhookId } },
    }),
  );

export const redeliverWebhookDelivery = (org: string, webhookId: string, deliveryId: string) =>
  unwrap(
    api.POST("/api/v1/org/{org}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", {
      params: { path: { org, webhook_id: webhookId, delivery_id: deliveryId } },
    }),
  );
