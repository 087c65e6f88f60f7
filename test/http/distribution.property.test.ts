// Property: however publishes, tag moves and yanks interleave (some concurrently), no auto-update
// binding is ever left on a version other than its track's target once the writes have settled.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { callApi } from "../helpers/api.js";
import { bind, newRuntime } from "../helpers/bindings.js";
import { capabilityBundle, publishBundle, publishOk } from "../helpers/capability-bundles.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities/prop";
const OPERATIONS = 200;

type Op =
  | { kind: "publish"; prerelease: boolean }
  | { kind: "tag"; tag: "beta" | "stable"; pick: number }
  | { kind: "yank"; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("publish" as const), prerelease: fc.boolean() }),
  fc.record({
    kind: fc.constant("tag" as const),
    tag: fc.constantFrom("beta" as const, "stable" as const),
    pick: fc.nat(),
  }),
  fc.record({ kind: fc.constant("yank" as const), pick: fc.nat() }),
);

describe("auto-update invariant under random registry changes", () => {
  let t: TestApp;
  const published: string[] = [];
  let next = 1;

  before(async () => {
    t = await buildTestApp();
    await publishOk(t, { name: "prop", version: "1.0.0" });
    published.push("1.0.0");
    for (const [key, body] of [
      ["latest-a", { auto_update: true }],
      ["latest-b", { auto_update: true }],
      ["latest-manual", {}],
    ] as const) {
      await bind(t, await newRuntime(t, key), { name: "prop", ...body });
    }
    for (const tag of ["beta", "stable"]) {
      assert.equal(
        (await callApi(t, "PUT", `${CAP}/tags/${tag}`, t.adminKey, { version: "1.0.0" })).statusCode,
        200,
      );
      await bind(t, await newRuntime(t, `${tag}-auto`), { name: "prop", version: tag, auto_update: true });
    }
  });
  after(() => t.close());

  async function apply(operation: Op): Promise<void> {
    if (operation.kind === "publish") {
      const version = `1.${next++}.0${operation.prerelease ? "-beta.1" : ""}`;
      const res = await publishBundle(t, capabilityBundle({ name: "prop", version }));
      assert.equal(res.statusCode, 201, res.body);
      // Only once it exists: a concurrent tag or yank of a version still being published is a 404.
      published.push(version);
      return;
    }
    const version = published[operation.pick % published.length];
    const res =
      operation.kind === "tag"
        ? await callApi(t, "PUT", `${CAP}/tags/${operation.tag}`, t.adminKey, { version })
        : await callApi(t, "PATCH", `${CAP}/${version}`, t.adminKey, { status: "yanked" });
    // Tagging a version yanked meanwhile is refused; anything else must succeed.
    assert.ok(res.statusCode === 200 || res.statusCode === 409, `${res.statusCode}: ${res.body}`);
  }

  async function offTarget(): Promise<string[]> {
    const db = t.deps.db;
    const capability = await db
      .selectFrom("capabilities")
      .selectAll()
      .where("name", "=", "prop")
      .executeTakeFirstOrThrow();
    const tags = await db
      .selectFrom("capability_tags")
      .selectAll()
      .where("capability_id", "=", capability.id)
      .execute();
    const target = new Map<string, string | null>([["latest", capability.latest_version_id]]);
    for (const tag of tags) target.set(tag.tag, tag.version_id);
    const bindings = await db
      .selectFrom("bindings")
      .select(["id", "track", "version_id"])
      .where("capability_id", "=", capability.id)
      .where("auto_update", "=", 1)
      .execute();
    // A removed tag (its version was yanked) leaves nothing to follow: those bindings stay put.
    return bindings
      .filter((b) => {
        const wanted = target.get(b.track ?? "");
        return wanted !== undefined && wanted !== null && wanted !== b.version_id;
      })
      .map((b) => `${b.track}: ${b.version_id}`);
  }

  test(`${OPERATIONS} operations in batches of one to four concurrent requests`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 50, maxLength: 50 }),
        async (batches) => {
          let done = 0;
          for (const batch of batches) {
            if (done >= OPERATIONS) break;
            await Promise.all(batch.map(apply));
            done += batch.length;
            assert.deepEqual(await offTarget(), [], `after ${done} operations`);
          }
        },
      ),
      // One long run; a failure is reported as found: shrinking would replay hundreds of requests
      // against an app whose state it cannot reset.
      { numRuns: 1, endOnFailure: true },
    );
  });
});
