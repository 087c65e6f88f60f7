// SPEC §12 watch: GET RT/capabilities/resolved with If-None-Match and `Prefer: wait=N` is held until
// the digest differs (200) or the wait ends (304), woken by the change feed without querying.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { seedCapability } from "../../scripts/seed.js";
import { preferredWaitSeconds } from "../../src/services/resolved-watch.js";
import { callApi } from "../helpers/api.js";
import {
  bind,
  mintRuntimeToken,
  newRuntime,
  patchBinding,
  readResolved,
  resolvedUrl,
} from "../helpers/bindings.js";
import { newUserKey } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

/** Polls `check` until it holds; a deadline instead of a sleep. */
async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("GET RT/capabilities/resolved with Prefer: wait", () => {
  let t: TestApp;
  let runtimeId: string;
  let bindingId: string;

  const watch = (etag: string, wait: string, key = t.adminKey, id = runtimeId) =>
    t.app.inject({
      method: "GET",
      url: resolvedUrl(id),
      headers: { ...bearer(key), "if-none-match": etag, prefer: wait },
    });
  const etagOf = async (id = runtimeId) => `"${(await readResolved(t, id)).runtime_digest}"`;

  before(async () => {
    t = await buildTestApp();
    await seedCapability(t.deps, {
      name: "alpha",
      versions: [{ version: "1.0.0", flags: { verbose: {} } }],
    });
    runtimeId = await newRuntime(t, "watched");
    bindingId = (await bind(t, runtimeId, { name: "alpha" })).id;
  });
  after(() => t.close());

  test("holds the request until a change, then answers 200 with the new set and Preference-Applied", async () => {
    const etag = await etagOf();
    const held = watch(etag, "wait=60");
    await until("the watch is held", () => t.app.services.watch.size === 1);
    await patchBinding(t, runtimeId, bindingId, { flags: { verbose: true } });
    const res = await held;
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers["preference-applied"], "wait=60");
    assert.notEqual(res.headers.etag, etag);
    assert.deepEqual(res.json().capabilities[0].effective_flags, { verbose: true });
    assert.equal(t.app.services.watch.size, 0);
  });

  test("answers 304 with Preference-Applied when the wait ends without a change", async () => {
    const etag = await etagOf();
    const res = await watch(etag, "wait=1");
    assert.equal(res.statusCode, 304);
    assert.equal(res.body, "");
    assert.equal(res.headers["preference-applied"], "wait=1");
    assert.equal(res.headers.etag, etag);
    assert.equal(t.app.services.watch.size, 0);
  });

  test("answers 200 at once, without holding, when the digest already differs", async () => {
    const res = await watch('"sha256:an-older-digest"', "wait=60");
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["preference-applied"], "wait=60");
    assert.equal(res.headers.etag, await etagOf());
  });

  test("keeps holding through a change that leaves the digest as it was", async () => {
    const other = await newRuntime(t, "watched-other");
    await bind(t, other, { name: "alpha" });
    const etag = await etagOf();
    let answered = false;
    const held = watch(etag, "wait=60").then((res) => {
      answered = true;
      return res;
    });
    await until("the watch is held", () => t.app.services.watch.size === 1);
    // A change to the same runtime that moves nothing the digest covers: a rename.
    const renamed = await callApi(
      t,
      "PATCH",
      `/api/v1/org/default/ws/main/runtimes/${runtimeId}`,
      t.adminKey,
      {
        name: "Renamed",
      },
    );
    assert.equal(renamed.statusCode, 200);
    // Another runtime's change does not concern it either.
    const otherBinding = (await readResolved(t, other)).capabilities[0];
    assert.ok(otherBinding);
    await until("the rename's wake was handled", () => t.app.services.watch.size === 1);
    assert.equal(answered, false);
    await patchBinding(t, runtimeId, bindingId, { flags: { verbose: null } });
    assert.equal((await held).statusCode, 200);
  });

  test("lowers a wait over 60 s to 60, and ignores a malformed or zero wait (no Preference-Applied)", async () => {
    assert.equal(preferredWaitSeconds("wait=600"), 60);
    assert.equal(preferredWaitSeconds("respond-async, wait=5"), 5);
    assert.equal(preferredWaitSeconds("wait=0"), undefined);
    assert.equal(preferredWaitSeconds("wait=soon"), undefined);
    assert.equal(preferredWaitSeconds("handling=lenient"), undefined);
    const etag = await etagOf();
    for (const prefer of ["wait=0", "wait=-1", "wait=abc"]) {
      const res = await watch(etag, prefer);
      assert.equal(res.statusCode, 304, prefer);
      assert.equal(res.headers["preference-applied"], undefined, prefer);
    }
  });

  test("a runtime token watches its own runtime, and another runtime's token is refused at once", async () => {
    const token = await mintRuntimeToken(t, runtimeId);
    const etag = await etagOf();
    const held = watch(etag, "wait=60", token);
    await until("the watch is held", () => t.app.services.watch.size === 1);
    await patchBinding(t, runtimeId, bindingId, { enabled: false });
    const res = await held;
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().capabilities, []);
    await patchBinding(t, runtimeId, bindingId, { enabled: true });

    const other = await newRuntime(t, "watched-foreign");
    const foreign = await mintRuntimeToken(t, other);
    const refused = await watch(etag, "wait=60", foreign);
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().type, "forbidden_error");
    assert.equal(t.app.services.watch.size, 0);
  });

  test("a member removed while waiting gets 404 instead of the changed set", async () => {
    const reader = await newUserKey(t, { org: "default", role: "reader" });
    const etag = await etagOf();
    const held = watch(etag, "wait=60", reader.key);
    await until("the watch is held", () => t.app.services.watch.size === 1);
    const removed = await callApi(t, "DELETE", `/api/v1/org/default/members/${reader.userId}`, t.adminKey);
    assert.equal(removed.statusCode, 204, removed.body);
    await patchBinding(t, runtimeId, bindingId, { flags: { verbose: false } });
    const res = await held;
    assert.equal(res.statusCode, 404, res.body);
    await patchBinding(t, runtimeId, bindingId, { flags: { verbose: null } });
  });

  test("lets a held request go when its client disconnects", async () => {
    await t.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = t.app.server.address() as AddressInfo;
    const etag = await etagOf();
    const req = httpRequest({
      host: "127.0.0.1",
      port,
      path: resolvedUrl(runtimeId),
      headers: { ...bearer(t.adminKey), "if-none-match": etag, prefer: "wait=60" },
    });
    req.on("error", () => {});
    req.end();
    await until("the watch is held", () => t.app.services.watch.size === 1);
    req.destroy();
    await until("the watcher is released", () => t.app.services.watch.size === 0);
  });
});
