// Watching the resolved set (SPEC §12): `GET RT/capabilities/resolved` with If-None-Match and
// `Prefer: wait=N` is held until the set's digest differs or the wait ends. A held request costs
// no query: it sleeps in an index by runtime and is woken by the change feed, which every writer
// publishes to after commit and which scale mode relays between instances. A woken request asks
// the ResolvedService again, exactly as a new request would (same access checks, same cache), and
// either answers or sleeps again for what is left of its wait.
//
// Memory: one small record and one timer per held request, capped per instance, per org and per
// runtime; a request over any cap is answered at once, as if the server ignored the preference, and
// its client falls back to polling. The per-org cap keeps one tenant (many runtimes, 16 watches
// each) from filling the instance's pool and turning every other tenant's watches into polling.
import type { ChangeEvent, ChangeFeed } from "./change-feed.js";
import type { Actor } from "./deps.js";
import type { ResolvedResponse, ResolvedService } from "./resolved-service.js";
import type { RuntimePath } from "./runtime-path.js";

/** What `Prefer: wait=N` may ask for, in seconds (larger values are lowered to this). */
export const MAX_WAIT_SECONDS = 60;

export interface WatchLimits {
  /** Held requests per instance. */
  maxWaiters: number;
  /** Held requests per runtime: a runtime needs one; a few more allow for a restart's overlap. */
  maxPerRuntime: number;
  /** Held requests per org (the runtime's): half the pool, so no tenant can take all of it. */
  maxPerOrg: number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimits = { maxWaiters: 20_000, maxPerRuntime: 16, maxPerOrg: 10_000 };

/** Why a sleeping request woke: something it shows may have changed, or it must answer now. */
type Wake = "change" | "timeout" | "release";

interface Waiter {
  runtimeId: string;
  orgId: string;
  apiKeyId: string;
  wake(reason: Wake): void;
}

export interface WatchAnswer {
  response: ResolvedResponse;
  /** Whether the wait was honoured (→ `Preference-Applied`); false when a cap turned it down. */
  applied: boolean;
}

export class ResolvedWatch {
  private readonly byRuntime = new Map<string, Set<Waiter>>();
  private readonly perOrg = new Map<string, number>();
  private count = 0;
  /** Moves on every event that may change a resolved set: a read that spans one must look again. */
  private sequence = 0;
  private closing = false;

  constructor(
    private readonly resolved: ResolvedService,
    changes: ChangeFeed,
    private readonly limits: WatchLimits = DEFAULT_WATCH_LIMITS,
  ) {
    changes.subscribe((event) => this.onChange(event));
  }

  /** Requests held now (metrics, tests, the bench). */
  get size(): number {
    return this.count;
  }

  /**
   * The resolved set once its digest differs from `ifNoneMatch` (200), or the 304 when `waitMs`
   * ends first, the client goes away (`signal`), its key changes, or the server closes. Errors
   * (access lost while waiting) are thrown as from `ResolvedService.resolve`.
   */
  async watch(
    actor: Actor,
    path: RuntimePath,
    ifNoneMatch: string,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<WatchAnswer> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const before = this.sequence;
      const response = await this.resolved.resolve(actor, path, ifNoneMatch);
      if (response.body !== null) return { response, applied: true };
      // A change landed while the set was being read: that read may predate it.
      if (this.sequence !== before) continue;
      const remaining = deadline - performance.now();
      if (remaining <= 0 || signal.aborted || this.closing) return { response, applied: true };
      // The org as the resolved set's view records it (the read above cached it); the path's key
      // only if the view is already gone again.
      const orgId = this.resolved.orgOf(path.runtimeId) ?? `key:${path.org.toLowerCase()}`;
      const wake = this.sleep(path.runtimeId, orgId, actor.apiKeyId, remaining, signal);
      if (wake === null) return { response, applied: false };
      if ((await wake) !== "change") return { response, applied: true };
    }
  }

  /** Answers every held request now (the server is closing: it must not wait a minute for them). */
  close(): void {
    this.closing = true;
    this.wakeAll("release");
  }

