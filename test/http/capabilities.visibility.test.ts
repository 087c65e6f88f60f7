import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const ACME = "/api/v1/org/acme/capabilities";
const DEFAULT = "/api/v1/org/default/capabilities";

describe("PATCH /api/v1/org/{org}/capabilities/{name}/visibility", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    await newOrg(t, "acme");
    await publishOk(t, { name: "tool" }, { org: "acme" });
    await publishOk(t, { name: "tool", version: "1.1.0" }, { org: "acme" });
  });
  after(() => t.close());

  test("makes every version public, readable from another org as owner/name", async () => {
    expectError(await callApi(t, "GET", `${DEFAULT}/acme%2Ftool`, t.adminKey), 404, "not_found_error");
    const res = await callApi(t, "PATCH", `${ACME}/tool/visibility`, t.adminKey, { is_public: true });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().is_public, true);
    assert.equal(typeof res.json().message, "string");
    const seen = await callApi(t, "GET", `${DEFAULT}/acme%2Ftool/1.0.0`, t.adminKey);
    assert.equal(seen.statusCode, 200, seen.body);
    assert.equal(seen.json().is_public, true);
    const listed = (await callApi(t, "GET", `${DEFAULT}?include_public=true`, t.adminKey)).json();
    assert.ok(listed.capabilities.some((c: { name: string }) => c.name === "acme/tool"));
  });

  test("making it private again hides it from other orgs", async () => {
    const res = await callApi(t, "PATCH", `${ACME}/tool/visibility`, t.adminKey, { is_public: false });
    assert.deepEqual(Object.keys(res.json()).sort(), ["is_public", "message"]);
    assert.equal(res.json().is_public, false);
    expectError(await callApi(t, "GET", `${DEFAULT}/acme%2Ftool`, t.adminKey), 404, "not_found_error");
  });

  test("records capability.visibility.updated in the audit log", async () => {
    await callApi(t, "PATCH", `${ACME}/tool/visibility`, t.adminKey, { is_public: true });
    const event = await t.deps.db
      .selectFrom("audit_events")
      .select("data")
      .where("action", "=", "capability.visibility.updated")
      .orderBy("id", "desc")
      .executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(event.data), { name: "tool", is_public: true });
  });

  test("never lets another org change it through owner/name", async () => {
    const res = await callApi(t, "PATCH", `${DEFAULT}/acme%2Ftool/visibility`, t.adminKey, {
      is_public: false,
    });
    expectError(res, 404, "not_found_error");
  });

  test("forbids a contributor and a read-only key with 403", async () => {
    const contributor = await newUserKey(t, { org: "acme", role: "contributor" });
    expectError(
      await callApi(t, "PATCH", `${ACME}/tool/visibility`, contributor.key, { is_public: true }),
      403,
      "forbidden_error",
    );
    const readOnly = await newUserKey(t, { org: "acme", role: "owner", readOnly: true });
    expectError(
      await callApi(t, "PATCH", `${ACME}/tool/visibility`, readOnly.key, { is_public: true }),
      403,
      "forbidden_error",
    );
  });

  test("answers 401 without a valid key and 404 to a non-member or for an unknown name", async () => {
    await expectUnauthenticated(t, "PATCH", `${ACME}/tool/visibility`, { is_public: true });
    const stranger = await newStranger(t);
    expectError(
      await callApi(t, "PATCH", `${ACME}/tool/visibility`, stranger.key, { is_public: true }),
      404,
      "not_found_error",
    );
    expectError(
      await callApi(t, "PATCH", `${ACME}/nope/visibility`, t.adminKey, { is_public: true }),
      404,
      "not_found_error",
    );
  });

  test("answers 422 for a missing, non-boolean or unknown field", async () => {
    const url = `${ACME}/tool/visibility`;
    expectError(await callApi(t, "PATCH", url, t.adminKey, {}), 422, "validation_error", [
      "body",
      "is_public",
    ]);
    expectError(await callApi(t, "PATCH", url, t.adminKey, { is_public: "yes" }), 422, "validation_error", [
      "body",
      "is_public",
    ]);
    expectError(
      await callApi(t, "PATCH", url, t.adminKey, { is_public: true, public: true }),
      422,
      "validation_error",
      ["body", "public"],
    );
  });
});
