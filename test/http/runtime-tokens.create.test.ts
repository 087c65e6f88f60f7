import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { seedCapability } from "../../scripts/seed.js";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import {
  bind,
  bindingsUrl,
  listBindings,
  newRuntime,
  readResolved,
  runtimeUrl,
} from "../helpers/bindings.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const DAY_MS = 24 * 60 * 60 * 1000;

describe("POST RT/tokens", () => {
  let t: TestApp;
  let runtimeId: string;
  const tokensUrl = (id: string) => `${runtimeUrl(id)}/tokens`;

  before(async () => {
    t = await buildTestApp();
    await seedCapability(t.deps, { name: "alpha", versions: ["1.0.0"] });
    runtimeId = await newRuntime(t, "tokens");
    await bind(t, runtimeId, { name: "alpha" });
  });
  after(() => t.close());

  test("mints a runtime token that expires in 30 days by default", async () => {
    const res = await callApi(t, "POST", tokensUrl(runtimeId), t.adminKey);
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ["expires_at", "id", "token"]);
    assert.match(body.token, /^cst_[a-z2-7]{12}_[A-Za-z0-9]{32,128}$/);
    const lifetime = Date.parse(body.expires_at) - t.deps.now().getTime();
    assert.ok(Math.abs(lifetime - 30 * DAY_MS) < 60_000, `lifetime ${lifetime}`);
    const row = await t.deps.db
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", body.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.runtime_id, runtimeId);
    assert.equal(row.read_only, 1);
    assert.equal(row.name, "runtime tokens");
  });

  test("takes a name and a lifetime in days", async () => {
    const res = await callApi(t, "POST", tokensUrl(runtimeId), t.adminKey, {
      name: "edge box",
      expires_in_days: 2,
    });
    assert.equal(res.statusCode, 201, res.body);
    const lifetime = Date.parse(res.json().expires_at) - t.deps.now().getTime();
    assert.ok(Math.abs(lifetime - 2 * DAY_MS) < 60_000);
  });

  test("records the creation in the audit log without the token", async () => {
    const res = await callApi(t, "POST", tokensUrl(runtimeId), t.adminKey, {});
    const { id, token } = res.json();
    const event = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "runtime.token.created")
      .where("target_id", "=", id)
      .executeTakeFirstOrThrow();
    assert.equal(JSON.parse(event.data).runtime_id, runtimeId);
    assert.ok(!event.data.includes(token.split("_")[2]));
  });

  test("reads its runtime's binding list and resolved set", async () => {
    const token = (await callApi(t, "POST", tokensUrl(runtimeId), t.adminKey)).json().token;
    assert.deepEqual(
      (await listBindings(t, runtimeId, token)).map((b) => b.capability_name),
      ["alpha"],
    );
    assert.equal((await readResolved(t, runtimeId, token)).capabilities.length, 1);
  });

  test("reads one of its runtime's bindings, but not another runtime's nor its upgrade preview", async () => {
    const token = (await callApi(t, "POST", tokensUrl(runtimeId), t.adminKey)).json().token;
    const [binding] = await listBindings(t, runtimeId, t.adminKey);
    const own = await callApi(t, "GET", `${bindingsUrl(runtimeId)}/${binding.id}`, token);
    assert.equal(own.statusCode, 200, own.body);
    assert.equal(own.json().id, binding.id);
    assert.equal(own.headers.etag, `"${binding.revision}"`);
    const other = await bind(t, t.runtimeId, { name: "alpha" });
    expectError(
      await callApi(t, "GET", `${bindingsUrl(t.runtimeId)}/${other.id}`, token),
      403,
      "forbidden_error",
    );
    expectError(
      await callApi(t, "GET", `${bindingsUrl(runtimeId)}/${binding.id}/upgrade-preview`, token),
      403,
      "forbidden_error",
    );
  });

  test("is refused on another runtime, on any other route and on every mutation", async () => {
    const token = (await callApi(t, "POST", tokensUrl(runtimeId), t.adminKey)).json().token;
    expectError(await callApi(t, "GET", bindingsUrl(t.runtimeId), token), 403, "forbidden_error");
    expectError(
      await callApi(t, "GET", `${bindingsUrl(t.runtimeId)}/resolved`, token),
      403,
      "forbidden_error",
    );
    expectError(await callApi(t, "GET", "/api/v1/user/me", token), 403, "forbidden_error");
    expectError(await callApi(t, "GET", runtimeUrl(runtimeId), token), 403, "forbidden_error");
    expectError(await callApi(t, "POST", tokensUrl(runtimeId), token), 403, "forbidden_error");
    expectError(
      await callApi(t, "POST", bindingsUrl(runtimeId), token, { name: "alpha" }),
      403,
      "forbidden_error",
    );
  });

  test("stops working once it expires", async () => {
    const token = (await callApi(t, "POST", tokensUrl(runtimeId), t.adminKey, { expires_in_days: 1 })).json()
      .token;
    await listBindings(t, runtimeId, token);
    t.advanceClock(DAY_MS + 60_000);
    expectError(await callApi(t, "GET", bindingsUrl(runtimeId), token), 401, "expired_token_error");
  });

  test("rejects unknown fields and out-of-range lifetimes with 422", async () => {
    expectError(
      await callApi(t, "POST", tokensUrl(runtimeId), t.adminKey, { scope: "all" }),
      422,
      "validation_error",
      ["body", "scope"],
    );
    const res = await callApi(t, "POST", tokensUrl(runtimeId), t.adminKey, { expires_in_days: 0 });
    expectError(res, 422, "validation_error", ["body", "expires_in_days"]);
  });

  test("lets a contributor mint and forbids readers and read-only keys with 403", async () => {
    const contributor = await newUserKey(t, { role: "contributor" });
    assert.equal((await callApi(t, "POST", tokensUrl(runtimeId), contributor.key)).statusCode, 201);
    const reader = await newUserKey(t, { role: "reader" });
    const readOnly = await newUserKey(t, { role: "owner", readOnly: true });
    expectError(await callApi(t, "POST", tokensUrl(runtimeId), reader.key), 403, "forbidden_error");
    expectError(await callApi(t, "POST", tokensUrl(runtimeId), readOnly.key), 403, "forbidden_error");
  });

  test("rejects a missing or unknown key with 401, a stranger and an unknown runtime with 404", async () => {
    await expectUnauthenticated(t, "POST", tokensUrl(runtimeId));
    const stranger = await newStranger(t);
    expectError(await callApi(t, "POST", tokensUrl(runtimeId), stranger.key), 404, "not_found_error");
    expectError(
      await callApi(t, "POST", tokensUrl("2489e9ad-2ee2-8e00-8ec9-32d5f69181c0"), t.adminKey),
      404,
      "not_found_error",
    );
    expectError(await callApi(t, "POST", tokensUrl("nope"), t.adminKey), 422, "validation_error", [
      "path",
      "runtime_id",
    ]);
  });
});
