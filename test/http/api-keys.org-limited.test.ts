// Keys limited to one org (SPEC §3): outside that org such a key is a non-member (404), and
// `/user/*` shows only that org, whatever else its user belongs to.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError } from "../helpers/api.js";
import { bindingsUrl, newRuntime, runtimeUrl } from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newOrg, newUserKey, type UserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

describe("keys limited to one org", () => {
  let t: TestApp;
  let person: UserKey;
  let limited: { id: string; key: string };
  let otherRuntime: string;

  before(async () => {
    t = await buildTestApp();
    await newOrg(t, "other");
    await publishOk(t, { name: "pub" }, { org: "other", query: "public=true" });
    await publishOk(t, { name: "secret" }, { org: "other" });
    otherRuntime = await newRuntime(t, "there", "other");
    const bound = await callApi(t, "POST", bindingsUrl(otherRuntime, "other"), t.adminKey, {
      name: "secret",
    });
    assert.equal(bound.statusCode, 201, bound.body);
    person = await newUserKey(t, { role: "owner" });
    const added = await callApi(t, "POST", "/api/v1/org/other/members", t.adminKey, {
      email: person.email,
      role: "owner",
    });
    assert.equal(added.statusCode, 201, added.body);
    const minted = await callApi(t, "POST", "/api/v1/user/api-keys", person.key, {
      name: "ci",
      org: "default",
    });
    assert.equal(minted.statusCode, 201, minted.body);
    limited = minted.json();
  });
  after(() => t.close());

  const otherReads = () => [
    "/api/v1/org/other",
    "/api/v1/org/other/members",
    "/api/v1/org/other/ws",
    "/api/v1/org/other/ws/main/projects",
    "/api/v1/org/other/ws/main/runtimes",
    "/api/v1/org/other/audit",
    "/api/v1/org/other/capabilities",
    "/api/v1/org/other/capabilities/secret",
    "/api/v1/org/other/capabilities/secret/1.0.0/bundle",
    "/api/v1/org/other/capabilities/secret/1.0.0/files/capability.yaml",
    bindingsUrl(otherRuntime, "other"),
    `${bindingsUrl(otherRuntime, "other")}/resolved`,
  ];

  test("is refused with 404 everywhere in its user's other orgs, even with their role cached", async () => {
    for (const url of otherReads()) {
      assert.equal((await callApi(t, "GET", url, person.key)).statusCode, 200, url);
      expectError(await callApi(t, "GET", url, limited.key), 404, "not_found_error");
    }
    expectError(
      await callApi(t, "POST", bindingsUrl(otherRuntime, "other"), limited.key, { name: "pub" }),
      404,
      "not_found_error",
    );
    expectError(
      await callApi(t, "POST", `${runtimeUrl(otherRuntime, "other")}/tokens`, limited.key),
      404,
      "not_found_error",
    );
  });

  test("works in its own org, where another org's public capability stays readable", async () => {
    assert.equal((await callApi(t, "GET", "/api/v1/org/default/ws", limited.key)).statusCode, 200);
    const pub = await callApi(t, "GET", "/api/v1/org/default/capabilities/other%2Fpub", limited.key);
    assert.equal(pub.statusCode, 200, pub.body);
  });

  test("shows only its org under /user", async () => {
    const orgs = (await callApi(t, "GET", "/api/v1/user/organizations", limited.key)).json();
    assert.deepEqual(
      orgs.map((o: { key: string }) => o.key),
      ["default"],
    );
    const all = (await callApi(t, "GET", "/api/v1/user/api-keys", person.key)).json();
    assert.ok(all.length >= 2);
    const visible = (await callApi(t, "GET", "/api/v1/user/api-keys", limited.key)).json();
    assert.ok(visible.length >= 1);
    assert.ok(visible.every((k: { org_id: string | null }) => k.org_id !== null));
    assert.ok(visible.some((k: { id: string }) => k.id === limited.id));
    // The user's unlimited key is out of the limited key's sight: it cannot revoke it.
    const unlimited = all.find((k: { org_id: string | null }) => k.org_id === null);
    expectError(
      await callApi(t, "DELETE", `/api/v1/user/api-keys/${unlimited.id}`, limited.key),
      404,
      "not_found_error",
    );
    assert.equal((await callApi(t, "GET", "/api/v1/user/me", person.key)).statusCode, 200);
  });

  test("cannot create an org (403)", async () => {
    expectError(
      await callApi(t, "POST", "/api/v1/orgs", limited.key, { key: "escape", name: "Escape" }),
      403,
      "forbidden_error",
    );
    expectError(await callApi(t, "GET", "/api/v1/org/escape", t.adminKey), 404, "not_found_error");
  });
});
