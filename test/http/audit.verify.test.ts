// The tamper-evident audit log (SPEC §15): each org's records form a hash chain; verification
// names the first broken link: an edited record, a deleted one, a reordered pair, a cut tail.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { verifyAuditChain } from "../../src/services/audit-chain-service.js";
import { callApi, expectError } from "../helpers/api.js";
import { newRuntime, runtimeUrl } from "../helpers/bindings.js";
import { newOrg, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

describe("GET /api/v1/org/{org}/audit/verify", () => {
  let t: TestApp;
  let orgId: string;
  const ORG = "chained";
  const VERIFY = `/api/v1/org/${ORG}/audit/verify`;

  before(async () => {
    t = await buildTestApp();
    orgId = (await newOrg(t, ORG)).id;
    const runtimeId = await newRuntime(t, "chain-rt", ORG);
    for (let i = 0; i < 12; i++) {
      const res = await callApi(t, "PATCH", runtimeUrl(runtimeId, ORG), t.adminKey, { name: `Chain ${i}` });
      assert.equal(res.statusCode, 200, res.body);
    }
  });
  after(() => t.close());

  const record = (chainSeq: number) =>
    t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("org_id", "=", orgId)
      .where("chain_seq", "=", chainSeq)
      .executeTakeFirstOrThrow();

  const verify = async () => {
    const res = await callApi(t, "GET", VERIFY, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };

  test("an untouched chain verifies, in pages of any size", async () => {
    const result = await verify();
    assert.equal(result.ok, true);
    assert.ok(result.records >= 14, `${result.records} records`);
    assert.equal(result.head.chain_seq, result.records);
    assert.match(result.head.hash, /^[0-9a-f]{64}$/);
    assert.equal(result.broken, undefined);
    assert.deepEqual(await verifyAuditChain(t.deps.db, orgId, { pageSize: 2 }), result);
    // The instance's own chain (users, bootstrap) verifies as well.
    assert.equal((await verifyAuditChain(t.deps.db, "")).ok, true);
  });

  test("an edited record fails at exactly that record, and verifies again once restored", async () => {
    const target = await record(7);
    await t.deps.db
      .updateTable("audit_events")
      .set({ data: '{"name":"Forged"}' })
      .where("id", "=", target.id)
      .execute();
    const result = await verify();
    assert.equal(result.ok, false);
    assert.deepEqual(result.broken, { id: target.id, chain_seq: 7, reason: "hash_mismatch" });
    assert.equal(result.records, 6);
    // Any field counts: the actor this time.
    await t.deps.db
      .updateTable("audit_events")
      .set({ data: target.data, actor_user_id: null })
      .where("id", "=", target.id)
      .execute();
    assert.deepEqual((await verify()).broken, { id: target.id, chain_seq: 7, reason: "hash_mismatch" });
    await t.deps.db
      .updateTable("audit_events")
      .set({ actor_user_id: target.actor_user_id })
      .where("id", "=", target.id)
      .execute();
    assert.equal((await verify()).ok, true);
  });

  test("two records swapped fail at the first of them", async () => {
    const [four, five] = [await record(4), await record(5)];
    const place = (id: string, chainSeq: number) =>
      t.deps.db.updateTable("audit_events").set({ chain_seq: chainSeq }).where("id", "=", id).execute();
    await place(four.id, 5);
    await place(five.id, 4);
    assert.deepEqual((await verify()).broken, { id: five.id, chain_seq: 4, reason: "hash_mismatch" });
    await place(four.id, 4);
    await place(five.id, 5);
    assert.equal((await verify()).ok, true);
  });

  test("a deleted record fails where it was; a cut tail fails past the last record", async () => {
    const target = await record(9);
    const following = await record(10);
    await t.deps.db.deleteFrom("audit_events").where("id", "=", target.id).execute();
    const result = await verify();
    assert.deepEqual(result.broken, { id: following.id, chain_seq: 9, reason: "missing" });
    assert.equal(result.records, 8);
    await t.deps.db.insertInto("audit_events").values(target).execute();
    assert.equal((await verify()).ok, true);

    const { head } = await verify();
    const last = await record(head.chain_seq);
    await t.deps.db.deleteFrom("audit_events").where("id", "=", last.id).execute();
    assert.deepEqual((await verify()).broken, { id: null, chain_seq: head.chain_seq, reason: "truncated" });
    await t.deps.db.insertInto("audit_events").values(last).execute();
    assert.equal((await verify()).ok, true);
  });

  test("owners only; other orgs' members get 404", async () => {
    const contributor = await newUserKey(t, { org: ORG, role: "contributor" });
    expectError(await callApi(t, "GET", VERIFY, contributor.key), 403, "forbidden_error");
    const outsider = await newUserKey(t, { role: "owner" });
    expectError(await callApi(t, "GET", VERIFY, outsider.key), 404, "not_found_error");
  });
});
