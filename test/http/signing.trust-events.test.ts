// A signing key added or revoked (SPEC §14) changes the resolved sets that carry its org's keys —
// those of runtimes binding one of the org's capabilities — and nothing else: other runtimes' cached
// sets stay cached and their held watches sleep on, other tenants' role and key caches stay warm.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { ChangeEvent } from "../../src/services/change-feed.js";
import { callApi } from "../helpers/api.js";
import { bind, newRuntime, resolvedUrl } from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newOrg } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const publicPem = () =>
  String(generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }));

describe("signing-key changes reach only the sets that carry the org's keys", () => {
  let t: TestApp;
  let vendorId: string;
  let usesVendor: string;
  let ownOnly: string;
  const events: ChangeEvent[] = [];

  before(async () => {
    t = await buildTestApp();
    vendorId = (await newOrg(t, "vendor")).id;
    await publishOk(t, { name: "lib", version: "1.0.0" }, { org: "vendor", query: "public=true" });
    await publishOk(t, { name: "own", version: "1.0.0" });
    usesVendor = await newRuntime(t, "uses-vendor");
    await bind(t, usesVendor, { name: "vendor/lib" });
    ownOnly = await newRuntime(t, "own-only");
    await bind(t, ownOnly, { name: "own" });
    // Cache events only: the event log's own notices ({kind: "events"}) invalidate nothing.
    t.deps.changes.subscribe((event) => {
      if (event.kind !== "events") events.push(event);
    });
  });
  after(() => t.close());

  const etagOf = async (runtimeId: string) => {
    const res = await callApi(t, "GET", resolvedUrl(runtimeId), t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    return res.headers.etag as string;
  };
  const cached = (runtimeId: string) => t.app.services.resolved.orgOf(runtimeId) !== undefined;

  test("adding a key: one org_trust event; the binding runtime's ETag moves, the other stays cached", async () => {
    const before = { uses: await etagOf(usesVendor), own: await etagOf(ownOnly) };
    assert.ok(cached(usesVendor) && cached(ownOnly));
    // A watch on the runtime that does not carry the vendor's keys keeps sleeping.
    const held = t.app.inject({
      method: "GET",
      url: resolvedUrl(ownOnly),
      headers: { ...bearer(t.adminKey), "if-none-match": before.own, prefer: "wait=60" },
    });
    const deadline = Date.now() + 10_000;
    while (t.app.services.watch.size !== 1) {
      assert.ok(Date.now() < deadline, "the watch is held");
      await new Promise((resolve) => setImmediate(resolve));
    }

    events.length = 0;
    const res = await callApi(t, "POST", "/api/v1/org/vendor/signing-keys", t.adminKey, {
      name: "release",
      public_key: publicPem(),
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(events, [{ kind: "org_trust", orgId: vendorId }]);
    assert.equal(cached(usesVendor), false);
    assert.equal(cached(ownOnly), true);
    assert.equal(t.app.services.watch.size, 1);
    assert.notEqual(await etagOf(usesVendor), before.uses);
    assert.equal(await etagOf(ownOnly), before.own);

    // Revoking it: the same narrow event, and the set stops listing the key.
    events.length = 0;
    const keyId = res.json().id;
    const revoke = await callApi(t, "DELETE", `/api/v1/org/vendor/signing-keys/${keyId}`, t.adminKey);
    assert.equal(revoke.statusCode, 204, revoke.body);
    assert.deepEqual(events, [{ kind: "org_trust", orgId: vendorId }]);
    assert.equal(cached(ownOnly), true);
    assert.equal(t.app.services.watch.size, 1);
    const set = await callApi(t, "GET", resolvedUrl(usesVendor), t.adminKey);
    assert.deepEqual(set.json().trusted_keys, []);

    t.app.services.watch.close();
    assert.equal((await held).statusCode, 304);
  });
});
