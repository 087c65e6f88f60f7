import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { newId } from "../../src/lib/ids.js";
import type { ChangeEvent } from "../../src/services/change-feed.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { bind, newRuntime } from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";

/** Binds a version to the bootstrap runtime straight in the database (bindings have their own suite). */
async function bindToDefaultRuntime(t: TestApp, artifact: { id: string }): Promise<string> {
  const version = await t.deps.db
    .selectFrom("capability_versions")
    .select(["capability_id", "org_id"])
    .where("id", "=", artifact.id)
    .executeTakeFirstOrThrow();
  const at = new Date().toISOString();
  const id = newId();
  await t.deps.db
    .insertInto("bindings")
    .values({
      id,
      org_id: version.org_id,
      runtime_id: t.runtimeId,
      capability_id: version.capability_id,
      version_id: artifact.id,
      enabled: 1,
      flags: "{}",
      revision: 1,
      created_at: at,
      updated_at: at,
    })
    .execute();
  return id;
}

describe("DELETE /api/v1/org/{org}/capabilities/{name}/{version}", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test("deletes a version with 204: it leaves reads, the version list and latest", async () => {
    for (const version of ["1.0.0", "1.1.0", "2.0.0"]) await publishOk(t, { name: "gone", version });
    const res = await callApi(t, "DELETE", `${CAP}/gone/2.0.0`, t.adminKey);
    assert.equal(res.statusCode, 204, res.body);
    assert.equal(res.body, "");
    expectError(await callApi(t, "GET", `${CAP}/gone/2.0.0`, t.adminKey), 404, "not_found_error");
    const versions = (await callApi(t, "GET", `${CAP}/gone/versions`, t.adminKey)).json();
    assert.deepEqual(
      versions.versions.map((v: { version: string }) => v.version),
      ["1.1.0", "1.0.0"],
    );
    assert.equal(versions.latest_version, "1.1.0");
    const detail = (await callApi(t, "GET", `${CAP}/gone`, t.adminKey)).json();
    assert.equal(detail.version, "1.1.0");
    assert.equal(detail.version_count, 2);
    expectError(await callApi(t, "DELETE", `${CAP}/gone/2.0.0`, t.adminKey), 404, "not_found_error");
  });

  test("keeps the row as a tombstone and records capability.version.deleted", async () => {
    const artifact = await publishOk(t, { name: "tomb" });
    await callApi(t, "DELETE", `${CAP}/tomb/1.0.0`, t.adminKey);
    const row = await t.deps.db
      .selectFrom("capability_versions")
      .select("status")
      .where("id", "=", artifact.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, "deleted");
    const event = await t.deps.db
      .selectFrom("audit_events")
      .select("action")
      .where("target_id", "=", artifact.id)
      .where("action", "=", "capability.version.deleted")
      .executeTakeFirst();
    assert.ok(event);
  });

  test("refuses a version a runtime binds with 409 conflict_error", async () => {
    const artifact = await publishOk(t, { name: "bound" });
    await bindToDefaultRuntime(t, artifact);
    expectError(await callApi(t, "DELETE", `${CAP}/bound/1.0.0`, t.adminKey), 409, "conflict_error");
    assert.equal((await callApi(t, "GET", `${CAP}/bound/1.0.0`, t.adminKey)).statusCode, 200);
  });

  test("?force=true removes the bindings too and tells the runtime's caches", async () => {
    const artifact = await publishOk(t, { name: "forced" });
    const bindingId = await bindToDefaultRuntime(t, artifact);
    const events: ChangeEvent[] = [];
    const unsubscribe = t.deps.changes.subscribe((event) => events.push(event));
    const res = await callApi(t, "DELETE", `${CAP}/forced/1.0.0?force=true`, t.adminKey);
    unsubscribe();
    assert.equal(res.statusCode, 204, res.body);
    const binding = await t.deps.db
      .selectFrom("bindings")
      .select("id")
      .where("id", "=", bindingId)
      .executeTakeFirst();
    assert.equal(binding, undefined);
    assert.ok(events.some((event) => event.kind === "runtime" && event.runtimeId === t.runtimeId));
    assert.ok(events.some((event) => event.kind === "capability"));
  });

  test("?force=true logs each removed binding in its runtime's org, another org's included", async () => {
    await newOrg(t, "acme-del");
    const artifact = await publishOk(t, { name: "scanner" }, { org: "acme-del", query: "public=true" });
    const runtime = await newRuntime(t, "binds-acme");
    const binding = await bind(t, runtime, { name: "acme-del/scanner" });
    const res = await callApi(
      t,
      "DELETE",
      `/api/v1/org/acme-del/capabilities/scanner/1.0.0?force=true`,
      t.adminKey,
    );
    assert.equal(res.statusCode, 204, res.body);
    const events = await t.deps.db
      .selectFrom("audit_events")
      .innerJoin("orgs", "orgs.id", "audit_events.org_id")
      .select(["orgs.key as org", "action", "target_id", "data"])
      .where("target_id", "in", [artifact.id, binding.id])
      .where("action", "in", ["capability.version.deleted", "runtime.capability.removed"])
      .orderBy("action")
      .execute();
    assert.deepEqual(
      events.map((event) => ({ ...event, data: JSON.parse(event.data) })),
      [
        {
          org: "acme-del",
          action: "capability.version.deleted",
          target_id: artifact.id,
          data: {
            name: "scanner",
            version: "1.0.0",
            removed_bindings: [{ id: binding.id, runtime_id: runtime }],
          },
        },
        {
          org: "default",
          action: "runtime.capability.removed",
          target_id: binding.id,
          data: {
            runtime_id: runtime,
            name: "acme-del/scanner",
            version: "1.0.0",
            reason: "version_deleted",
          },
        },
      ],
    );
  });

  test("a version deleted while runtimes install, re-point or apply it: never a binding to a deleted version, never a 500", async () => {
    await publishOk(t, { name: "contested", version: "1.0.0" });
    const runtime = await newRuntime(t, "contests");
    const bindings = `/api/v1/org/default/ws/main/runtimes/${runtime}/capabilities`;
    await bind(t, runtime, { name: "contested", version: "1.0.0" });
    for (let i = 1; i <= 12; i++) {
      const version = `2.0.${i}`;
      await publishOk(t, { name: "contested", version });
      const [current] = (await callApi(t, "GET", bindings, t.adminKey)).json().items;
      const write =
        i % 3 === 0
          ? callApi(t, "PATCH", `${bindings}/${current.id}`, t.adminKey, { version })
          : i % 3 === 1
            ? callApi(t, "PUT", `/api/v1/org/default/ws/main/runtimes/${runtime}/config`, t.adminKey, {
                config: { version: "v2", capabilities: [{ name: "contested", version }] },
              })
            : callApi(t, "POST", `${bindings}`, t.adminKey, { name: "contested", version });
      const [deleted, written] = await Promise.all([
        callApi(t, "DELETE", `${CAP}/contested/${version}?force=true`, t.adminKey),
        write,
      ]);
      assert.equal(deleted.statusCode, 204, deleted.body);
      assert.ok([200, 201, 404, 409].includes(written.statusCode), `${written.statusCode}: ${written.body}`);
      const orphans = await t.deps.db
        .selectFrom("bindings")
        .innerJoin("capability_versions", "capability_versions.id", "bindings.version_id")
        .select("bindings.id")
        .where("capability_versions.status", "=", "deleted")
        .execute();
      assert.deepEqual(orphans, [], `round ${i}`);
      // Put the runtime back on 1.0.0 for the next round, whatever this one did.
      await callApi(t, "PUT", `/api/v1/org/default/ws/main/runtimes/${runtime}/config`, t.adminKey, {
        config: { version: "v2", capabilities: [{ name: "contested", version: "1.0.0" }] },
      });
    }
  });

  test("deleting the only version leaves no latest", async () => {
    await publishOk(t, { name: "single" });
    await callApi(t, "DELETE", `${CAP}/single/1.0.0`, t.adminKey);
    assert.equal((await callApi(t, "GET", `${CAP}/single/versions`, t.adminKey)).json().latest_version, null);
    expectError(await callApi(t, "GET", `${CAP}/single`, t.adminKey), 404, "not_found_error");
  });

  describe("refusals", () => {
    before(async () => {
      await publishOk(t, { name: "kept" });
    });
    const url = `${CAP}/kept/1.0.0`;

    test("a contributor, a reader or a read-only owner key → 403", async () => {
      for (const role of ["contributor", "reader"] as const) {
        const user = await newUserKey(t, { role });
        expectError(await callApi(t, "DELETE", url, user.key), 403, "forbidden_error");
      }
      const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
      expectError(await callApi(t, "DELETE", url, readOnly.key), 403, "forbidden_error");
    });

    test("no key or an unknown key → 401", async () => {
      await expectUnauthenticated(t, "DELETE", url);
    });

    test("a non-member → 404; an unknown version → 404", async () => {
      const stranger = await newStranger(t);
      expectError(await callApi(t, "DELETE", url, stranger.key), 404, "not_found_error");
      expectError(await callApi(t, "DELETE", `${CAP}/kept/1.2.3`, t.adminKey), 404, "not_found_error");
    });

    test("`latest` in the path or a non-boolean force → 422", async () => {
      expectError(await callApi(t, "DELETE", `${CAP}/kept/latest`, t.adminKey), 422, "validation_error", [
        "path",
        "version",
      ]);
      expectError(await callApi(t, "DELETE", `${url}?force=maybe`, t.adminKey), 422, "validation_error", [
        "query",
        "force",
      ]);
    });
  });
});
