// Publishes in flight are bounded (429 with Retry-After past the bound), uploads are spooled to
// disk rather than held in memory, and making a name public at publish time is the owner's call.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { expectError } from "../helpers/api.js";
import { capabilityBundle, publishBundle, publishOk } from "../helpers/capability-bundles.js";
import { newUserKey } from "../helpers/factories.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";

function spooled(t: TestApp): string[] {
  try {
    return readdirSync(path.join(t.dataDir, "tmp"));
  } catch {
    return [];
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function capabilityCount(t: TestApp, name: string): Promise<number> {
  const rows = await t.deps.db.selectFrom("capabilities").select("id").where("name", "=", name).execute();
  return rows.length;
}

describe("publishes in flight are bounded", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ env: { CAPSTAN_PUBLISH_CONCURRENCY: "1", CAPSTAN_PUBLISH_QUEUE: "0" } });
  });
  after(() => t.close());

  test("a publish past the bound gets 429 usage_limit_exceeded_error with Retry-After; the held one completes", async () => {
    const archive = capabilityBundle({ name: "held" });
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Half the archive, then nothing until released: the publish holds its place meanwhile.
    const slowUpload = Readable.from(
      (async function* () {
        yield archive.subarray(0, 64);
        await released;
        yield archive.subarray(64);
      })(),
    );
    const held = t.app.inject({
      method: "POST",
      url: CAP,
      headers: { ...bearer(t.adminKey), "content-type": "application/gzip" },
      payload: slowUpload,
    });
    // The upload is being written to disk, not kept in memory: its spool file is the sign it started.
    await until("the held upload's spool file", () => spooled(t).length === 1);

    const refused = await publishBundle(t, capabilityBundle({ name: "turned-away" }));
    expectError(refused, 429, "usage_limit_exceeded_error");
    assert.match(String(refused.headers["retry-after"]), /^[1-9]\d*$/);
    assert.equal(await capabilityCount(t, "turned-away"), 0);

    release();
    const done = await held;
    assert.equal(done.statusCode, 201, done.body);
    assert.equal((await publishBundle(t, capabilityBundle({ name: "turned-away" }))).statusCode, 201);
    assert.deepEqual(spooled(t), [], "no spooled upload is left behind");
  });

  test("a refused bundle leaves no spooled upload behind", async () => {
    const res = await publishBundle(t, Buffer.from("not a gzip stream at all"));
    expectError(res, 400, "invalid_error");
    assert.deepEqual(spooled(t), []);
  });
});

describe("?public=true on publish is for owners only", () => {
  let t: TestApp;
  let contributor: string;
  before(async () => {
    t = await buildTestApp();
    contributor = (await newUserKey(t, { role: "contributor" })).key;
  });
  after(() => t.close());

  test("a contributor gets 403 forbidden_error before the bundle is read, and nothing is created", async () => {
    // Not even an archive: the refusal must come before the body is looked at.
    const garbage = await publishBundle(t, Buffer.from("garbage"), {
      key: contributor,
      query: "public=true",
    });
    expectError(garbage, 403, "forbidden_error");

    const valid = await publishBundle(t, capabilityBundle({ name: "sneaky" }), {
      key: contributor,
      query: "public=true",
    });
    expectError(valid, 403, "forbidden_error");
    assert.equal(await capabilityCount(t, "sneaky"), 0);
    assert.deepEqual(spooled(t), []);
  });

  test("a contributor still publishes privately, and cannot make an existing name public either", async () => {
    const created = await publishOk(t, { name: "plain" }, { key: contributor });
    assert.equal(created.is_public, false);
    const again = await publishBundle(t, capabilityBundle({ name: "plain", version: "1.0.1" }), {
      key: contributor,
      query: "public=true",
    });
    expectError(again, 403, "forbidden_error");
    const listed = await t.app.inject({ method: "GET", url: `${CAP}/plain`, headers: bearer(t.adminKey) });
    assert.equal(listed.json().is_public, false);
    assert.equal(listed.json().version, "1.0.0");
  });

  test("an owner publishes a new name public", async () => {
    const created = await publishOk(t, { name: "open" }, { query: "public=true" });
    assert.equal(created.is_public, true);
  });
});
