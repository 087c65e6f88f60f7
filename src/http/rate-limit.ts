// Token buckets per API key (SPEC §2.6), and per client IP for requests without a valid key, so
// failed logins are limited too. In memory per instance: a limit is a protection, not an invariant.
import type { FastifyReply } from "fastify";
import { AppError } from "./errors.js";

/** Requests without a valid key get this many per minute per IP. */
export const ANONYMOUS_RPM = 60;

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
    const now = this.clock();
    const ratePerMs = this.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, updatedAt: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.updatedAt) * ratePerMs);
    bucket.updatedAt = now;
    if (this.buckets.size > 100_000) this.buckets.clear();
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
      return { remaining: 0, resetSeconds: retryAfter, retryAfter };
    }
    bucket.tokens -= 1;
    const resetSeconds = Math.ceil((this.perMinute - bucket.tokens) / ratePerMs / 1000);
    return { remaining: Math.floor(bucket.tokens), resetSeconds, retryAfter: null };
  }
}

export class RateLimiter {
  private readonly all: TokenBuckets | null;
  private readonly writes: TokenBuckets | null;
  private readonly anonymous: TokenBuckets | null;

  constructor(rpm: number, writeRpm: number, clock: () => number = Date.now) {
    // 0 disables limiting altogether (SPEC §1), including the per-IP limit.
    this.all = rpm > 0 ? new TokenBuckets(rpm, clock) : null;
    this.writes = rpm > 0 && writeRpm > 0 ? new TokenBuckets(writeRpm, clock) : null;
    this.anonymous = rpm > 0 ? new TokenBuckets(Math.min(ANONYMOUS_RPM, rpm), clock) : null;
  }

  /** Counts a request of an authenticated key; throws 429 when over the limit. */
  consumeKey(keyId: string, mutating: boolean, reply: FastifyReply): void {
    if (!this.all) return;
    this.apply(this.all, `k:${keyId}`, reply);
    if (mutating && this.writes) this.apply(this.writes, `w:${keyId}`, reply, false);
  }

  /**
   * consumeKey for the fast lane's reads: counts the read and adds the rate-limit headers to
   * `headers`, or returns false, counting nothing, when the key is over its limit (the full
   * pipeline then answers the 429).
   */
  admitRead(keyId: string, headers: Record<string, string>): boolean {
    if (!this.all) return true;
    const result = this.all.take(`k:${keyId}`);
    if (result.retryAfter !== null) return false;
    headers["ratelimit-limit"] = String(this.all.perMinute);
    headers["ratelimit-remaining"] = String(result.remaining);
    headers["ratelimit-reset"] = String(result.resetSeconds);
    return true;
  }

  /** Counts a request that carried no valid key (including failed logins). */
  consumeAnonymous(ip: string, reply: FastifyReply): void {
    if (this.anonymous) this.apply(this.anonymous, `ip:${ip}`, reply);
  }

  private apply(buckets: TokenBuckets, key: string, reply: FastifyReply, setHeaders = true): void {
    const result = buckets.take(key);
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
}
