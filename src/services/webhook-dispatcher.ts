// Webhook delivery (SPEC §15), one dispatcher per instance, started with the app.
//
// Nothing on a mutation's path knows about webhooks: a committed transaction publishes an `events`
// change (every instance hears it in scale mode), which wakes the dispatcher. A pass then
//  1. fans out: for each active webhook whose org's log is ahead of its cursor, in one transaction
//     that holds the webhook row (SKIP LOCKED on PostgreSQL, so another instance passes it by), it
//     turns the new matching events into delivery rows and moves the cursor; (webhook, event) is
//     unique, a second guard against sending an event twice;
//  2. sends: it claims due deliveries with a conditional update (a claim lasts CLAIM_MS; exactly one
//     instance gets each), one worker per webhook on this instance sending PER_ENDPOINT requests at
//     a time over kept-alive connections (a slow endpoint delays only itself) and MAX_IN_FLIGHT
//     workers in all, and records each attempt when it ends.
// A timer (the next due retry, and every POLL_MS at most) covers retries and missed wake-ups.
// Failures are retried with backoff for 24 h; a webhook with no success for 5 days is disabled,
// which is audited (and so becomes a `webhook.disabled` event).
// An endpoint that does not answer at all (timeout, refused connection, unresolvable or forbidden
// address) trips its worker: the attempts under way end, the claimed deliveries not yet started
// wait until the failed one's retry, and the slot is free. A dead endpoint then costs one timeout
// per retry, not one per delivery of its backlog, and cannot hold the slots of other tenants'
// endpoints for long however many webhooks its owner points at it.

import { listOrgEventsAfter } from "../db/repositories/event-repository.js";
import {
  claimDeliveries,
  claimWebhookForFanOut,
  type DeliveryToSend,
  dueDeliveries,
  findDeliveryById,
  findDeliveryToSend,
  insertAttempt,
  insertDeliveries,
  lockWebhook,
  nextDeliveryDueAt,
  orgsWithActiveWebhooks,
  postponeDeliveries,
  releaseDeliveries,
  setWebhookCursor,
  updateDelivery,
  updateWebhook,
  webhooksBehindTheirLog,
} from "../db/repositories/webhook-repository.js";
import type { Db } from "../db/schema.js";
import { eventTypeMatches } from "../domain/events.js";
import {
  signWebhookMessage,
  WEBHOOK_DISABLE_AFTER_MS,
  WEBHOOK_RETRY_WINDOW_MS,
  webhookRetryDelayMs,
} from "../domain/webhooks.js";
import { newId } from "../lib/ids.js";
import { packageVersion } from "../lib/package-version.js";
import { openSecret, webhookSecretAssociatedData } from "../lib/secret-crypto.js";
import { appendAudit } from "./audit.js";
import type { ServiceDeps } from "./deps.js";
import { presentEvent } from "./event-service.js";
import type { SecretService } from "./secret-service.js";
import { inTransaction } from "./transaction.js";
import {
  type SendOutcome,
  sendWebhookRequest,
  type TargetPolicy,
  WebhookAgents,
} from "./webhook-transport.js";

/**
 * How long a claimed delivery is this instance's, beyond the time its batch may take to send (each
 * attempt is bounded by the timeout); an instance that dies leaves its claims to others after that.
 */
const CLAIM_MS = 60_000;
/** Deliveries of one webhook claimed at once (in one statement), then sent PER_ENDPOINT at a time. */
const CLAIM_BATCH = 50;
/** Requests in flight to one webhook from this instance, over kept-alive connections. */
const PER_ENDPOINT = 4;
const POLL_MS = 5_000;
/** Events read per webhook per transaction while fanning out. */
const FAN_OUT_BATCH = 1_000;

export interface DispatcherOptions {
  /** Webhooks being sent to by this instance at once (one request each). */
  maxInFlight?: number;
  /** Of those, at most this many webhooks of one org (default a quarter of maxInFlight). */
  maxPerOrg?: number;
  /** An attempt's limit: connect, answer and the first 1 KiB of the body. */
  timeoutMs?: number;
  /** Requests in flight to one webhook at once (its own connections, kept alive). */
  perEndpoint?: number;
}

