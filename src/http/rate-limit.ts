// Token buckets per API key (SPEC §2.6), and per client IP for requests without a valid key, so
// failed logins are limited too. Kept in memory, where counting a request costs next to nothing.
// In scale mode each instance also reports what it counted to the others once a second (over the
// change feed), and each takes the others' counts from its own buckets. Between two reports an
// instance cannot know what the others admit, so per window it takes at most its share of a bucket
// (what the bucket holds divided by the number of instances), and it opens the next window only
// once every instance's report of the round is in: a burst arriving at every instance at once gets
// the bucket once across the fleet, not once per instance (issue #12: 185 of 300 writes were
// admitted in 1.4 s on two instances, against 120 a minute).
import { randomUUID } from "node:crypto";
import type { FastifyReply } from "fastify";
import { AppError } from "../errors.js";
import type { ChangeEvent, ChangeFeed } from "../services/change-feed.js";

/** Requests without a valid key get this many per minute per IP. */
export const ANONYMOUS_RPM = 60;
/** How often an instance tells the others what it counted (scale mode), on wall-clock multiples. */
const USAGE_REPORT_INTERVAL_MS = 1_000;
/** An instance not heard from for this long has stopped; its share goes to the others. */
const INSTANCE_SILENCE_MS = 3 * USAGE_REPORT_INTERVAL_MS;
/**
 * An instance that has not yet sent this many reports may not have heard from every other one
 * (each reports once an interval): until then it counts at least two instances.
 */
const REPORTS_BEFORE_SHARING = 2;
/** Another instance's report heard this long before this one's own counts for the same round. */
const SAME_ROUND_MS = USAGE_REPORT_INTERVAL_MS / 4;
/** How long an instance waits for the others' reports of a round before it opens the next window. */
const ROUND_WAIT_MS = USAGE_REPORT_INTERVAL_MS / 2;
/** Buckets per report event: a notification carries at most 8,000 bytes, and an entry ~80 at most. */
const BUCKETS_PER_REPORT = 80;
/**
 * Longer bucket names are not reported: key ids and addresses are far shorter, and a client behind
 * `CAPSTAN_TRUST_PROXY=true` can name any "address" (it can pick a fresh bucket anyway).
 */
const MAX_REPORTED_BUCKET_LENGTH = 64;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly perMinute: number,
    private readonly clock: () => number,
  ) {}

  /** Takes one token; returns what is left, or the seconds to wait when there is none. */
  take(key: string): { remaining: number; resetSeconds: number; retryAfter: number | null } {
    const ratePerMs = this.perMinute / 60_000;
    const bucket = this.refilled(key);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
      return { remaining: 0, resetSeconds: retryAfter, retryAfter };
    }
    bucket.tokens -= 1;
    const resetSeconds = Math.ceil((this.perMinute - bucket.tokens) / ratePerMs / 1000);
    return { remaining: Math.floor(bucket.tokens), resetSeconds, retryAfter: null };
  }

  /** The tokens `key` holds now (full when new). */
  level(key: string): number {
    return this.refilled(key).tokens;
  }

  /** Returns the token `take` took for a request that was refused after all. */
  giveBack(key: string): void {
    const bucket = this.refilled(key);
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + 1);
  }

  /** Removes tokens other instances spent; never below empty (their overshoot is not owed). */
  deduct(key: string, count: number): void {
    const bucket = this.refilled(key);
    bucket.tokens = Math.max(0, bucket.tokens - count);
  }

  /** The bucket of `key` (full when new), topped up for the time since it was last used. */
  private refilled(key: string): Bucket {
    const now = this.clock();
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, updatedAt: now };
    bucket.tokens = Math.min(
      this.perMinute,
      bucket.tokens + ((now - bucket.updatedAt) * this.perMinute) / 60_000,
    );
    bucket.updatedAt = now;
    if (this.buckets.size > 100_000) this.buckets.clear();
    this.buckets.set(key, bucket);
    return bucket;
  }
}

export class RateLimiter {
  private readonly all: TokenBuckets | null;
  private readonly writes: TokenBuckets | null;
  private readonly anonymous: TokenBuckets | null;
  /** Scale mode: the feed that reaches the other instances; null with one instance. */
  private readonly peers: ChangeFeed | null = null;
  /** Scale mode: tokens taken here since the last report to the other instances, by bucket. */
  private readonly unreported = new Map<string, number>();
  /** The reports this instance sent, which its own feed also hands back to it. */
  private readonly ownReports = new WeakSet<ChangeEvent>();
  private stopSharing: (() => void) | null = null;
  /** Scale mode: names this instance in its reports, so the others can count the instances. */
  private readonly instanceId = randomUUID();
  /** Scale mode: when each other instance was last heard from. */
  private readonly instancesHeard = new Map<string, number>();
  /** Scale mode: how many tokens of each bucket this instance may take in the current window. */
  private readonly shares = new Map<string, number>();
  /** Scale mode: how many it took in the current window. */
  private readonly taken = new Map<string, number>();
  /** Scale mode: since its last report, the instances whose report of the same round is awaited. */
  private awaited = new Set<string>();
  private awaitingSince: number | null = null;
  private reportsSent = 0;

