// Webhooks (SPEC §15), for owners: register an endpoint (its signing secret is shown once), change
// or re-enable it, delete it, read its delivery log and ask for a redelivery. Sending is the
// dispatcher's job (./webhook-dispatcher.ts); this service only writes rows and wakes it.

import type {
  DeliveryAttempt,
  Webhook,
  WebhookCreateBody,
  WebhookCreated,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookUpdateBody,
} from "../contract/webhooks.js";
import { lastOrgEventSeq } from "../db/repositories/event-repository.js";
import { lockOrgRow } from "../db/repositories/org-repository.js";
import {
  type AttemptRow,
  countWebhooks,
  type DeliveryRow,
  deleteWebhook as deleteWebhookRow,
  findDelivery,
  findWebhook,
  insertWebhook,
  listAttempts,
  listDeliveries,
  listWebhooks as listWebhookRows,
  updateDelivery,
  updateWebhook as updateWebhookRow,
  type WebhookRow,
} from "../db/repositories/webhook-repository.js";
import type { Db } from "../db/schema.js";
import type { Issue } from "../domain/types.js";
import { eventPatternProblem, MAX_WEBHOOKS_PER_ORG, newWebhookSecret } from "../domain/webhooks.js";
import { AppError, conflict, notFound } from "../errors.js";
import { decodeIdCursor, encodeIdCursor } from "../lib/id-cursor.js";
import { newId } from "../lib/ids.js";
import { sealSecret, webhookSecretAssociatedData } from "../lib/secret-crypto.js";
import { requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import type { RequestScope, ServiceDeps } from "./deps.js";
import type { SecretService } from "./secret-service.js";
import { inTransaction } from "./transaction.js";
import type { TargetPolicy } from "./webhook-transport.js";
import { webhookUrlProblem } from "./webhook-transport.js";

/** Attempts shown per delivery in the log (the latest ones). */
const ATTEMPTS_SHOWN = 20;

export interface WebhookWaker {
  wake(): unknown;
}

export class WebhookService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly secrets: SecretService,
    private readonly policy: TargetPolicy,
    private readonly dispatcher: WebhookWaker,
  ) {}

  async list(scope: RequestScope, orgKey: string): Promise<{ items: Webhook[] }> {
    const { org } = await requireOrgRole(this.deps, scope.actor, orgKey, "owner");
    return { items: (await listWebhookRows(this.deps.db, org.id)).map(presentWebhook) };
  }

  async get(scope: RequestScope, orgKey: string, webhookId: string): Promise<Webhook> {
    const { org } = await requireOrgRole(this.deps, scope.actor, orgKey, "owner");
    return presentWebhook(await this.find(this.deps.db, org.id, webhookId));
  }

  async create(scope: RequestScope, orgKey: string, input: WebhookCreateBody): Promise<WebhookCreated> {
    const { org } = await requireOrgRole(this.deps, scope.actor, orgKey, "owner");
    checkPatterns(input.events);
    await this.checkUrl(input.url);
    const keyring = await this.secrets.ready();
    const secret = newWebhookSecret();
    const id = newId();
    const at = this.deps.now().toISOString();
    const row = await inTransaction(this.deps, async (trx) => {
      // On PostgreSQL concurrent registrations would each count the others out and pass the cap
      // together; the org's row serialises them (SQLite transactions are already serial).
      if (this.deps.dialect === "postgres") await lockOrgRow(trx, org.id);
      if ((await countWebhooks(trx, org.id)) >= MAX_WEBHOOKS_PER_ORG) {
        throw conflict(`'${orgKey}' already has ${MAX_WEBHOOKS_PER_ORG} webhooks`);
      }
      const row: WebhookRow = {
        id,
        org_id: org.id,
        url: input.url,
        events: JSON.stringify(dedupe(input.events)),
        description: input.description ?? null,
        secret_key_id: keyring.current.id,
        secret_ciphertext: sealSecret(keyring.current, secret, webhookSecretAssociatedData(org.id, id)),
        status: "active",
        disabled_reason: null,
        failing_since: null,
        // Events from now on: those already in the log happened before the endpoint existed.
        cursor_seq: await lastOrgEventSeq(trx, org.id),
        created_by: scope.actor.userId,
        created_at: at,
        updated_at: at,
      };
      await insertWebhook(trx, row);
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          action: "webhook.created",
          targetType: "webhook",
          targetId: id,
          data: { url: displayUrl(row.url), events: JSON.parse(row.events) },
        },
        at,
      );
      return row;
    });
    return { ...presentWebhook(row), secret };
  }

  async update(
    scope: RequestScope,
    orgKey: string,
    webhookId: string,
    input: WebhookUpdateBody,
  ): Promise<Webhook> {
    const { org } = await requireOrgRole(this.deps, scope.actor, orgKey, "owner");
    if (input.events !== undefined) checkPatterns(input.events);
    if (input.url !== undefined) await this.checkUrl(input.url);
    const at = this.deps.now().toISOString();
    const row = await inTransaction(this.deps, async (trx) => {
      const current = await this.find(trx, org.id, webhookId);
      const patch: Partial<WebhookRow> = { updated_at: at };
      if (input.url !== undefined) patch.url = input.url;
      if (input.events !== undefined) patch.events = JSON.stringify(dedupe(input.events));
      if (input.description !== undefined) patch.description = input.description;
      if (input.status === "active" && current.status === "disabled") {
        // Re-enabled: from the current event on, with a clean record. The events it missed while
        // disabled are not sent (they may be days old); its pending deliveries resume.
        Object.assign(patch, {
          status: "active",
          disabled_reason: null,
          failing_since: null,
          cursor_seq: await lastOrgEventSeq(trx, org.id),
        });
      } else if (input.status === "disabled" && current.status === "active") {
        Object.assign(patch, { status: "disabled", disabled_reason: "disabled by an owner" });
      }
      await updateWebhookRow(trx, org.id, webhookId, patch);
      const changed = Object.keys(input).filter(
        (key) => (input as Record<string, unknown>)[key] !== undefined,
      );
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          action: "webhook.updated",
          targetType: "webhook",
          targetId: webhookId,
          data: {
            changed,
            url: displayUrl(patch.url ?? current.url),
            ...(patch.status ? { status: patch.status } : {}),
          },
        },
        at,
      );
      return { ...current, ...patch };
    });
    if (row.status === "active") this.dispatcher.wake();
    return presentWebhook(row);
  }

  async delete(scope: RequestScope, orgKey: string, webhookId: string): Promise<void> {
    const { org } = await requireOrgRole(this.deps, scope.actor, orgKey, "owner");
    const at = this.deps.now().toISOString();
    await inTransaction(this.deps, async (trx) => {
      const current = await this.find(trx, org.id, webhookId);
      if (!(await deleteWebhookRow(trx, org.id, webhookId))) throw notFound("Webhook");
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          action: "webhook.deleted",
          targetType: "webhook",
          targetId: webhookId,
          data: { url: displayUrl(current.url) },
        },
        at,
      );
    });
  }

  async deliveries(
    scope: RequestScope,
    orgKey: string,
    webhookId: string,
    page: { limit?: number; cursor?: string; status?: DeliveryRow["status"] },
  ): Promise<WebhookDeliveryList> {
    const { org } = await requireOrgRole(this.deps, scope.actor, orgKey, "owner");
    await this.find(this.deps.db, org.id, webhookId);
    const limit = page.limit ?? 50;
    const before = page.cursor === undefined ? null : decodeIdCursor(page.cursor);
    const rows = await listDeliveries(this.deps.db, webhookId, before, limit + 1, page.status);
    const shown = rows.slice(0, limit);
    const attempts = await listAttempts(
      this.deps.db,
      shown.map((row) => row.id),
      ATTEMPTS_SHOWN,
    );
    const byDelivery = new Map<string, AttemptRow[]>();
    for (const attempt of attempts) {
      const list = byDelivery.get(attempt.delivery_id) ?? [];
      list.push(attempt);
      byDelivery.set(attempt.delivery_id, list);
    }
    return {
      items: shown.map((row) => presentDelivery(row, byDelivery.get(row.id) ?? [])),
      next_cursor: rows.length > limit ? encodeIdCursor(shown[shown.length - 1].id) : null,
    };
  }

  /**
   * A new attempt as soon as possible, whatever the delivery's status; it starts a fresh retry
   * schedule (another day of retries if it fails). Asked for while an attempt is under way, it comes
   * right after that one. 409 when the webhook is disabled (re-enable it first: it sends nothing).
   */
  async redeliver(
    scope: RequestScope,
    orgKey: string,
    webhookId: string,
    deliveryId: string,
  ): Promise<WebhookDelivery> {
    const { org } = await requireOrgRole(this.deps, scope.actor, orgKey, "owner");
    const now = this.deps.now();
    const at = now.toISOString();
    const row = await inTransaction(this.deps, async (trx) => {
      const webhook = await this.find(trx, org.id, webhookId);
      const delivery = await findDelivery(trx, webhookId, deliveryId);
      if (!delivery) throw notFound("Delivery");
      if (webhook.status !== "active") {
        throw conflict("The webhook is disabled: re-enable it (PATCH status=active) before redelivering");
      }
      const patch = {
        status: "pending" as const,
        next_attempt_at: at,
        first_attempt_at: null,
        next_trigger: "manual" as const,
        updated_at: at,
      };
      await updateDelivery(trx, deliveryId, patch);
      await appendAudit(
        trx,
        scope,
        {
          orgId: org.id,
          action: "webhook.redelivered",
          targetType: "webhook",
          targetId: webhookId,
          data: { delivery_id: deliveryId, event_id: delivery.event_id },
        },
        at,
      );
      return { ...delivery, ...patch };
    });
    this.dispatcher.wake();
    const attempts = await listAttempts(this.deps.db, [deliveryId], ATTEMPTS_SHOWN);
    return presentDelivery(row, attempts);
  }

  private async find(db: Db, orgId: string, webhookId: string): Promise<WebhookRow> {
    const row = await findWebhook(db, orgId, webhookId.toLowerCase());
    if (!row) throw notFound("Webhook");
    return row;
  }

  private async checkUrl(url: string): Promise<void> {
    const problem = await webhookUrlProblem(url, this.policy);
    if (problem) {
      throw new AppError("validation_error", `url ${problem}`, [
        { loc: ["body", "url"], msg: `url ${problem}`, type: "webhook.url" },
      ]);
    }
  }
}