/** What an attempt tells its worker. */
interface AttemptResult {
  /** False when the endpoint gave no answer at all: the worker stops sending it its batch. */
  answered: boolean;
  /** When the attempted delivery is due again (null: it succeeded, ended, or was not sent). */
  retryAt: string | null;
}

export class WebhookDispatcher {
  private readonly maxInFlight: number;
  private readonly timeoutMs: number;
  private readonly perEndpoint: number;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly busyWebhooks = new Set<string>();
  /** Orgs with an active webhook as of the last pass; null until the first pass has read them. */
  private orgsWithWebhooks: Set<string> | null = null;
  /** Webhooks being sent to per org: one tenant's endpoints never take more than maxPerOrg. */
  private readonly busyPerOrg = new Map<string, number>();
  private readonly maxPerOrg: number;
  private readonly abort = new AbortController();
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly secrets: SecretService,
    private readonly policy: TargetPolicy,
    options: DispatcherOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 32;
    // A quarter of the slots: an org whose endpoints all hang (10 s per attempt) leaves the other
    // three quarters to everyone else.
    this.maxPerOrg = options.maxPerOrg ?? Math.max(1, Math.floor(this.maxInFlight / 4));
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.perEndpoint = Math.max(1, options.perEndpoint ?? PER_ENDPOINT);
  }

  /** Listens for new events and runs a first pass (deliveries left over by a previous run). */
  start(): void {
    if (this.unsubscribe || this.closed) return;
    this.unsubscribe = this.deps.changes.subscribe((event) => {
      // Most orgs have no webhook: their writes must not cost a pass (a few queries on the
      // database every write also uses). A webhook created on another instance is seen at the
      // next timed pass (POLL_MS); its cursor starts before those events, so none is missed.
      if (event.kind === "events" && this.orgsWithWebhooks?.has(event.orgId) === false) return;
      if (event.kind === "events" || event.kind === "all") this.wake();
    });
    this.wake();
  }

  /** Runs a pass soon (passes never overlap; wake-ups during one coalesce into the next). */
  wake(): Promise<void> {
    if (this.closed) return this.chain;
    if (this.queued) return this.chain;
    this.queued = true;
    this.chain = this.chain
      .then(async () => {
        this.queued = false;
        if (!this.closed) await this.pass();
      })
      .catch((error: unknown) => {
        if (!this.closed) this.deps.logger.error({ err: error }, "webhook dispatch pass failed");
        this.schedule(POLL_MS);
      });
    return this.chain;
  }

  /**
   * Passes until nothing is due now and nothing is in flight: what tests await instead of
   * sleeping (retries that are due later are left for later).
   */
  async settle(): Promise<void> {
    for (;;) {
      await this.wake();
      if (this.inFlight.size > 0) {
        await Promise.allSettled([...this.inFlight.values()]);
        continue;
      }
      const now = this.deps.now().toISOString();
      const behind = await webhooksBehindTheirLog(this.deps.db, 1);
      const due = await dueDeliveries(this.deps.db, now, 1);
      if (behind.length === 0 && due.length === 0) return;
    }
  }

  /** Stops: no new pass or attempt; attempts in flight are cut and their claims released. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.chain;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private async pass(): Promise<void> {
    this.orgsWithWebhooks = new Set(await orgsWithActiveWebhooks(this.deps.db));
    const more = await this.fanOut();
    await this.send();
    if (more && !this.closed) {
      this.wake();
      return;
    }
    const now = this.deps.now();
    const next = await nextDeliveryDueAt(this.deps.db, now.toISOString());
    let wait = next === null ? POLL_MS : Date.parse(next) - now.getTime();
    // Due but not taken: its webhook is busy here or there was no room; an attempt ending wakes us.
    if (wait <= 0 && this.inFlight.size > 0) wait = POLL_MS;
    this.schedule(Math.max(0, Math.min(POLL_MS, wait)));
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    // A retry due "now" that this instance cannot take (its webhook is busy here) waits for the
    // attempt in flight, whose end wakes a pass anyway.
    this.timer = setTimeout(() => this.wake(), Math.max(ms, 50));
    this.timer.unref();
  }

  /** Returns whether some webhook has more events to fan out than one batch took. */
  private async fanOut(): Promise<boolean> {
    let more = false;
    let progressed = false;
    const ids = await webhooksBehindTheirLog(this.deps.db, 100);
    for (const id of ids) {
      if (this.closed) return false;
      const taken = await this.deps.db.transaction().execute(async (trx) => {
        const webhook = await claimWebhookForFanOut(trx, this.deps.dialect, id);
        if (!webhook) return 0;
        const cursor = Number(webhook.cursor_seq);
        const events = await listOrgEventsAfter(trx, webhook.org_id, cursor, FAN_OUT_BATCH);
        if (events.length === 0) return 0;
        const patterns = JSON.parse(webhook.events) as string[];
        const at = this.deps.now().toISOString();
        await insertDeliveries(
          trx,
          events
            .filter((event) => eventTypeMatches(event.type, patterns))
            .map((event) => ({
              id: newId(),
              webhook_id: webhook.id,
              org_id: webhook.org_id,
              event_seq: Number(event.seq),
              event_id: event.id,
              event_type: event.type,
              status: "pending" as const,
              attempts: 0,
              next_attempt_at: at,
              first_attempt_at: null,
              claimed_until: null,
              last_attempt_at: null,
              last_status_code: null,
              last_duration_ms: null,
              last_error: null,
              created_at: at,
              updated_at: at,
            })),
        );
        await setWebhookCursor(trx, webhook.id, Number(events[events.length - 1].seq));
        return events.length;
      });
      progressed ||= taken > 0;
      more ||= taken === FAN_OUT_BATCH;
    }
    // Another instance may hold the ones it skipped; those are its to fan out.
    return more || (ids.length === 100 && progressed);
  }

  /**
   * Claims due deliveries, up to CLAIM_BATCH per webhook not busy here, and starts a worker for
   * each such webhook: it sends them one after the other, then claims its webhook's next due ones,
   * until none is due. So an endpoint gets one request at a time from this instance, and a slow one
   * ties up its own worker only.
   */
  private async send(): Promise<void> {
    const room = this.maxInFlight - this.inFlight.size;
    if (room <= 0 || this.closed) return;
    const now = this.deps.now();
    // One transaction for the read and the claim: on SQLite, each statement outside one waits for
    // the single connection behind whole write transactions of the API.
    const queues = await this.deps.db.transaction().execute(async (trx) => {
      // Leaving out the webhooks busy here keeps this read small however long their backlog is.
      const candidates = await dueDeliveries(trx, now.toISOString(), room * CLAIM_BATCH, {
        except: [...this.busyWebhooks],
      });
      const picked = new Map<string, string[]>();
      const orgOf = new Map<string, string>();
      const orgShare = new Map(this.busyPerOrg);
      for (const candidate of candidates) {
        if (this.busyWebhooks.has(candidate.webhook_id)) continue;
        const queue = picked.get(candidate.webhook_id);
        if (queue === undefined) {
          const share = orgShare.get(candidate.org_id) ?? 0;
          if (picked.size < room && share < this.maxPerOrg) {
            picked.set(candidate.webhook_id, [candidate.id]);
            orgOf.set(candidate.webhook_id, candidate.org_id);
            orgShare.set(candidate.org_id, share + 1);
          }
        } else if (queue.length < CLAIM_BATCH) {
          queue.push(candidate.id);
        }
      }
      const claimed = new Set(await this.claim(trx, [...picked.values()].flat()));
      for (const [webhookId, queue] of picked)
        picked.set(
          webhookId,
          queue.filter((id) => claimed.has(id)),
        );
      return { picked, orgOf };
    });
    for (const [webhookId, mine] of queues.picked) {
      const orgId = queues.orgOf.get(webhookId);
      if (mine.length > 0 && orgId !== undefined) this.startWorker(webhookId, orgId, mine);
    }
  }

  /** Claims `ids` for as long as sending all of them, perEndpoint at a time, can take. */
  private claim(db: Db, ids: string[]): Promise<string[]> {
    const now = this.deps.now();
    const until = now.getTime() + CLAIM_MS + Math.ceil(CLAIM_BATCH / this.perEndpoint) * this.timeoutMs;
    return claimDeliveries(db, this.deps.dialect, ids, now.toISOString(), new Date(until).toISOString());
  }

  /**
   * Sends a webhook's claimed deliveries, perEndpoint at a time over its own kept-alive
   * connections (closed when the worker ends), claiming more until none is due.
   */
  private startWorker(webhookId: string, orgId: string, claimed: string[]): void {
    this.busyWebhooks.add(webhookId);
    this.busyPerOrg.set(orgId, (this.busyPerOrg.get(orgId) ?? 0) + 1);
    const agents = new WebhookAgents(this.perEndpoint);
    const work = async () => {
      let queue = claimed;
      while (queue.length > 0) {
        const waiting = [...queue];
        /** Set by the first attempt the endpoint did not answer: when the rest wait until. */
        let tripped: string | null = null;
        const lane = async () => {
          while (!this.closed && tripped === null) {
            const id = waiting.shift();
            if (id === undefined) return;
            try {
              const result = await this.attempt(id, agents);
              if (!result.answered && tripped === null) {
                tripped =
                  result.retryAt ??
                  new Date(this.deps.now().getTime() + webhookRetryDelayMs(1)).toISOString();
              }
            } catch (error) {
              this.deps.logger.error({ err: error, delivery_id: id }, "webhook attempt failed");
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(this.perEndpoint, waiting.length) }, lane));
        if (this.closed) {
          // Those not started are released at once for another instance.
          if (waiting.length > 0) await releaseDeliveries(this.deps.db, waiting);
          return;
        }
        if (tripped !== null) {
          // The endpoint is down: the rest of the batch waits for the failed one's retry, and the
          // worker ends (claiming more would only meet the same timeout again).
          if (waiting.length > 0) await postponeDeliveries(this.deps.db, waiting, tripped);
          return;
        }
        queue = await this.claimNext(webhookId);
      }
    };
    const worker = work()
      .catch((error: unknown) => {
        if (!this.closed)
          this.deps.logger.error({ err: error, webhook_id: webhookId }, "webhook worker failed");
      })
      .finally(() => {
        agents.destroy();
        this.inFlight.delete(webhookId);
        this.busyWebhooks.delete(webhookId);
        const busy = (this.busyPerOrg.get(orgId) ?? 1) - 1;
        if (busy > 0) this.busyPerOrg.set(orgId, busy);
        else this.busyPerOrg.delete(orgId);
        this.wake();
      });
    this.inFlight.set(webhookId, worker);
  }

  /** The webhook's next due deliveries, claimed for this instance; empty when none is due. */
  private async claimNext(webhookId: string): Promise<string[]> {
    return this.deps.db.transaction().execute(async (trx) => {
      const due = await dueDeliveries(trx, this.deps.now().toISOString(), CLAIM_BATCH, { only: webhookId });
      if (due.length === 0) return [];
      const claimed = new Set(
        await this.claim(
          trx,
          due.map((delivery) => delivery.id),
        ),
      );
      // Those another instance took meanwhile are its to send.
      return due.map((delivery) => delivery.id).filter((id) => claimed.has(id));
    });
  }

  private async attempt(deliveryId: string, agents: WebhookAgents): Promise<AttemptResult> {
    const found = await this.deps.db.transaction().execute((trx) => findDeliveryToSend(trx, deliveryId));
    if (!found) return { answered: true, retryAt: null };
    const startedAt = this.deps.now();
    const outcome = await this.post(found, startedAt, agents);
    if (this.abort.signal.aborted) {
      // Cut by shutdown: not the endpoint's fault; the claim is released for the next instance.
      await updateDelivery(this.deps.db, deliveryId, { claimed_until: null });
      return { answered: true, retryAt: null };
    }
    const retryAt = await this.record(found, startedAt, outcome);
    return { answered: outcome.statusCode !== null, retryAt };
  }

  private async post(found: DeliveryToSend, startedAt: Date, agents: WebhookAgents): Promise<SendOutcome> {
    const { webhook, event } = found;
    const keyring = await this.secrets.ready();
    const key = keyring.find(webhook.secret_key_id);
    const secret = key
      ? openSecret(key, webhook.secret_ciphertext, webhookSecretAssociatedData(webhook.org_id, webhook.id))
      : null;
    if (secret === null) {
      return {
        statusCode: null,
        response: null,
        error: "the webhook's signing secret cannot be decrypted with the configured keys",
        durationMs: 0,
      };
    }
    // The same JSON as the events list and stream: one presenter for all three.
    const body = JSON.stringify(presentEvent(event, found.orgKey));
    const timestamp = Math.floor(startedAt.getTime() / 1000);
    const headers = {
      "content-type": "application/json",
      "user-agent": `Capstan-Webhooks/${packageVersion()}`,
      "webhook-id": event.id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signWebhookMessage(secret, event.id, timestamp, body),
    };
    return sendWebhookRequest(webhook.url, headers, body, this.policy, {
      timeoutMs: this.timeoutMs,
      signal: this.abort.signal,
      agents,
    });
  }

  /** Records the attempt; returns when the delivery is due again, if it is. */
  private async record(found: DeliveryToSend, startedAt: Date, outcome: SendOutcome): Promise<string | null> {
    const { delivery } = found;
    const now = this.deps.now();
    const at = now.toISOString();
    const succeeded = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
    const error =
      outcome.error ?? (succeeded ? null : `the endpoint answered ${outcome.statusCode} (2xx expected)`);
    return inTransaction(this.deps, async (trx) => {
      const webhook = await lockWebhook(trx, this.deps.dialect, delivery.webhook_id);
      if (!webhook) return null;
      const attempt = delivery.attempts + 1;
      await insertAttempt(trx, {
        id: newId(),
        delivery_id: delivery.id,
        webhook_id: webhook.id,
        attempt,
        trigger: delivery.next_trigger,
        started_at: startedAt.toISOString(),
        duration_ms: outcome.durationMs,
        status_code: outcome.statusCode,
        response: outcome.response,
        error,
      });
      // A redelivery asked for while this attempt was under way: the next attempt is that one.
      const current = await findDeliveryById(trx, delivery.id);
      const redeliver = current?.next_trigger === "manual" && delivery.next_trigger !== "manual";
      const firstAttempt = delivery.first_attempt_at ?? startedAt.toISOString();
      const common = {
        attempts: attempt,
        first_attempt_at: firstAttempt,
        claimed_until: null,
        next_trigger: "automatic" as const,
        last_attempt_at: startedAt.toISOString(),
        last_status_code: outcome.statusCode,
        last_duration_ms: outcome.durationMs,
        last_error: error,
        updated_at: at,
      };
      if (redeliver) {
        await updateDelivery(trx, delivery.id, {
          ...common,
          status: "pending",
          next_attempt_at: at,
          first_attempt_at: null,
          next_trigger: "manual",
        });
      } else if (succeeded) {
        await updateDelivery(trx, delivery.id, { ...common, status: "succeeded", next_attempt_at: null });
      }
      if (succeeded) {
        if (webhook.failing_since !== null) {
          await updateWebhook(trx, webhook.org_id, webhook.id, { failing_since: null });
        }
        return redeliver ? at : null;
      }
      const next = now.getTime() + webhookRetryDelayMs(attempt);
      const giveUp = next - Date.parse(firstAttempt) > WEBHOOK_RETRY_WINDOW_MS;
      const retryAt = redeliver ? at : giveUp ? null : new Date(next).toISOString();
      if (!redeliver) {
        await updateDelivery(trx, delivery.id, {
          ...common,
          status: giveUp ? "failed" : "pending",
          next_attempt_at: retryAt,
        });
      }
      const failingSince = webhook.failing_since ?? startedAt.toISOString();
      if (
        webhook.status === "active" &&
        now.getTime() - Date.parse(failingSince) >= WEBHOOK_DISABLE_AFTER_MS
      ) {
        const reason = `no successful delivery since ${failingSince} (5 days); last error: ${error}`;
        await updateWebhook(trx, webhook.org_id, webhook.id, {
          status: "disabled",
          disabled_reason: reason.slice(0, 1000),
          failing_since: failingSince,
          updated_at: at,
        });
        await appendAudit(
          trx,
          null,
          {
            orgId: webhook.org_id,
            action: "webhook.disabled",
            targetType: "webhook",
            targetId: webhook.id,
            data: { failing_since: failingSince, last_error: error },
          },
          at,
        );
      } else if (webhook.failing_since === null) {
        await updateWebhook(trx, webhook.org_id, webhook.id, { failing_since: failingSince });
      }
      return retryAt;
    });
  }
}
