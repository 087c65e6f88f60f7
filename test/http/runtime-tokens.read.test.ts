// What a runtime token reads, and for how long (SPEC §7.6): every route it may call checks the
// same things — its runtime still exists, the user who minted it may still read that runtime's org,
// and the path is its own runtime's (or, for a bound public capability of another org, the owner's).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError } from "../helpers/api.js";
import { bind, bindingsUrl, newRuntime, resolvedUrl, runtimeUrl } from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newOrg, newUserKey, type UserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";

describe("runtime token reads", () => {
  let t: TestApp;
  let runtimeId: string;
  let bindingId: string;

  before(async () => {
    t = await buildTestApp();
    await publishOk(t, { name: "pkg" });
    runtimeId = await newRuntime(t, "reads");
    bindingId = (await bind(t, runtimeId, { name: "pkg" })).id;
    await newOrg(t, "elsewhere");
  });
  after(() => t.close());

  async function tokenOf(creator: UserKey): Promise<string> {
    const res = await callApi(t, "POST", `${runtimeUrl(runtimeId)}/tokens`, creator.key);
    assert.equal(res.statusCode, 201, res.body);
    return res.json().token;
  }

  /** Every read a runtime token may make, at its own runtime's paths. */
  const ownReads = () => [
    bindingsUrl(runtimeId),
    resolvedUrl(runtimeId),
    `${bindingsUrl(runtimeId)}/${bindingId}`,
    `${CAP}/pkg/1.0.0/bundle`,
    `${CAP}/pkg/1.0.0/files/capability.yaml`,
    `${CAP}/default%2Fpkg/1.0.0/bundle`,
    `${CAP}/default%2Fpkg/1.0.0/files/capability.yaml`,
  ];

  /** Files and bundles asked for under an org that is not the runtime's. */
  const foreignPaths = [
    "/api/v1/org/nowhere/capabilities/default%2Fpkg/1.0.0/bundle",
    "/api/v1/org/nowhere/capabilities/default%2Fpkg/1.0.0/files/capability.yaml",
    "/api/v1/org/nowhere/capabilities/default/pkg/1.0.0/bundle",
    "/api/v1/org/elsewhere/capabilities/default%2Fpkg/1.0.0/bundle",
    "/api/v1/org/elsewhere/capabilities/default%2Fpkg/1.0.0/files/capability.yaml",
  ];

  test("reads everything of its own runtime while its creator is a member", async () => {
    const token = await tokenOf(await newUserKey(t, { role: "contributor" }));
    for (const url of ownReads()) assert.equal((await callApi(t, "GET", url, token)).statusCode, 200, url);
  });

  test("answers 404 on every read once its creator has left the org", async () => {
    const creator = await newUserKey(t, { role: "contributor" });
    const token = await tokenOf(creator);
    const removed = await callApi(t, "DELETE", `/api/v1/org/default/members/${creator.userId}`, t.adminKey);
    assert.equal(removed.statusCode, 204, removed.body);
    for (const url of [...ownReads(), ...foreignPaths]) {
      expectError(await callApi(t, "GET", url, token), 404, "not_found_error");
    }
  });

  test("keeps reading when its creator is demoted to reader, a role that may read", async () => {
    const creator = await newUserKey(t, { role: "contributor" });
    const token = await tokenOf(creator);
    const demoted = await callApi(t, "PUT", `/api/v1/org/default/members/${creator.userId}`, t.adminKey, {
      role: "reader",
    });
    assert.equal(demoted.statusCode, 200, demoted.body);
    for (const url of ownReads()) assert.equal((await callApi(t, "GET", url, token)).statusCode, 200, url);
  });

  test("is refused with 403 for files and bundles under any org but its runtime's", async () => {
    const creator = await newUserKey(t, { role: "contributor" });
    // A member of `elsewhere` too: membership there must not open that path to the token.
    const added = await callApi(t, "POST", "/api/v1/org/elsewhere/members", t.adminKey, {
      email: creator.email,
      role: "owner",
    });
    assert.equal(added.statusCode, 201, added.body);
    const token = await tokenOf(creator);
    for (const url of foreignPaths) expectError(await callApi(t, "GET", url, token), 403, "forbidden_error");
  });

  test("is limited to its runtime's org", async () => {
    const creator = await newUserKey(t, { role: "contributor" });
    const minted = await callApi(t, "POST", `${runtimeUrl(runtimeId)}/tokens`, creator.key);
    const row = await t.deps.db
      .selectFrom("api_keys")
      .select("org_id")
      .where("id", "=", minted.json().id)
      .executeTakeFirstOrThrow();
    const org = await t.deps.db
      .selectFrom("orgs")
      .select("id")
      .where("key", "=", "default")
      .executeTakeFirstOrThrow();
    assert.equal(row.org_id, org.id);
  });
});

describe("a service account's runtime tokens", () => {
  let t: TestApp;
  let runtimeId: string;
  const SA = "/api/v1/org/default/service-accounts";

  before(async () => {
    t = await buildTestApp();
    await publishOk(t, { name: "pkg" });
    runtimeId = await newRuntime(t, "bot-runtime");
    await bind(t, runtimeId, { name: "pkg" });
  });
  after(() => t.close());

  async function serviceAccountToken(): Promise<{ accountId: string; tokenId: string; token: string }> {
    const account = (
      await callApi(t, "POST", SA, t.adminKey, { name: "deployer", role: "contributor" })
    ).json();
    const key = (
      await callApi(t, "POST", `${SA}/${account.user_id}/api-keys`, t.adminKey, { name: "ci" })
    ).json();
    const minted = await callApi(t, "POST", `${runtimeUrl(runtimeId)}/tokens`, key.key);
    assert.equal(minted.statusCode, 201, minted.body);
    return { accountId: account.user_id, tokenId: minted.json().id, token: minted.json().token };
  }

  test("are listed with its keys and revoked by an owner", async () => {
    const { accountId, tokenId, token } = await serviceAccountToken();
    assert.equal((await callApi(t, "GET", `${CAP}/pkg/1.0.0/bundle`, token)).statusCode, 200);
    const keys = (await callApi(t, "GET", `${SA}/${accountId}/api-keys`, t.adminKey)).json();
    const listed = keys.find((k: { id: string }) => k.id === tokenId);
    assert.equal(listed.runtime_id, runtimeId);
    const revoked = await callApi(t, "DELETE", `${SA}/${accountId}/api-keys/${tokenId}`, t.adminKey);
    assert.equal(revoked.statusCode, 204, revoked.body);
    expectError(await callApi(t, "GET", `${CAP}/pkg/1.0.0/bundle`, token), 401, "authentication_error");
  });

  test("stop reading when the service account is removed from its org", async () => {
    const { accountId, token } = await serviceAccountToken();
    const removed = await callApi(t, "DELETE", `/api/v1/org/default/members/${accountId}`, t.adminKey);
    assert.equal(removed.statusCode, 204, removed.body);
    expectError(
      await callApi(t, "GET", `${CAP}/pkg/1.0.0/files/capability.yaml`, token),
      404,
      "not_found_error",
    );
    expectError(await callApi(t, "GET", resolvedUrl(runtimeId), token), 404, "not_found_error");
  });
});