function checkPatterns(patterns: string[]): void {
  const issues: Issue[] = [];
  patterns.forEach((pattern, index) => {
    const problem = eventPatternProblem(pattern);
    if (problem) issues.push({ loc: ["body", "events", index], msg: problem, type: "webhook.events" });
  });
  if (issues.length > 0) throw new AppError("validation_error", issues[0].msg, issues);
}

const dedupe = (patterns: string[]): string[] => [...new Set(patterns)];

/**
 * The URL as audit records and events show it: its origin only. The path and query often carry the
 * receiver's own token (chat hooks put it in the path: `/services/T…/B…/<token>`, `/webhooks/<id>/
 * <token>`; CI hooks in the query), and events reach every org reader and every other webhook,
 * while the full URL is for owners (GET …/webhooks).
 */
export function displayUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "";
  }
}

export function presentWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    description: row.description,
    status: row.status,
    disabled_reason: row.disabled_reason,
    failing_since: row.failing_since,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function presentDelivery(row: DeliveryRow, attempts: AttemptRow[]): WebhookDelivery {
  return {
    id: row.id,
    event_id: row.event_id,
    event_seq: Number(row.event_seq),
    event_type: row.event_type,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.status === "pending" ? row.next_attempt_at : null,
    last_attempt_at: row.last_attempt_at,
    last_status_code: row.last_status_code,
    last_duration_ms: row.last_duration_ms,
    last_error: row.last_error,
    created_at: row.created_at,
    updated_at: row.updated_at,
    log: attempts.map(presentAttempt),
  };
}

function presentAttempt(row: AttemptRow): DeliveryAttempt {
  return {
    attempt: row.attempt,
    trigger: row.trigger,
    started_at: row.started_at,
    duration_ms: row.duration_ms,
    status_code: row.status_code,
    response: row.response,
    error: row.error,
  };
}