  constructor(
    rpm: number,
    writeRpm: number,
    private readonly clock: () => number = Date.now,
    peers?: ChangeFeed,
  ) {
    // 0 disables limiting altogether (SPEC §1), including the per-IP limit.
    this.all = rpm > 0 ? new TokenBuckets(rpm, clock) : null;
    this.writes = rpm > 0 && writeRpm > 0 ? new TokenBuckets(writeRpm, clock) : null;
    this.anonymous = rpm > 0 ? new TokenBuckets(Math.min(ANONYMOUS_RPM, rpm), clock) : null;
    if (peers?.reachesOtherInstances && this.all) {
      this.peers = peers;
      this.stopSharing = this.shareUsage(peers);
    }
  }

  /** Stops reporting to and hearing from the other instances. */
  close(): void {
    this.stopSharing?.();
    this.stopSharing = null;
  }

  /** Counts a request of an authenticated key; throws 429 when over the limit. */
  consumeKey(keyId: string, mutating: boolean, reply: FastifyReply): void {
    if (!this.all) return;
    const bucket = `k:${keyId}`;
    this.apply(this.all, bucket, reply);
    if (!mutating || !this.writes) return;
    try {
      this.apply(this.writes, `w:${keyId}`, reply, false);
    } catch (limited) {
      // A refused request costs nothing: the general token it took is given back.
      this.all.giveBack(bucket);
      this.uncounted(bucket);
      throw limited;
    }
  }

  /**
   * consumeKey for the fast lane's reads: counts the read and adds the rate-limit headers to
   * `headers`, or returns false, counting nothing, when the key is over its limit (the full
   * pipeline then answers the 429).
   */
  admitRead(keyId: string, headers: Record<string, string>): boolean {
    if (!this.all) return true;
    const bucket = `k:${keyId}`;
    const result = this.take(this.all, bucket);
    if (result.retryAfter !== null) return false;
    headers["ratelimit-limit"] = String(this.all.perMinute);
    headers["ratelimit-remaining"] = String(result.remaining);
    headers["ratelimit-reset"] = String(result.resetSeconds);
    return true;
  }

  /** Counts a request that carried no valid key (including failed logins). */
  consumeAnonymous(ip: string, reply: FastifyReply): void {
    // An address is at most 45 characters; behind CAPSTAN_TRUST_PROXY=true the client writes its own
    // "address", which must not make the buckets hold kilobytes each.
    if (this.anonymous) this.apply(this.anonymous, `ip:${ip.slice(0, 60)}`, reply);
  }

  private apply(buckets: TokenBuckets, key: string, reply: FastifyReply, setHeaders = true): void {
    const result = this.take(buckets, key);
    if (setHeaders || result.retryAfter !== null) {
      reply.header("RateLimit-Limit", String(buckets.perMinute));
      reply.header("RateLimit-Remaining", String(result.remaining));
      reply.header("RateLimit-Reset", String(result.resetSeconds));
    }
    if (result.retryAfter !== null) {
      throw new AppError("usage_limit_exceeded_error", "Rate limit exceeded; retry later", undefined, {
        headers: { "Retry-After": String(result.retryAfter) },
      });
    }
  }

  /** Takes a token of `key`, within this instance's share of it in scale mode, and counts it. */
  private take(buckets: TokenBuckets, key: string): ReturnType<TokenBuckets["take"]> {
    if (this.peers) {
      // An instance that is late or gone does not hold the others' next window for long.
      if (this.awaitingSince !== null && this.clock() - this.awaitingSince >= ROUND_WAIT_MS)
        this.openWindow();
      let share = this.shares.get(key);
      if (share === undefined) {
        share = this.shareOf(buckets, key);
        this.shares.set(key, share);
      }
      // Refused until the next window, about an interval away; the bucket itself is untouched.
      if ((this.taken.get(key) ?? 0) >= share) return { remaining: 0, resetSeconds: 1, retryAfter: 1 };
    }
    const result = buckets.take(key);
    if (result.retryAfter === null) {
      this.counted(key);
      if (this.peers) this.taken.set(key, (this.taken.get(key) ?? 0) + 1);
    }
    return result;
  }

  /**
   * A new window of shares, once this instance has reported and heard every other one's report of
   * the same round: every share is then worked out from what all instances took before.
   */
  private openWindow(): void {
    this.shares.clear();
    this.taken.clear();
    this.awaited.clear();
    this.awaitingSince = null;
  }

