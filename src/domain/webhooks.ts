// Webhook rules that need no I/O (SPEC §15): which event patterns a webhook may subscribe to, the
// Standard Webhooks signing scheme (https://www.standardwebhooks.com), the retry schedule and the
// limits. The transport (connect-time address checks) lives in services/webhook-transport.ts.
import { createHmac, randomBytes } from "node:crypto";

export const MAX_WEBHOOKS_PER_ORG = 50;
export const MAX_WEBHOOK_URL_LENGTH = 2048;
export const MAX_WEBHOOK_PATTERNS = 100;
/** Bytes of a response body kept in the delivery log. */
export const WEBHOOK_RESPONSE_EXCERPT_BYTES = 1024;
/** Retries stop this long after a delivery's first attempt. */
export const WEBHOOK_RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** A webhook that has not succeeded for this long is disabled. */
export const WEBHOOK_DISABLE_AFTER_MS = 5 * 24 * 60 * 60 * 1000;
const BACKOFF_BASE_MS = 5_000;
const BACKOFF_CAP_MS = 60 * 60 * 1000;
/** Random bytes of a signing secret (Standard Webhooks: 24 to 64). */
const SECRET_BYTES = 32;
export const WEBHOOK_SECRET_PREFIX = "whsec_";

/**
 * The families of event types (the first segment): a pattern outside them could never match, so it
 * is refused as a typo rather than stored as a silent no-op.
 */
export const EVENT_FAMILIES = [
  "capability",
  "binding",
  "runtime",
  "secret",
  "member",
  "key",
  "webhook",
  "workspace",
  "project",
  "org",
  "signing_key",
  "service_account",
] as const;

const PATTERN = /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*(?:\.\*)?$/;

/** Why `pattern` is not a subscription pattern, or null when it is one. */
export function eventPatternProblem(pattern: string): string | null {
  if (pattern === "*") return null;
  if (!PATTERN.test(pattern)) {
    return `'${pattern}' is not an event type, 'prefix.*' or '*'`;
  }
  const family = pattern.split(".")[0];
  if (!(EVENT_FAMILIES as readonly string[]).includes(family)) {
    return `'${pattern}' names no event type (known families: ${EVENT_FAMILIES.join(", ")})`;
  }
  return null;
}

/** A new signing secret: `whsec_` and the base64 of random bytes. */
export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString("base64")}`;
}

/**
 * The `webhook-signature` value for a message: `v1,` and the base64 HMAC-SHA256, keyed with the
 * secret's decoded bytes, of `${id}.${timestamp}.${body}`.
 */
export function signWebhookMessage(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  const key = Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), "base64");
  const mac = createHmac("sha256", key).update(`${id}.${timestampSeconds}.${body}`).digest("base64");
  return `v1,${mac}`;
}

/**
 * The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed: exponential
 * (5 s, 10 s, 20 s, … capped at an hour) with jitter over its upper half, so endpoints that failed
 * together are not retried together, yet no retry comes right after the failure.
 */
export function webhookRetryDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt - 1, 20));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
