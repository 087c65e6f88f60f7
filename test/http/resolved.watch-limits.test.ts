// The watch pool is shared by every tenant of an instance (SPEC §12): one org may hold at most its
// share of it (half by default), so an org with many runtimes cannot turn every other org's watches
// into polling. Over a cap the request is answered at once without Preference-Applied, as over the
// instance's and the runtime's caps. Small caps here, so a test can fill them.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { newRuntime, readResolved, resolvedUrl } from "../helpers/bindings.js";
import { newOrg } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

/** Polls `check` until it holds; a deadline instead of a sleep. */
async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("watch pool shared between orgs", () => {
  let t: TestApp;
  const held: Promise<LightMyRequestResponse>[] = [];

  before(async () => {
    t = await buildTestApp({ watchLimits: { maxWaiters: 4, maxPerRuntime: 16, maxPerOrg: 2 } });
    await newOrg(t, "other");
  });
  after(async () => {
    // Answers the held requests (304), as a closing server does.
    t.app.services.watch.close();
    await Promise.all(held);
    await t.close();
  });

  const watch = async (runtimeId: string, org = "default") => {
    const etag = `"${(await readResolvedIn(runtimeId, org)).runtime_digest}"`;
    return t.app.inject({
      method: "GET",
      url: resolvedUrl(runtimeId).replace("/org/default/", `/org/${org}/`),
      headers: { ...bearer(t.adminKey), "if-none-match": etag, prefer: "wait=60" },
    });
  };
  const readResolvedIn = async (runtimeId: string, org: string) => {
    if (org === "default") return readResolved(t, runtimeId);
    const res = await t.app.inject({
      method: "GET",
      url: resolvedUrl(runtimeId).replace("/org/default/", `/org/${org}/`),
      headers: bearer(t.adminKey),
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };

  test("an org over its share is answered at once; another org is still held", async () => {
    const mine = [
      await newRuntime(t, "pool-1"),
      await newRuntime(t, "pool-2"),
      await newRuntime(t, "pool-3"),
    ];
    for (const [index, runtimeId] of mine.slice(0, 2).entries()) {
      held.push(watch(runtimeId));
      await until(`watch ${index + 1} is held`, () => t.app.services.watch.size === index + 1);
    }
    // The org's third watch (on a runtime of its own that holds nothing yet) is not held.
    const over = await watch(mine[2]);
    assert.equal(over.statusCode, 304);
    assert.equal(over.headers["preference-applied"], undefined);
    assert.equal(t.app.services.watch.size, 2);

    // Another org's runtime still gets the pool's other half.
    const theirs = await newRuntime(t, "pool-other", "other");
    held.push(watch(theirs, "other"));
    await until("the other org's watch is held", () => t.app.services.watch.size === 3);
  });
});
