import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi } from "../helpers/api.js";
import { capabilityBundle, publishBundle } from "../helpers/capability-bundles.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";

describe("concurrent publishes", () => {
  let t: TestApp;
  before(async () => {
    // Room for all 20 at once: the default publish queue would turn some away with 429.
    t = await buildTestApp({ env: { CAPSTAN_PUBLISH_QUEUE: "32" } });
  });
  after(() => t.close());

  test("20 identical publishes of a new version: one 201, the rest 200, one row", async () => {
    const bundle = capabilityBundle({ name: "racy" });
    const responses = await Promise.all(Array.from({ length: 20 }, () => publishBundle(t, bundle)));
    const statuses = responses.map((res) => res.statusCode);
    assert.equal(statuses.filter((s) => s === 201).length, 1, statuses.join());
    assert.equal(statuses.filter((s) => s === 200).length, 19, statuses.join());
    assert.equal(new Set(responses.map((res) => res.json().id)).size, 1);
    const rows = await t.deps.db
      .selectFrom("capability_versions")
      .innerJoin("capabilities", "capabilities.id", "capability_versions.capability_id")
      .select("capability_versions.id")
      .where("capabilities.name", "=", "racy")
      .execute();
    assert.equal(rows.length, 1);
  });

  test("identical and different content racing for one number: never two rows, the losers 200 or 409", async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        publishBundle(t, capabilityBundle({ name: "contested", salt: `v${i % 2}` })),
      ),
    );
    const statuses = responses.map((res) => res.statusCode);
    assert.equal(statuses.filter((s) => s === 201).length, 1, statuses.join());
    assert.ok(
      statuses.every((s) => s === 201 || s === 200 || s === 409),
      statuses.join(),
    );
    const versions = (await callApi(t, "GET", `${CAP}/contested/versions`, t.adminKey)).json();
    assert.equal(versions.versions.length, 1);
  });

  test("10 different versions published at once: latest is the highest semver", async () => {
    const versions = [
      "1.2.0",
      "1.10.0",
      "1.9.0",
      "0.9.9",
      "1.10.1",
      "1.3.0",
      "1.0.0",
      "1.1.0",
      "0.1.0",
      "1.4.2",
    ];
    const responses = await Promise.all(
      versions.map((version) => publishBundle(t, capabilityBundle({ name: "parallel", version }))),
    );
    assert.deepEqual(
      responses.map((res) => res.statusCode),
      Array(10).fill(201),
    );
    const detail = (await callApi(t, "GET", `${CAP}/parallel`, t.adminKey)).json();
    assert.equal(detail.version, "1.10.1");
    const row = await t.deps.db
      .selectFrom("capabilities")
      .select(["latest_version"])
      .where("name", "=", "parallel")
      .executeTakeFirstOrThrow();
    assert.equal(row.latest_version, "1.10.1");
  });
});
