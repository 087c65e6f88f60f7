// The per-runtime view cache behind the binding list and the resolved set: what it serves, what
// drops a view, and which view goes when it is full.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type RuntimeView, RuntimeViewCache } from "../../src/services/binding-cache.js";
import { LocalChangeFeed } from "../../src/services/change-feed.js";

interface View extends RuntimeView {
  runtimeId: string;
  generation: number;
}

function setup(maxEntries = 100) {
  const changes = new LocalChangeFeed();
  const cache = new RuntimeViewCache<View>(changes, maxEntries);
  let generation = 0;
  const loads: string[] = [];
  const load =
    (runtimeId: string, capabilityIds: string[] = []) =>
    async (): Promise<View> => {
      loads.push(runtimeId);
      return { runtimeId, generation: ++generation, orgId: "org", workspaceKey: "main", capabilityIds };
    };
  const fill = (runtimeId: string, capabilityIds: string[] = []) =>
    cache.get(runtimeId, load(runtimeId, capabilityIds));
  return { changes, cache, fill, loads };
}

describe("RuntimeViewCache", () => {
  test("serves a filled view from memory until its runtime or a bound capability changes", async () => {
    const { changes, cache, fill, loads } = setup();
    const first = await fill("r1", ["c1"]);
    await fill("r2", ["c2"]);
    assert.equal(cache.peek("r1"), first);
    assert.equal(await fill("r1"), first);
    assert.deepEqual(loads, ["r1", "r2"]);

    changes.publish({ kind: "capability", capabilityId: "c1" });
    assert.equal(cache.peek("r1"), undefined);
    assert.notEqual(cache.peek("r2"), undefined, "a capability r2 does not bind leaves it cached");
    changes.publish({ kind: "runtime", runtimeId: "r2" });
    assert.equal(cache.peek("r2"), undefined);
    await fill("r1", ["c1"]);
    changes.publish({ kind: "all" });
    assert.equal(cache.peek("r1"), undefined);
  });

  test("concurrent misses share one read; a read that overlaps a change is not kept", async () => {
    const { changes, cache, fill, loads } = setup();
    const [a, b] = await Promise.all([fill("r1"), fill("r1")]);
    assert.equal(a, b);
    assert.deepEqual(loads, ["r1"]);

    changes.publish({ kind: "runtime", runtimeId: "r1" });
    const overlapping = fill("r1");
    changes.publish({ kind: "runtime", runtimeId: "r1" });
    await overlapping;
    assert.equal(cache.peek("r1"), undefined, "the read may hold the state from before the change");
  });

  test("when full, a view read since the last pass outlives one that was not", async () => {
    const { cache, fill } = setup(3);
    await fill("r1");
    await fill("r2");
    await fill("r3");
    cache.peek("r1");
    await fill("r4");
    assert.notEqual(cache.peek("r1"), undefined, "r1 was read: second chance");
    assert.equal(cache.peek("r2"), undefined, "r2 is the oldest view nobody read");
    assert.notEqual(cache.peek("r3"), undefined);
    assert.notEqual(cache.peek("r4"), undefined);
  });

  test("never holds more than its size, and always holds the view it just stored", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.constantFrom("fill", "peek"), fc.integer({ min: 0, max: 9 })), {
          maxLength: 60,
        }),
        async (size, steps) => {
          const { cache, fill } = setup(size);
          const held = () => Array.from({ length: 10 }, (_, i) => `r${i}`).filter((id) => cache.peek(id));
          for (const [action, n] of steps) {
            if (action === "fill") {
              await fill(`r${n}`);
              assert.notEqual(cache.peek(`r${n}`), undefined);
            } else {
              cache.peek(`r${n}`);
            }
          }
          assert.ok(held().length <= size);
        },
      ),
    );
  });
});
