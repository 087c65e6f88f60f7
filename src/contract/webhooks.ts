// Webhooks and their delivery log (SPEC §15). The signing secret is part of the create response
// only; no other response carries it.
import { type Static, Type } from "typebox";
import { MAX_WEBHOOK_PATTERNS, MAX_WEBHOOK_URL_LENGTH } from "../domain/webhooks.js";
import { CursorQuery, NO_NUL, Nullable, OrgParams, Timestamp, Uuid } from "./common.js";

const strict = { additionalProperties: false } as const;

const WebhookUrl = Type.String({
  minLength: 1,
  maxLength: MAX_WEBHOOK_URL_LENGTH,
  // No white space or control characters: the URL parser drops tabs and line breaks, so the URL
  // stored and shown would differ from the one requested.
  pattern: "^[^\\u0000-\\u0020\\u007f]+$",
  description: "http(s) URL the events are POSTed to",
});
const EventPatterns = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
  minItems: 1,
  maxItems: MAX_WEBHOOK_PATTERNS,
  description: "Event types to send: an exact type (`binding.created`), `prefix.*` or `*`",
});
const WebhookDescription = Type.String({ maxLength: 1000, pattern: NO_NUL });
const WebhookStatus = Type.Union([Type.Literal("active"), Type.Literal("disabled")]);

export const Webhook = Type.Object({
  id: Uuid,
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Nullable(Type.String()),
  status: WebhookStatus,
  disabled_reason: Nullable(Type.String()),
  failing_since: Nullable(Timestamp),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Webhook = Static<typeof Webhook>;

export const WebhookCreated = Type.Object({
  ...Webhook.properties,
  secret: Type.String({
    description: "`whsec_` + base64 key for verifying `webhook-signature`; shown only in this response",
  }),
});
export type WebhookCreated = Static<typeof WebhookCreated>;

export const WebhookList = Type.Object({ items: Type.Array(Webhook) });
export type WebhookList = Static<typeof WebhookList>;

export const WebhookCreateBody = Type.Object(
  { url: WebhookUrl, events: EventPatterns, description: Type.Optional(WebhookDescription) },
  strict,
);
export type WebhookCreateBody = Static<typeof WebhookCreateBody>;

export const WebhookUpdateBody = Type.Object(
  {
    url: Type.Optional(WebhookUrl),
    events: Type.Optional(EventPatterns),
    description: Type.Optional(Nullable(WebhookDescription)),
    status: Type.Optional(WebhookStatus),
  },
  { ...strict, minProperties: 1 },
);
export type WebhookUpdateBody = Static<typeof WebhookUpdateBody>;

export const WebhookParams = Type.Object({ ...OrgParams.properties, webhook_id: Uuid }, strict);
export const WebhookDeliveryParams = Type.Object(
  { ...OrgParams.properties, webhook_id: Uuid, delivery_id: Uuid },
  strict,
);

export const DeliveryAttempt = Type.Object({
  attempt: Type.Integer(),
  trigger: Type.Union([Type.Literal("automatic"), Type.Literal("manual")]),
  started_at: Timestamp,
  duration_ms: Type.Integer(),
  status_code: Nullable(Type.Integer()),
  response: Nullable(Type.String({ description: "The first 1 KiB of the response body" })),
  error: Nullable(Type.String()),
});
export type DeliveryAttempt = Static<typeof DeliveryAttempt>;

export const WebhookDelivery = Type.Object({
  id: Uuid,
  event_id: Uuid,
  event_seq: Type.Integer(),
  event_type: Type.String(),
  status: Type.Union([Type.Literal("pending"), Type.Literal("succeeded"), Type.Literal("failed")]),
  attempts: Type.Integer(),
  next_attempt_at: Nullable(Timestamp),
  last_attempt_at: Nullable(Timestamp),
  last_status_code: Nullable(Type.Integer()),
  last_duration_ms: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  log: Type.Array(DeliveryAttempt, { description: "The latest attempts (up to 20), oldest first" }),
});
export type WebhookDelivery = Static<typeof WebhookDelivery>;

export const WebhookDeliveryList = Type.Object({
  items: Type.Array(WebhookDelivery),
  next_cursor: Nullable(Type.String()),
});
export type WebhookDeliveryList = Static<typeof WebhookDeliveryList>;

export const WebhookDeliveriesQuery = Type.Object(
  {
    ...CursorQuery.properties,
    status: Type.Optional(
      Type.Union([Type.Literal("pending"), Type.Literal("succeeded"), Type.Literal("failed")]),
    ),
  },
  strict,
);
export type WebhookDeliveriesQuery = Static<typeof WebhookDeliveriesQuery>;
