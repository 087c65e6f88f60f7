// The cache behind API keys and org roles on the hot path: one read for concurrent misses, a
// background refresh for entries in use, and no stale result stored across an eviction.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { backgroundRefreshesSettled, RefreshAheadCache } from "../../src/services/refresh-ahead-cache.js";

interface Pending {
  key: string;
  resolve(value: string | undefined): void;
  reject(error: Error): void;
}

/** A cache over a store whose reads the test completes by hand, with a clock it moves by hand. */
function setup() {
  let now = 0;
  const pending: Pending[] = [];
  const refreshErrors: unknown[] = [];
  const cache = new RefreshAheadCache<string>({
    load: (key) =>
      new Promise((resolve, reject) => {
        pending.push({ key, resolve, reject });
      }),
    ttlMs: 2_000,
    refreshAfterMs: 1_000,
    maxEntries: 100,
    now: () => now,
    onRefreshError: (error) => refreshErrors.push(error),
  });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return {
    cache,
    pending,
    refreshErrors,
    settle,
    advance: (ms: number) => {
      now += ms;
    },
    /** Completes the oldest read in flight with `value`. */
    async complete(value: string | undefined) {
      const read = pending.shift();
      assert.ok(read, "a read is in flight");
      read.resolve(value);
      await settle();
    },
  };
}

describe("RefreshAheadCache", () => {
  test("backgroundRefreshesSettled resolves only once the background refresh has stored its value", async () => {
    const { cache, pending, complete, advance } = setup();
    const filled = cache.get("k");
    await complete("v1");
    await filled;
    advance(1_200);
    assert.equal(cache.peek("k"), "v1"); // starts the refresh
    let settled = false;
    const waiting = backgroundRefreshesSettled().then(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, "the refresh is still in flight");
    assert.equal(pending.length, 1);
    pending[0].resolve("v2");
    await waiting;
    assert.equal(cache.peek("k"), "v2");
  });

  test("concurrent misses share one read, and the value is then served from memory", async () => {
    const { cache, pending, complete } = setup();
    assert.equal(cache.peek("k"), undefined);
    const first = cache.get("k");
    const second = cache.get("k");
    assert.equal(pending.length, 1);
    await complete("v1");
    assert.deepEqual(await Promise.all([first, second]), ["v1", "v1"]);
    assert.equal(cache.peek("k"), "v1");
    assert.equal(pending.length, 0);
  });

  test("an entry in use is read again in the background and never expires; an idle one does", async () => {
    const { cache, pending, complete, advance } = setup();
    const filled = cache.get("k");
    await complete("v1");
    await filled;
    advance(500);
    assert.equal(cache.peek("k"), "v1");
    assert.equal(pending.length, 0, "young entries are not read again");
    advance(700); // 1.2 s old: served, and one refresh starts
    assert.equal(cache.peek("k"), "v1");
    assert.equal(cache.peek("k"), "v1");
    assert.equal(pending.length, 1, "one refresh, however many uses");
    await complete("v2");
    advance(1_500); // 2.7 s after the first read, 1.5 s after the refresh began
    assert.equal(cache.peek("k"), "v2");
    advance(2_000); // nobody used it for 2 s
    assert.equal(cache.peek("k"), undefined);
  });

  test("a read that began before an eviction is returned to its caller but never stored", async () => {
    const { cache, pending, complete } = setup();
    const before = cache.get("k");
    cache.evict(() => true);
    const after = cache.get("k");
    assert.equal(pending.length, 2, "a request after the eviction does not join the older read");
    await complete("old");
    assert.equal(await before, "old");
    assert.equal(cache.peek("k"), undefined, "the pre-eviction result was not kept");
    await complete("new");
    assert.equal(await after, "new");
    assert.equal(cache.peek("k"), "new");
  });

  test("evict drops only what it selects; clear drops everything", async () => {
    const { cache, complete } = setup();
    for (const key of ["a", "b"]) {
      const read = cache.get(key);
      await complete(key.toUpperCase());
      await read;
    }
    cache.evict((value) => value === "A");
    assert.equal(cache.peek("a"), undefined);
    assert.equal(cache.peek("b"), "B");
    cache.clear();
    assert.equal(cache.peek("b"), undefined);
  });

  test("a read that finds nothing, or a refresh that fails, leaves nothing cached", async () => {
    const { cache, pending, complete, advance, refreshErrors, settle } = setup();
    const filled = cache.get("k");
    await complete("v1");
    await filled;
    advance(1_200);
    cache.peek("k");
    pending.shift()?.reject(new Error("database down"));
    await settle();
    assert.equal(refreshErrors.length, 1);
    assert.equal(cache.peek("k"), undefined, "an entry that could not be vouched for is dropped");

    const gone = cache.get("k");
    await complete(undefined);
    assert.equal(await gone, undefined);
    assert.equal(cache.peek("k"), undefined);
  });
});
