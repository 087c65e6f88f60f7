import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";

async function latestOf(t: TestApp, name: string): Promise<string | null> {
  return (await callApi(t, "GET", `${CAP}/${name}/versions`, t.adminKey)).json().latest_version;
}

describe("PATCH /api/v1/org/{org}/capabilities/{name}/{version}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("deprecates a version with a message; a deprecated version can still be latest", async () => {
    await publishOk(t, { name: "dep" });
    const res = await callApi(t, "PATCH", `${CAP}/dep/1.0.0`, t.adminKey, {
      status: "deprecated",
      message: "Use 2.x",
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().status, "deprecated");
    assert.equal(res.json().deprecation_message, "Use 2.x");
    assert.equal(await latestOf(t, "dep"), "1.0.0");
    assert.equal((await callApi(t, "GET", `${CAP}/dep`, t.adminKey)).json().status, "deprecated");
  });

  test("re-deprecating without a message keeps the message; restoring clears it", async () => {
    await publishOk(t, { name: "dep-again" });
    await callApi(t, "PATCH", `${CAP}/dep-again/1.0.0`, t.adminKey, { status: "deprecated", message: "old" });
    const again = await callApi(t, "PATCH", `${CAP}/dep-again/1.0.0`, t.adminKey, { status: "deprecated" });
    assert.equal(again.json().deprecation_message, "old");
    const restored = await callApi(t, "PATCH", `${CAP}/dep-again/1.0.0`, t.adminKey, { status: "active" });
    assert.equal(restored.json().status, "active");
    assert.equal(restored.json().deprecation_message, null);
  });

  test("a yanked version leaves latest, and un-yanking brings it back", async () => {
    for (const version of ["1.0.0", "1.9.0", "1.10.0"]) await publishOk(t, { name: "yanky", version });
    assert.equal(await latestOf(t, "yanky"), "1.10.0");
    const yanked = await callApi(t, "PATCH", `${CAP}/yanky/1.10.0`, t.adminKey, { status: "yanked" });
    assert.equal(yanked.statusCode, 200, yanked.body);
    assert.equal(yanked.json().status, "yanked");
    assert.equal(await latestOf(t, "yanky"), "1.9.0");
    assert.equal((await callApi(t, "GET", `${CAP}/yanky`, t.adminKey)).json().version, "1.9.0");
    const versions = (await callApi(t, "GET", `${CAP}/yanky/versions`, t.adminKey)).json().versions;
    assert.equal(versions[0].status, "yanked", "a yanked version is still listed");
    assert.equal((await callApi(t, "GET", `${CAP}/yanky/1.10.0`, t.adminKey)).statusCode, 200);
    await callApi(t, "PATCH", `${CAP}/yanky/1.10.0`, t.adminKey, { status: "active" });
    assert.equal(await latestOf(t, "yanky"), "1.10.0");
  });

  test("with every version yanked there is no latest: the capability is 404 but its versions stay readable", async () => {
    await publishOk(t, { name: "all-yanked" });
    await callApi(t, "PATCH", `${CAP}/all-yanked/1.0.0`, t.adminKey, { status: "yanked" });
    assert.equal(await latestOf(t, "all-yanked"), null);
    expectError(await callApi(t, "GET", `${CAP}/all-yanked`, t.adminKey), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${CAP}/all-yanked/latest`, t.adminKey), 404, "not_found_error");
    assert.equal((await callApi(t, "GET", `${CAP}/all-yanked/1.0.0`, t.adminKey)).json().status, "yanked");
  });

  test("records capability.version.updated in the audit log", async () => {
    const artifact = await publishOk(t, { name: "audited-status" });
    await callApi(t, "PATCH", `${CAP}/audited-status/1.0.0`, t.adminKey, { status: "yanked" });
    const event = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("target_id", "=", artifact.id)
      .where("action", "=", "capability.version.updated")
      .executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(event.data), {
      name: "audited-status",
      version: "1.0.0",
      from: "active",
      status: "yanked",
      message: null,
    });
  });

  test("lets a contributor change status", async () => {
    await publishOk(t, { name: "by-contributor" });
    const contributor = await newUserKey(t, { role: "contributor" });
    const res = await callApi(t, "PATCH", `${CAP}/by-contributor/1.0.0`, contributor.key, {
      status: "yanked",
    });
    assert.equal(res.statusCode, 200, res.body);
  });

  describe("refusals", () => {
    before(async () => {
      await publishOk(t, { name: "guarded" });
    });
    const url = `${CAP}/guarded/1.0.0`;

    test("a message with any status but deprecated → 422 at body.message", async () => {
      const res = await callApi(t, "PATCH", url, t.adminKey, { status: "yanked", message: "why" });
      expectError(res, 422, "validation_error", ["body", "message"]);
    });

    test("a message over 500 characters, an unknown status or field → 422", async () => {
      const long = await callApi(t, "PATCH", url, t.adminKey, {
        status: "deprecated",
        message: "x".repeat(501),
      });
      expectError(long, 422, "validation_error", ["body", "message"]);
      expectError(
        await callApi(t, "PATCH", url, t.adminKey, { status: "deleted" }),
        422,
        "validation_error",
        ["body", "status"],
      );
      expectError(
        await callApi(t, "PATCH", url, t.adminKey, { status: "yanked", reason: "x" }),
        422,
        "validation_error",
        ["body", "reason"],
      );
      expectError(await callApi(t, "PATCH", url, t.adminKey, {}), 422, "validation_error", [
        "body",
        "status",
      ]);
    });

    test("`latest` or a non-semver version in the path → 422 at path.version", async () => {
      const res = await callApi(t, "PATCH", `${CAP}/guarded/latest`, t.adminKey, { status: "yanked" });
      expectError(res, 422, "validation_error", ["path", "version"]);
    });

    test("an unknown capability or version → 404", async () => {
      expectError(
        await callApi(t, "PATCH", `${CAP}/guarded/9.9.9`, t.adminKey, { status: "yanked" }),
        404,
        "not_found_error",
      );
      expectError(
        await callApi(t, "PATCH", `${CAP}/nope/1.0.0`, t.adminKey, { status: "yanked" }),
        404,
        "not_found_error",
      );
    });

    test("a reader or a read-only key → 403", async () => {
      const reader = await newUserKey(t, { role: "reader" });
      expectError(await callApi(t, "PATCH", url, reader.key, { status: "yanked" }), 403, "forbidden_error");
      const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
      expectError(await callApi(t, "PATCH", url, readOnly.key, { status: "yanked" }), 403, "forbidden_error");
    });

    test("no key or an unknown key → 401", async () => {
      await expectUnauthenticated(t, "PATCH", url, { status: "yanked" });
    });

    test("a non-member → 404", async () => {
      const stranger = await newStranger(t);
      expectError(await callApi(t, "PATCH", url, stranger.key, { status: "yanked" }), 404, "not_found_error");
    });
  });
});