  /** Resolves on the first of: a change for the runtime, the timeout, the abort; null when full. */
  private sleep(
    runtimeId: string,
    orgId: string,
    apiKeyId: string,
    ms: number,
    signal: AbortSignal,
  ): Promise<Wake> | null {
    let waiters = this.byRuntime.get(runtimeId);
    const inOrg = this.perOrg.get(orgId) ?? 0;
    if (
      this.count >= this.limits.maxWaiters ||
      inOrg >= this.limits.maxPerOrg ||
      (waiters?.size ?? 0) >= this.limits.maxPerRuntime
    )
      return null;
    if (!waiters) {
      waiters = new Set();
      this.byRuntime.set(runtimeId, waiters);
    }
    const held = waiters;
    return new Promise<Wake>((resolve) => {
      const waiter: Waiter = {
        runtimeId,
        orgId,
        apiKeyId,
        wake: (reason) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          if (held.delete(waiter)) {
            this.count -= 1;
            const left = (this.perOrg.get(orgId) ?? 1) - 1;
            if (left === 0) this.perOrg.delete(orgId);
            else this.perOrg.set(orgId, left);
            if (held.size === 0 && this.byRuntime.get(runtimeId) === held) this.byRuntime.delete(runtimeId);
          }
          resolve(reason);
        },
      };
      const onAbort = () => waiter.wake("release");
      const timer = setTimeout(() => waiter.wake("timeout"), ms);
      signal.addEventListener("abort", onAbort, { once: true });
      held.add(waiter);
      this.count += 1;
      this.perOrg.set(orgId, inOrg + 1);
    });
  }

  private onChange(event: ChangeEvent): void {
    switch (event.kind) {
      case "rate_limit_usage":
      case "events":
        // The event log grew: the change that grew it publishes its own event (runtime, capability…).
        return;
      case "runtime":
        this.sequence += 1;
        this.wakeRuntime(event.runtimeId);
        return;
      case "capability":
        this.sequence += 1;
        this.wakeBinders(event.capabilityId);
        return;
      case "org_trust":
        this.sequence += 1;
        this.wakeTrusting(event.orgId);
        return;
      case "api_key":
        // The key may be revoked: its held requests answer 304 now and the next one is authenticated
        // again, so a revoked key is never sent a set that changes after its revocation.
        this.sequence += 1;
        this.wakeKey(event.keyId);
        return;
      default:
        // `org` (a role may be gone: the recheck asks the database), `all` (missed notifications), and
        // any kind added later: waking too many costs a cache lookup each, missing one costs a minute.
        this.sequence += 1;
        this.wakeAll("change");
    }
  }

  private wakeRuntime(runtimeId: string): void {
    const waiters = this.byRuntime.get(runtimeId);
    if (waiters) for (const waiter of [...waiters]) waiter.wake("change");
  }

  /** The runtimes whose cached set shows the capability, and those whose set is not cached. */
  private wakeBinders(capabilityId: string): void {
    for (const runtimeId of [...this.byRuntime.keys()]) {
      if (this.resolved.showsCapability(runtimeId, capabilityId) !== false) this.wakeRuntime(runtimeId);
    }
  }

  /** The runtimes whose cached set carries the org's keys, and those whose set is not cached. */
  private wakeTrusting(orgId: string): void {
    for (const runtimeId of [...this.byRuntime.keys()]) {
      if (this.resolved.showsTrustOf(runtimeId, orgId) !== false) this.wakeRuntime(runtimeId);
    }
  }

  private wakeKey(apiKeyId: string): void {
    for (const waiters of [...this.byRuntime.values()]) {
      for (const waiter of [...waiters]) if (waiter.apiKeyId === apiKeyId) waiter.wake("release");
    }
  }

  private wakeAll(reason: Wake): void {
    for (const waiters of [...this.byRuntime.values()]) {
      for (const waiter of [...waiters]) waiter.wake(reason);
    }
  }
}

/**
 * The seconds of `Prefer: wait=N` (RFC 7240), lowered to MAX_WAIT_SECONDS; undefined when the
 * header asks for no wait or asks in a form this server does not take (then it is ignored, as the
 * RFC asks of a preference a server does not honour, and no Preference-Applied is sent).
 */
export function preferredWaitSeconds(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(",") : header;
  // A header is at most a few KB (Node's header limit), so splitting it is cheap.
  for (const preference of text.split(",")) {
    const match = /^\s*wait\s*=\s*"?(\d{1,6})"?\s*(?:;.*)?$/i.exec(preference);
    if (!match) continue;
    const seconds = Number(match[1]);
    return seconds >= 1 ? Math.min(seconds, MAX_WAIT_SECONDS) : undefined;
  }
  return undefined;
}
