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

function linkedLimiters(rpm: number, clock: () => number): [RateLimiter, RateLimiter] {
  const [feedA, feedB] = [new LinkedFeed(), new LinkedFeed()];
  feedA.other = feedB;
  feedB.other = feedA;
  return [new RateLimiter(rpm, 0, clock, feedA), new RateLimiter(rpm, 0, clock, feedB)];
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
    spend(a, "key-1", 6);
    a.reportUsage();
    const headers: Record<string, string> = {};
    assert.equal(b.admitRead("key-1", headers), true);
    assert.equal(headers["ratelimit-remaining"], "3", "10 - 6 reads on A - 1 read on B");
    assert.equal(admittedUntilRefused(b, "key-1"), 3, "B admits what is left of the key's 10");
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
    const [a, b] = linkedLimiters(60, () => now);
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
    assert.equal(admittedUntilRefused(b, "key-1"), 2, "one token per second again, not a debt of 60");
  });

  test("a report sent before any count, or with nothing new, publishes nothing", (t) => {
    const feed = new LinkedFeed();
    const events: ChangeEvent[] = [];
    feed.subscribe((event) => events.push(event));
    const limiter = new RateLimiter(10, 0, () => 0, feed);
    t.after(() => limiter.close());
    limiter.reportUsage();
    limiter.admitRead("key-1", {});
    limiter.reportUsage();
    limiter.reportUsage();
    assert.deepEqual(events, [{ kind: "rate_limit_usage", usage: [["k:key-1", 1]] }]);
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
