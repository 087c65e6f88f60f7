// `capstan admin verify` (issue #24): the checks find what a damaged data directory or database
// holds: a version whose blob is gone, a binding and a tag left on a deleted version. Runs on
// SQLite and, in the PostgreSQL pass, on PostgreSQL; the database is altered directly, as a bad
// restore or a hand edit would.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { INTEGRITY_CHECKS, verifyIntegrity } from "../../src/services/integrity-service.js";
import { callApi } from "../helpers/api.js";
import { bind, newRuntime } from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const HOUR = 60 * 60 * 1000;

describe("verify", () => {
  let t: TestApp;
  let old: { id: string; artifact_sha256: string };
  let current: { artifact_sha256: string };
  let bindingId: string;
  before(async () => {
    t = await buildTestApp();
    old = await publishOk(t, { name: "checked", version: "1.0.0", salt: "old" });
    current = await publishOk(t, { name: "checked", version: "1.1.0", salt: "new" });
    const runtime = await newRuntime(t, "verified");
    bindingId = (await bind(t, runtime, { name: "checked", version: "1.0.0" })).id;
    const tag = await callApi(t, "PUT", "/api/v1/org/default/capabilities/checked/tags/stable", t.adminKey, {
      version: "1.0.0",
    });
    assert.equal(tag.statusCode, 200, tag.body);
  });
  after(() => t.close());

  test("a healthy instance has no problem", async () => {
    const report = await verifyIntegrity(t.deps, new Date());
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.checked.versions, 2);
    assert.ok(INTEGRITY_CHECKS.length >= 6);
  });

  test("a missing blob, and a binding and a tag on a deleted version, are errors; the deleted version's blobs turn into warnings once past the grace period", async () => {
    const sha = current.artifact_sha256.replace(/^sha256:/, "");
    await t.deps.blobs.delete(sha);
    await t.deps.db
      .updateTable("capability_versions")
      .set({ status: "deleted" })
      .where("id", "=", old.id)
      .execute();

    const report = await verifyIntegrity(t.deps, new Date());
    assert.equal(report.ok, false);
    const errors = report.problems.filter((problem) => problem.severity === "error");
    assert.deepEqual(
      errors.map((problem) => problem.kind),
      ["missing_blob", "binding_to_dead_version", "tag_to_dead_version"],
    );
    assert.equal(errors[0].id, sha);
    assert.match(
      errors[0].detail,
      /^default\/checked@1\.1\.0: its bundle archive \(blob [0-9a-f]{64}\) is not in the blob store$/,
    );
    assert.equal(errors[1].id, bindingId);
    assert.match(errors[1].detail, /default\/checked: binding .* of runtime .* points at a deleted version/);
    assert.match(errors[2].detail, /default\/checked: tag 'stable' points at a deleted version/);
    assert.equal(report.problems.filter((problem) => problem.severity === "warning").length, 0);

    // Two hours on, the deleted version's archive is past the collector's grace: waste, not damage.
    const later = await verifyIntegrity(t.deps, new Date(Date.now() + 2 * HOUR));
    const warnings = later.problems.filter((problem) => problem.severity === "warning");
    assert.ok(
      warnings.some(
        (problem) =>
          problem.kind === "unreferenced_blob" && problem.id === old.artifact_sha256.replace(/^sha256:/, ""),
      ),
    );
    assert.equal(later.problems.filter((problem) => problem.severity === "error").length, 3);
  });

  test("an edited audit record breaks its chain: the first broken link is an error naming it", async () => {
    const org = await t.deps.db
      .selectFrom("orgs")
      .select("id")
      .where("key", "=", "default")
      .executeTakeFirstOrThrow();
    const records = await t.deps.db
      .selectFrom("audit_events")
      .select(["id", "chain_seq"])
      .where("org_id", "=", org.id)
      .orderBy("chain_seq")
      .execute();
    assert.ok(records.length >= 3);
    const before = await verifyIntegrity(t.deps, new Date());
    assert.equal(before.problems.filter((problem) => problem.kind === "audit_chain").length, 0);
    assert.ok((before.checked.audit_chains ?? 0) >= 2, "the instance chain and the org's");
    assert.ok((before.checked.audit_records ?? 0) >= records.length);

    const edited = records[1];
    await t.deps.db
      .updateTable("audit_events")
      .set({ data: JSON.stringify({ forged: true }) })
      .where("id", "=", edited.id)
      .execute();
    const report = await verifyIntegrity(t.deps, new Date());
    assert.equal(report.ok, false);
    const chain = report.problems.filter((problem) => problem.kind === "audit_chain");
    assert.equal(chain.length, 1, "only the first broken link");
    assert.equal(chain[0].severity, "error");
    assert.equal(chain[0].id, edited.id);
    assert.match(
      chain[0].detail,
      new RegExp(
        `^default: the audit chain breaks at record ${edited.id} \\(position ${Number(edited.chain_seq)}\\): its hash does not match`,
      ),
    );
  });
});
