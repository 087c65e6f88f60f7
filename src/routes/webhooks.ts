// Webhooks and their delivery log (SPEC §15), for owners.
import { errorResponses, NoContent, OrgParams } from "../contract/common.js";
import {
  Webhook,
  WebhookCreateBody,
  WebhookCreated,
  WebhookDeliveriesQuery,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookDeliveryParams,
  WebhookList,
  WebhookParams,
  WebhookUpdateBody,
} from "../contract/webhooks.js";
import { type RouteApp, scopeOf } from "./route-app.js";

const WEBHOOKS = "/org/:org/webhooks";
const WEBHOOK = `${WEBHOOKS}/:webhook_id`;

export default async function webhookRoutes(app: RouteApp): Promise<void> {
  const tags = ["webhooks"];
  const webhooks = app.services.webhooks;

  app.get(
    WEBHOOKS,
    {
      schema: {
        operationId: "listWebhooks",
        tags,
        summary: "The organization's webhooks (owner)",
        params: OrgParams,
        response: { 200: WebhookList, ...errorResponses },
      },
    },
    async (request) => webhooks.list(scopeOf(request), request.params.org),
  );

  app.post(
    WEBHOOKS,
    {
      schema: {
        operationId: "createWebhook",
        tags,
        summary: "Register a webhook; the response carries its signing secret, shown only here (owner)",
        params: OrgParams,
        body: WebhookCreateBody,
        response: { 201: WebhookCreated, ...errorResponses },
      },
    },
    async (request, reply) => {
      const created = await webhooks.create(scopeOf(request), request.params.org, request.body);
      return reply.code(201).send(created);
    },
  );

  app.get(
    WEBHOOK,
    {
      schema: {
        operationId: "getWebhook",
        tags,
        summary: "One webhook (owner)",
        params: WebhookParams,
        response: { 200: Webhook, ...errorResponses },
      },
    },
    async (request) =>
      webhooks.get(scopeOf(request), request.params.org, request.params.webhook_id.toLowerCase()),
  );

  app.patch(
    WEBHOOK,
    {
      schema: {
        operationId: "updateWebhook",
        tags,
        summary: "Change a webhook's URL, events or description, or disable or re-enable it (owner)",
        params: WebhookParams,
        body: WebhookUpdateBody,
        response: { 200: Webhook, ...errorResponses },
      },
    },
    async (request) =>
      webhooks.update(
        scopeOf(request),
        request.params.org,
        request.params.webhook_id.toLowerCase(),
        request.body,
      ),
  );

  app.delete(
    WEBHOOK,
    {
      schema: {
        operationId: "deleteWebhook",
        tags,
        summary: "Delete a webhook and its delivery log (owner)",
        params: WebhookParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await webhooks.delete(scopeOf(request), request.params.org, request.params.webhook_id.toLowerCase());
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${WEBHOOK}/deliveries`,
    {
      schema: {
        operationId: "listWebhookDeliveries",
        tags,
        summary: "The webhook's deliveries, newest first, each with its latest attempts (owner)",
        params: WebhookParams,
        querystring: WebhookDeliveriesQuery,
        response: { 200: WebhookDeliveryList, ...errorResponses },
      },
    },
    async (request) =>
      webhooks.deliveries(
        scopeOf(request),
        request.params.org,
        request.params.webhook_id.toLowerCase(),
        request.query,
      ),
  );

  app.post(
    `${WEBHOOK}/deliveries/:delivery_id/redeliver`,
    {
      schema: {
        operationId: "redeliverWebhookDelivery",
        tags,
        summary:
          "Send a delivery again now, whatever its status; answered before the attempt is made (owner)",
        params: WebhookDeliveryParams,
        response: { 202: WebhookDelivery, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, webhook_id, delivery_id } = request.params;
      const delivery = await webhooks.redeliver(
        scopeOf(request),
        org,
        webhook_id.toLowerCase(),
        delivery_id.toLowerCase(),
      );
      return reply.code(202).send(delivery);
    },
  );
}
