// SPEC §12 across instances: a watch held by one instance is woken by a change written through
// another, over PostgreSQL LISTEN/NOTIFY (SPEC §8). Two apps in this process, each with its own
// change feed connection, on one database. Runs in the PostgreSQL pass of the suite only.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { seedCapability } from "../../scripts/seed.js";
import { type App, buildApp } from "../../src/app.js";
import { createDeps, type DepsHandle } from "../../src/composition.js";
import { bind, newRuntime, readResolved, resolvedUrl } from "../helpers/bindings.js";
import { testDialect } from "../helpers/database.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("watching the resolved set across two instances", { skip: testDialect() !== "postgres" }, () => {
  let t: TestApp;
  const instances: { app: App; handle: DepsHandle }[] = [];
  let runtimeId: string;
  let bindingId: string;

  before(async () => {
    // Creates, migrates and bootstraps the database; the two instances below share it.
    t = await buildTestApp();
    await seedCapability(t.deps, { name: "alpha", versions: [{ version: "1.0.0", flags: { verbose: {} } }] });
    runtimeId = await newRuntime(t, "watched-across");
    bindingId = (await bind(t, runtimeId, { name: "alpha" })).id;
    for (let i = 0; i < 2; i++) {
      const handle = await createDeps(t.config, { logger: pino({ level: "silent" }), sharedChanges: true });
      const app = await buildApp(handle.deps, { consoleDir: null });
      await app.ready();
      instances.push({ app, handle });
    }
  });
  after(async () => {
    for (const { app, handle } of instances) {
      await app.close();
      await handle.close();
    }
    await t.close();
  });

  test("a change written on one instance answers the watch held by the other", async () => {
    const [a, b] = instances;
    const etag = `"${(await readResolved(t, runtimeId)).runtime_digest}"`;
    const held = a.app.inject({
      method: "GET",
      url: resolvedUrl(runtimeId),
      headers: { ...bearer(t.adminKey), "if-none-match": etag, prefer: "wait=60" },
    });
    await until("the watch is held on instance A", () => a.app.services.watch.size === 1);
    const patched = await b.app.inject({
      method: "PATCH",
      url: `/api/v1/org/default/ws/main/runtimes/${runtimeId}/capabilities/${bindingId}`,
      headers: bearer(t.adminKey),
      payload: { flags: { verbose: true } },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const res = await held;
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers["preference-applied"], "wait=60");
    assert.deepEqual(res.json().capabilities[0].effective_flags, { verbose: true });
    assert.equal(a.app.services.watch.size, 0);
  });

  test("a closing instance answers its held watches at once", async () => {
    const handle = await createDeps(t.config, { logger: pino({ level: "silent" }), sharedChanges: true });
    const app = await buildApp(handle.deps, { consoleDir: null });
    await app.ready();
    // Read through this instance: the test app's own cache hears no other instance.
    const current = await app.inject({
      method: "GET",
      url: resolvedUrl(runtimeId),
      headers: bearer(t.adminKey),
    });
    const etag = current.headers.etag as string;
    const held = app.inject({
      method: "GET",
      url: resolvedUrl(runtimeId),
      headers: { ...bearer(t.adminKey), "if-none-match": etag, prefer: "wait=60" },
    });
    await until("the watch is held", () => app.services.watch.size === 1);
    await app.close();
    await handle.close();
    assert.equal((await held).statusCode, 304);
  });
});
