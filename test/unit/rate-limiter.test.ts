// RateLimiter in scale mode: instances report what they counted to each other over the change
// feed, so a key's limit holds across them. Two limiters here are linked by a feed that behaves as
// the PostgreSQL one does (its own listeners hear every event too; the other instance gets a JSON
// copy); test/scale/multi-instance.test.ts checks the same over PostgreSQL between two servers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FastifyReply } from "fastify";
import { RateLimiter } from "../../src/http/rate-limit.js";
import {
  type ChangeEvent,
  type ChangeFeed,
  type ChangeListener,
  LocalChangeFeed,
} from "../../src/services/change-feed.js";

class LinkedFeed implements ChangeFeed {
  readonly reachesOtherInstances = true;
  readonly listeners = new Set<ChangeListener>();
  other: LinkedFeed | null = null;

  publish(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
    const copy = JSON.parse(JSON.stringify(event)) as ChangeEvent;
    for (const listener of this.other?.listeners ?? []) listener(copy);
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * Two limiters whose feeds reach each other, past their first reports: each has heard the other,
 * so each takes half of what a bucket holds per window.
 */
function linkedLimiters(rpm: number, clock: () => number, writeRpm = 0): [RateLimiter, RateLimiter] {
  const [feedA, feedB] = [new LinkedFeed(), new LinkedFeed()];
  feedA.other = feedB;
  feedB.other = feedA;
  const limiters: [RateLimiter, RateLimiter] = [
    new RateLimiter(rpm, writeRpm, clock, feedA),
    new RateLimiter(rpm, writeRpm, clock, feedB),
  ];
  for (let round = 0; round < 2; round++) for (const limiter of limiters) limiter.reportUsage();
  return limiters;
}

/** Makes `count` reads of `keyId`, which must all be admitted. */
function spend(limiter: RateLimiter, keyId: string, count: number): void {
  for (let i = 0; i < count; i++)
    assert.equal(limiter.admitRead(keyId, {}), true, `read ${i + 1} of ${count}`);
}

/** How many reads of `keyId` are admitted before the first refusal (at most 100). */
function admittedUntilRefused(limiter: RateLimiter, keyId: string): number {
  for (let i = 0; i < 100; i++) if (!limiter.admitRead(keyId, {})) return i;
  return 100;
}

describe("RateLimiter", () => {
  test("a write refused by the write limit gives back the general token it took", () => {
    const limiter = new RateLimiter(10, 1, () => 1_000_000);
    const headers: Record<string, string> = {};
    // The headers a reply would carry; only they are read here.
    const reply = {
      header(name: string, value: string) {
        headers[name.toLowerCase()] = value;
        return this;
      },
    } as unknown as FastifyReply;
    limiter.consumeKey("key-1", true, reply);
    assert.throws(() => limiter.consumeKey("key-1", true, reply), /Rate limit exceeded/);
    assert.equal(headers["ratelimit-limit"], "1", "the 429 names the write limit");
    limiter.consumeKey("key-1", false, reply);
    assert.equal(
      headers["ratelimit-remaining"],
      "8",
      "10 - one write - one read; the refused write took nothing",
    );
  });
});

describe("RateLimiter across instances", () => {
  test("a key's reads on one instance are taken from its bucket on the other after a report", (t) => {
    const [a, b] = linkedLimiters(10, () => 1_000_000);
    t.after(() => {
      a.close();
      b.close();
    });
    spend(a, "key-1", 4);
    a.reportUsage();
    const headers: Record<string, string> = {};
    assert.equal(b.admitRead("key-1", headers), true);
    assert.equal(headers["ratelimit-remaining"], "5", "10 - 4 reads on A - 1 read on B");
    assert.equal(admittedUntilRefused(b, "key-1"), 2, "B admits its half of the 6 left until it reports");
    assert.equal(b.admitRead("key-2", {}), true, "other keys are untouched");
  });

  test("an instance does not count its own report twice", (t) => {
    const [a, b] = linkedLimiters(10, () => 1_000_000);
    t.after(() => {
      a.close();
      b.close();
    });
    spend(a, "key-1", 5);
    a.reportUsage();
    const headers: Record<string, string> = {};
    a.admitRead("key-1", headers);
    assert.equal(headers["ratelimit-remaining"], "4", "10 - 5 reads on A, each counted once");
  });

  test("reports refill like the bucket does, and never leave a bucket below empty", (t) => {
    let now = 1_000_000;
    const [a, b] = linkedLimiters(120, () => now);
    t.after(() => {
      a.close();
      b.close();
    });
    spend(a, "key-1", 60);
    spend(b, "key-1", 60);
    a.reportUsage();
    b.reportUsage();
    assert.equal(b.admitRead("key-1", {}), false, "both buckets empty once they heard");
    now += 2_000;
    a.reportUsage();
    b.reportUsage();
    assert.equal(admittedUntilRefused(b, "key-1"), 2, "half of the 4 tokens refilled, not a debt");
  });

  test("a report names its instance, and is sent with nothing counted too, so the others know it", (t) => {
    const feed = new LinkedFeed();
    const events: ChangeEvent[] = [];
    feed.subscribe((event) => events.push(event));
    const limiter = new RateLimiter(10, 0, () => 0, feed);
    t.after(() => limiter.close());
    limiter.reportUsage();
    limiter.admitRead("key-1", {});
    limiter.reportUsage();
    limiter.reportUsage();
    const from = events[0]?.kind === "rate_limit_usage" ? events[0].from : undefined;
    assert.ok(from);
    assert.deepEqual(events, [
      { kind: "rate_limit_usage", usage: [], from },
      { kind: "rate_limit_usage", usage: [["k:key-1", 1]], from },
      { kind: "rate_limit_usage", usage: [], from },
    ]);
  });

  test("reports in messages of at most 80 buckets, and never a bucket with an overlong name", (t) => {
    const feed = new LinkedFeed();
    const events: ChangeEvent[] = [];
    feed.subscribe((event) => events.push(event));
    const limiter = new RateLimiter(10, 0, () => 0, feed);
    t.after(() => limiter.close());
    for (let i = 0; i < 170; i++) limiter.admitRead(`key-${i}`, {});
    limiter.admitRead("x".repeat(100), {});
    limiter.reportUsage();
    const sizes = events.map((event) => (event.kind === "rate_limit_usage" ? event.usage.length : 0));
    assert.deepEqual(sizes, [80, 80, 10]);
    for (const event of events) assert.ok(JSON.stringify(event).length < 8_000);
  });

  test("malformed reports from elsewhere are ignored", (t) => {
    const feed = new LinkedFeed();
    const limiter = new RateLimiter(10, 0, () => 0, feed);
    t.after(() => limiter.close());
    const foreign = new LinkedFeed();
    foreign.other = feed;
    for (const usage of [[["k:key-1", -5]], [["k:key-1", 1.5]], [["k:key-1"]], [[7, 3]], "k:key-1", [null]]) {
      foreign.publish({ kind: "rate_limit_usage", usage } as unknown as ChangeEvent);
    }
    const headers: Record<string, string> = {};
    limiter.admitRead("key-1", headers);
    assert.equal(headers["ratelimit-remaining"], "9");
  });

  test("with one instance (a local feed) nothing is reported", (t) => {
    const feed = new LocalChangeFeed();
    const events: ChangeEvent[] = [];
    feed.subscribe((event) => events.push(event));
    const limiter = new RateLimiter(10, 0, () => 0, feed);
    t.after(() => limiter.close());
    limiter.admitRead("key-1", {});
    limiter.reportUsage();
    assert.deepEqual(events, []);
  });
});

describe("RateLimiter: a key's write limit across two instances (issue #12)", () => {
  const WRITE_RPM = 120;
  /** The headers a reply would carry are not read here. */
  const reply = { header: () => reply } as unknown as FastifyReply;

  /** Whether a write of `keyId` on `limiter` is admitted. */
  const write = (limiter: RateLimiter, keyId: string): boolean => {
    try {
      limiter.consumeKey(keyId, true, reply);
      return true;
    } catch {
      return false;
    }
  };

  /**
   * `count` writes spread evenly over `durationMs`, alternating between the instances, each
   * instance reporting at every whole second (`reportOffsetMs` later for B); how many were admitted.
   */
  const admittedWrites = (count: number, durationMs: number, reportOffsetMs = 0): number => {
    let now = 1_000_000;
    const [a, b] = linkedLimiters(100_000, () => now, WRITE_RPM);
    try {
      let admitted = 0;
      const start = now;
      for (let i = 0; i < count; i++) {
        const next = start + (i * durationMs) / count;
        // The reports due between the previous write and this one, in time order.
        const due: [number, RateLimiter][] = [];
        for (let at = Math.ceil(now / 1000) * 1000; at <= next; at += 1000) {
          if (at > now || (at === now && i === 0)) due.push([at, a]);
        }
        for (
          let at = Math.ceil((now - reportOffsetMs) / 1000) * 1000 + reportOffsetMs;
          at <= next;
          at += 1000
        ) {
          if (at > now) due.push([at, b]);
        }
        for (const [at, limiter] of due.sort((x, y) => x[0] - y[0])) {
          now = at;
          limiter.reportUsage();
        }
        now = next;
        if (write(i % 2 === 0 ? a : b, "key-1")) admitted++;
      }
      return admitted;
    } finally {
      a.close();
      b.close();
    }
  };

  test("a burst on both instances at once gets the bucket once, not once per instance", () => {
    // 300 writes in 1.4 s, as in the report: 120 + 1.4 s of refill at 2 a second, and at most one
    // more per instance from rounding shares up.
    const admitted = admittedWrites(300, 1_400);
    assert.ok(admitted >= 120, `the fleet admits the burst: ${admitted}`);
    assert.ok(admitted <= 120 + 3 + 2, `admitted ${admitted} of 300`);
  });

  test("sustained writes on both instances get the rate once across the fleet", () => {
    // A minute and a half of 20 writes a second: the burst plus 90 s at 2 a second, plus rounding.
    const admitted = admittedWrites(1_800, 90_000);
    assert.ok(admitted <= 120 + 180 + 4, `admitted ${admitted} of 1,800`);
  });

  test("with clocks half a second apart, a window still opens only once the other's report is in", () => {
    // Measured: 121; 175 before shares, and 153 with shares but without waiting for the others.
    const admitted = admittedWrites(300, 1_400, 500);
    assert.ok(admitted <= 120 + 3 + 2, `admitted ${admitted} of 300`);
  });
});

describe("RateLimiter: windows of shares", () => {
  test("an instance that stops reporting holds the others' next window for half an interval only", (t) => {
    let now = 1_000_000;
    const [a, b] = linkedLimiters(120, () => now);
    t.after(() => a.close());
    b.close();
    assert.equal(admittedUntilRefused(a, "key-1"), 60, "half of the bucket while B was last heard");
    now += 1_000;
    a.reportUsage();
    assert.equal(a.admitRead("key-1", {}), false, "the next window waits for B's report of the round");
    now += 500;
    assert.equal(admittedUntilRefused(a, "key-1"), 32, "then opens: half of the 63 left, rounded up");
    now += 3_000;
    a.reportUsage();
    assert.equal(admittedUntilRefused(a, "key-1"), 37, "B silent for 3 s is gone: all of the bucket");
  });
});