  /**
   * What this instance may take of `key` in this window: its equal part of what the bucket
   * holds, rounded up (so each instance can always take the last token; the fleet overshoots by at
   * most one per instance). Every instance works from the same level once the reports are in, so
   * together they take at most what the bucket holds.
   */
  private shareOf(buckets: TokenBuckets, key: string): number {
    // Still waiting for some of the others' counts: one second's refill, all the fleet can lose by it.
    if (this.awaitingSince !== null) {
      return Math.max(1, Math.ceil((buckets.perMinute * USAGE_REPORT_INTERVAL_MS) / 60_000));
    }
    const now = this.clock();
    let instances = 1;
    for (const [instance, heardAt] of this.instancesHeard) {
      if (now - heardAt <= INSTANCE_SILENCE_MS) instances++;
      else this.instancesHeard.delete(instance);
    }
    // Just started: the others may not have been heard yet. Most restarts are a rolling deploy of a
    // small fleet, where two is the truth; a bigger fleet overshoots by a little for two seconds.
    if (this.reportsSent < REPORTS_BEFORE_SHARING) instances = Math.max(2, instances);
    return Math.ceil(Math.max(0, buckets.level(key)) / instances);
  }

  /** A token taken here, for the next report to the other instances. */
  private counted(bucket: string): void {
    if (this.peers) this.unreported.set(bucket, (this.unreported.get(bucket) ?? 0) + 1);
  }

  /** A token given back before it was reported. */
  private uncounted(bucket: string): void {
    const taken = this.taken.get(bucket);
    if (taken !== undefined) this.taken.set(bucket, Math.max(0, taken - 1));
    const count = this.unreported.get(bucket);
    if (count === undefined) return;
    if (count > 1) this.unreported.set(bucket, count - 1);
    else this.unreported.delete(bucket);
  }

  /**
   * Sends the counts since the last report to the other instances (each interval, in scale mode),
   * and starts a new window of shares. A report is sent even when nothing was counted: it tells the
   * others this instance is there, so they know how many instances share each bucket.
   */
  reportUsage(): void {
    const peers = this.peers;
    if (!peers) return;
    const usage = [...this.unreported].filter(([bucket]) => bucket.length <= MAX_REPORTED_BUCKET_LENGTH);
    this.unreported.clear();
    this.reportsSent++;
    // The next window opens once the others' reports of this round are in too.
    const now = this.clock();
    this.awaited = new Set();
    for (const [instance, heardAt] of this.instancesHeard) {
      if (now - heardAt > INSTANCE_SILENCE_MS) this.instancesHeard.delete(instance);
      else if (now - heardAt > SAME_ROUND_MS) this.awaited.add(instance);
    }
    if (this.awaited.size === 0) this.openWindow();
    else this.awaitingSince = now;
    let start = 0;
    do {
      const event: ChangeEvent = {
        kind: "rate_limit_usage",
        usage: usage.slice(start, start + BUCKETS_PER_REPORT),
      };
      start += BUCKETS_PER_REPORT;
      if (start >= usage.length) event.from = this.instanceId;
      this.ownReports.add(event);
      peers.publish(event);
    } while (start < usage.length);
  }

  /** Reports this instance's counts every interval, and takes the other instances' from its buckets. */
  private shareUsage(peers: ChangeFeed): () => void {
    // On multiples of the interval by the wall clock, so every instance's windows start together and
    // each begins its next window having just heard the others' last one.
    let report: NodeJS.Timeout;
    const schedule = () => {
      report = setTimeout(
        () => {
          this.reportUsage();
          schedule();
        },
        USAGE_REPORT_INTERVAL_MS - (Date.now() % USAGE_REPORT_INTERVAL_MS),
      );
      report.unref();
    };
    schedule();
    const unsubscribe = peers.subscribe((event) => {
      if (event.kind !== "rate_limit_usage" || this.ownReports.has(event) || !Array.isArray(event.usage))
        return;
      for (const entry of event.usage) {
        if (!Array.isArray(entry)) continue;
        const [bucket, count] = entry;
        if (typeof bucket !== "string" || !Number.isSafeInteger(count) || count <= 0) continue;
        this.bucketsOf(bucket)?.deduct(bucket, count);
      }
      // Only the last message of a report names its sender: the whole report has been taken then.
      if (typeof event.from === "string" && event.from.length <= MAX_REPORTED_BUCKET_LENGTH) {
        this.instancesHeard.set(event.from, this.clock());
        if (this.awaited.delete(event.from) && this.awaited.size === 0) this.openWindow();
      }
    });
    return () => {
      clearTimeout(report);
      unsubscribe();
    };
  }

  /** The buckets a bucket key belongs to, by the prefix its counting method gave it. */
  private bucketsOf(bucket: string): TokenBuckets | null {
    if (bucket.startsWith("k:")) return this.all;
    if (bucket.startsWith("w:")) return this.writes;
    if (bucket.startsWith("ip:")) return this.anonymous;
    return null;
  }
}
