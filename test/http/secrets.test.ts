// Workspace secrets (SPEC §11): the routes, roles and tenants, the binding mapping and
// missing_secrets, the references and digests of the resolved set, and GET RT/secrets.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import {
  bind,
  bindingsUrl,
  bindingUrl,
  listBindings,
  mintRuntimeToken,
  newRuntime,
  patchBinding,
  readResolved,
  runtimeUrl,
} from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newOrg, newStranger, newUserKey, newWorkspace } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

/** `${NAME}` in an env value: a secret reference, not a template. */
const ref = (name: string): string => ["$", "{", name, "}"].join("");

const SECRETS = "/api/v1/org/default/ws/main/secrets";

const WITH_SECRETS = [
  "secrets:",
  "  API_TOKEN:",
  "    description: Token of the tracker API",
  "  REGION:",
  "    description: Where to call",
  "    required: false",
  "workers:",
  "  poller:",
  "    command: ./poll",
  "    env:",
  `      TOKEN: "${ref("API_TOKEN")}"`,
  `      WHERE: "eu-${ref("REGION")}"`,
].join("\n");

describe("workspace secrets", () => {
  let t: TestApp;
  let runtimeId: string;
  let otherRuntimeId: string;
  let bindingId: string;
  let reader: string;
  let contributor: string;

  before(async () => {
    t = await buildTestApp();
    reader = (await newUserKey(t, { role: "reader" })).key;
    contributor = (await newUserKey(t, { role: "contributor" })).key;
    await publishOk(t, { name: "tracker", version: "1.0.0", manifestExtra: WITH_SECRETS });
    await publishOk(t, { name: "tracker", version: "2.0.0" });
    await publishOk(t, { name: "plain", version: "1.0.0" });
    runtimeId = await newRuntime(t, "with-secrets");
    otherRuntimeId = await newRuntime(t, "other");
    bindingId = (await bind(t, runtimeId, { name: "tracker", version: "1.0.0" })).id;
    await bind(t, runtimeId, { name: "plain" });
    await bind(t, otherRuntimeId, {
      name: "tracker",
      version: "1.0.0",
      secrets: { API_TOKEN: "OTHER_TOKEN" },
    });
  });
  after(() => t.close());

  test("PUT creates with 201 and version 1, changes with 200 and version + 1, the same value changes nothing", async () => {
    const created = await callApi(t, "PUT", `${SECRETS}/FIRST`, contributor, {
      value: "v1",
      description: "first",
    });
    assert.equal(created.statusCode, 201, created.body);
    const body = created.json();
    assert.equal(body.version, 1);
    assert.equal(body.name, "FIRST");
    assert.equal(body.description, "first");
    assert.match(body.updated_by, /@example\.test$/);
    assert.equal("value" in body, false);

    const changed = await callApi(t, "PUT", `${SECRETS}/FIRST`, contributor, { value: "v2" });
    assert.equal(changed.statusCode, 200);
    assert.equal(changed.json().version, 2);
    assert.equal(changed.json().description, "first", "an omitted description is kept");

    const same = await callApi(t, "PUT", `${SECRETS}/FIRST`, contributor, { value: "v2" });
    assert.equal(same.statusCode, 200);
    assert.equal(same.json().version, 2);

    const described = await callApi(t, "PUT", `${SECRETS}/FIRST`, contributor, {
      value: "v2",
      description: null,
    });
    assert.equal(described.json().version, 3);
    assert.equal(described.json().description, null);
  });

  test("GET lists metadata by name for a reader, never values", async () => {
    await callApi(t, "PUT", `${SECRETS}/A_SECOND`, t.adminKey, { value: "hidden-list-value" });
    const res = await callApi(t, "GET", SECRETS, reader);
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.includes("hidden-list-value"), false);
    const names = res.json().items.map((item: { name: string }) => item.name);
    assert.deepEqual(names, [...names].sort());
    assert.ok(names.includes("A_SECOND"));
    assert.deepEqual(Object.keys(res.json().items[0]).sort(), [
      "created_at",
      "description",
      "id",
      "name",
      "updated_at",
      "updated_by",
      "version",
    ]);
  });

  test("DELETE answers 204, then 404", async () => {
    await callApi(t, "PUT", `${SECRETS}/DOOMED`, contributor, { value: "x" });
    assert.equal((await callApi(t, "DELETE", `${SECRETS}/DOOMED`, contributor)).statusCode, 204);
    expectError(await callApi(t, "DELETE", `${SECRETS}/DOOMED`, contributor), 404, "not_found_error");
  });

  test("a reader may not write (403); a stranger gets 404; no key 401", async () => {
    expectError(await callApi(t, "PUT", `${SECRETS}/NOPE`, reader, { value: "x" }), 403, "forbidden_error");
    expectError(await callApi(t, "DELETE", `${SECRETS}/FIRST`, reader), 403, "forbidden_error");
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", SECRETS, stranger.key), 404, "not_found_error");
    expectError(
      await callApi(t, "PUT", `${SECRETS}/NOPE`, stranger.key, { value: "x" }),
      404,
      "not_found_error",
    );
    await expectUnauthenticated(t, "GET", SECRETS);
  });

  test("names and values are validated with 422 and nothing is stored", async () => {
    for (const name of ["lower", "1START", "A-B", `A${"B".repeat(128)}`]) {
      expectError(
        await callApi(t, "PUT", `${SECRETS}/${name}`, contributor, { value: "x" }),
        422,
        "validation_error",
      );
    }
    expectError(
      await callApi(t, "PUT", `${SECRETS}/EMPTY`, contributor, { value: "" }),
      422,
      "validation_error",
    );
    // 65,536 bytes pass; one more (a 2-byte character) does not.
    const max = await callApi(t, "PUT", `${SECRETS}/BIG`, contributor, {
      value: "a".repeat(65_536),
    });
    assert.equal(max.statusCode, 201, max.body);
    expectError(
      await callApi(t, "PUT", `${SECRETS}/BIGGER`, contributor, {
        value: `é${"a".repeat(65_535)}`,
      }),
      422,
      "validation_error",
      ["body", "value"],
    );
    expectError(
      await callApi(t, "PUT", `${SECRETS}/EXTRA`, contributor, { value: "x", unknown: 1 }),
      422,
      "validation_error",
    );
    const names = (await callApi(t, "GET", SECRETS, reader))
      .json()
      .items.map((i: { name: string }) => i.name);
    assert.equal(names.includes("BIGGER"), false);
    assert.equal(names.includes("EMPTY"), false);
    assert.equal(names.includes("EXTRA"), false);
  });

  test("secrets are per workspace: another workspace does not see them", async () => {
    await newWorkspace(t, "default", "staging");
    const other = "/api/v1/org/default/ws/staging/secrets";
    assert.deepEqual((await callApi(t, "GET", other, reader)).json().items, []);
    assert.equal(
      (await callApi(t, "PUT", `${other}/FIRST`, contributor, { value: "staging" })).statusCode,
      201,
    );
  });

  test("the binding list shows the mapping and the required secrets that are missing", async () => {
    const items = await listBindings(t, runtimeId);
    const tracker = items.find((item) => item.capability_name === "tracker") as unknown as Record<
      string,
      unknown
    >;
    assert.deepEqual(tracker.missing_secrets, ["API_TOKEN"], "REGION is optional");
    assert.deepEqual(tracker.secrets, {});
    const plain = items.find((item) => item.capability_name === "plain") as unknown as Record<
      string,
      unknown
    >;
    assert.deepEqual(plain.missing_secrets, []);

    await callApi(t, "PUT", `${SECRETS}/API_TOKEN`, contributor, { value: "tok-1" });
    const after = (await listBindings(t, runtimeId)).find((item) => item.capability_name === "tracker");
    assert.deepEqual(
      (after as unknown as Record<string, unknown>).missing_secrets,
      [],
      "the cached list was dropped",
    );
  });

  test("PATCH maps a declared secret to another workspace secret, null restores the default; undeclared → 422", async () => {
    const mapped = (await patchBinding(t, runtimeId, bindingId, {
      secrets: { API_TOKEN: "TRACKER_PROD" },
    })) as unknown as Record<string, unknown>;
    assert.deepEqual(mapped.secrets, { API_TOKEN: "TRACKER_PROD" });
    assert.deepEqual(mapped.missing_secrets, ["API_TOKEN"]);
    expectError(
      await callApi(t, "PATCH", bindingUrl(runtimeId, bindingId), t.adminKey, {
        secrets: { NOT_DECLARED: "X" },
      }),
      422,
      "validation_error",
      ["body", "secrets", "NOT_DECLARED"],
    );
    expectError(
      await callApi(t, "PATCH", bindingUrl(runtimeId, bindingId), t.adminKey, {
        secrets: { API_TOKEN: "bad name" },
      }),
      422,
      "validation_error",
    );
    const restored = (await patchBinding(t, runtimeId, bindingId, {
      secrets: { API_TOKEN: null },
    })) as unknown as Record<string, unknown>;
    assert.deepEqual(restored.secrets, {});
    assert.deepEqual(restored.missing_secrets, []);
  });

  test("the resolved set references secrets with versions, and a new version changes the digests", async () => {
    await callApi(t, "PUT", `${SECRETS}/API_TOKEN`, contributor, { value: "tok-resolved-1" });
    const first = await readResolved(t, runtimeId);
    const tracker = first.capabilities.find((c) => c.name === "tracker") as unknown as Record<
      string,
      unknown
    >;
    const version = (await callApi(t, "GET", SECRETS, reader))
      .json()
      .items.find((i: { name: string }) => i.name === "API_TOKEN").version;
    assert.deepEqual(tracker.secrets, [
      { name: "API_TOKEN", secret: "API_TOKEN", version },
      { name: "REGION", secret: "REGION", version: null },
    ]);
    const plain = first.capabilities.find((c) => c.name === "plain") as unknown as Record<string, unknown>;
    assert.deepEqual(plain.secrets, []);

    await callApi(t, "PUT", `${SECRETS}/API_TOKEN`, contributor, { value: "tok-resolved-2" });
    const second = await readResolved(t, runtimeId);
    assert.notEqual(second.runtime_digest, first.runtime_digest);
    const tracker2 = second.capabilities.find((c) => c.name === "tracker");
    assert.equal(tracker2?.runtime_digest, tracker.runtime_digest, "a capability's digest is its files'");
    assert.equal(
      second.capabilities.find((c) => c.name === "plain")?.runtime_digest,
      (plain as { runtime_digest: string }).runtime_digest,
      "a capability without secrets keeps its digest",
    );
    assert.equal(JSON.stringify(second).includes("tok-resolved-2"), false);
  });

  test("GET RT/secrets gives the runtime's token its enabled bindings' values, audited by name only", async () => {
    await callApi(t, "PUT", `${SECRETS}/API_TOKEN`, contributor, { value: "tok-delivered" });
    await callApi(t, "PUT", `${SECRETS}/OTHER_TOKEN`, contributor, {
      value: "tok-other-runtime",
    });
    const token = await mintRuntimeToken(t, runtimeId);
    const res = await callApi(t, "GET", `${runtimeUrl(runtimeId)}/secrets`, token);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers["cache-control"], "no-store");
    assert.deepEqual(res.json(), { values: { tracker: { API_TOKEN: "tok-delivered" } } });

    const other = await callApi(t, "GET", `${runtimeUrl(otherRuntimeId)}/secrets`, t.adminKey);
    assert.deepEqual(other.json(), { values: { tracker: { API_TOKEN: "tok-other-runtime" } } });

    const audit = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "secret.read")
      .where("target_id", "=", runtimeId)
      .execute();
    assert.equal(audit.length, 1);
    assert.deepEqual(JSON.parse(audit[0].data).secrets, { tracker: { API_TOKEN: "API_TOKEN" } });
    assert.equal(audit[0].data.includes("tok-delivered"), false);
  });

  test("a disabled binding's secrets are not delivered", async () => {
    await patchBinding(t, runtimeId, bindingId, { enabled: false });
    const res = await callApi(t, "GET", `${runtimeUrl(runtimeId)}/secrets`, t.adminKey);
    assert.deepEqual(res.json(), { values: {} });
    await patchBinding(t, runtimeId, bindingId, { enabled: true });
  });

  test("runtime A's token cannot read runtime B's secrets; readers and contributors cannot read values", async () => {
    const tokenA = await mintRuntimeToken(t, runtimeId);
    expectError(
      await callApi(t, "GET", `${runtimeUrl(otherRuntimeId)}/secrets`, tokenA),
      403,
      "forbidden_error",
    );
    expectError(await callApi(t, "GET", `${runtimeUrl(runtimeId)}/secrets`, reader), 403, "forbidden_error");
    expectError(
      await callApi(t, "GET", `${runtimeUrl(runtimeId)}/secrets`, contributor),
      403,
      "forbidden_error",
    );
    // A runtime token may not manage secrets either.
    expectError(await callApi(t, "GET", SECRETS, tokenA), 403, "forbidden_error");
    expectError(
      await callApi(t, "PUT", `${SECRETS}/API_TOKEN`, tokenA, { value: "x" }),
      403,
      "forbidden_error",
    );
    const stranger = await newStranger(t);
    expectError(
      await callApi(t, "GET", `${runtimeUrl(runtimeId)}/secrets`, stranger.key),
      404,
      "not_found_error",
    );
  });

  test("a runtime token minted by a contributor cannot read values (403); it can still read the resolved set", async () => {
    const res = await callApi(t, "POST", `${runtimeUrl(runtimeId)}/tokens`, contributor, {});
    assert.equal(res.statusCode, 201, res.body);
    const token = res.json().token;
    const refused = await callApi(t, "GET", `${runtimeUrl(runtimeId)}/secrets`, token);
    expectError(refused, 403, "forbidden_error");
    assert.equal(refused.body.includes("tok-delivered"), false);
    const resolved = await callApi(t, "GET", `${runtimeUrl(runtimeId)}/capabilities/resolved`, token);
    assert.equal(resolved.statusCode, 200, resolved.body);
  });

  test("auto-update never follows a version that declares a new secret; a person upgrades it", async () => {
    await publishOk(t, { name: "grows", version: "1.0.0" });
    const runtime = await newRuntime(t, "auto-secrets");
    const binding = await bind(t, runtime, { name: "grows", auto_update: true });
    const current = async () =>
      (await callApi(t, "GET", bindingsUrl(runtime), t.adminKey)).json().items[0] as {
        version: string;
        upgrade_available: boolean;
      };
    // 1.1.0 wants API_TOKEN and REGION: following it would hand them over unreviewed.
    await publishOk(t, { name: "grows", version: "1.1.0", manifestExtra: WITH_SECRETS });
    assert.equal((await current()).version, "1.0.0");
    assert.equal((await current()).upgrade_available, true);
    // A later version without new secrets is followed as usual.
    await publishOk(t, { name: "grows", version: "1.2.0" });
    assert.equal((await current()).version, "1.2.0");
    assert.ok(binding.id);
  });

  test("an owner of another org cannot read this org's runtime secrets", async () => {
    const acme = await newOrg(t, "acme-secrets");
    assert.ok(acme);
    const owner = await newUserKey(t, { org: "acme-secrets", role: "owner" });
    expectError(
      await callApi(t, "GET", `${runtimeUrl(runtimeId)}/secrets`, owner.key),
      404,
      "not_found_error",
    );
  });

  test("changing the bound version drops mappings the new version does not declare", async () => {
    await patchBinding(t, runtimeId, bindingId, { secrets: { API_TOKEN: "TRACKER_PROD" } });
    const upgraded = (await patchBinding(t, runtimeId, bindingId, { version: "2.0.0" })) as unknown as Record<
      string,
      unknown
    >;
    assert.deepEqual(upgraded.secrets, {});
    assert.deepEqual(upgraded.missing_secrets, []);
    await patchBinding(t, runtimeId, bindingId, { version: "1.0.0" });
  });

  test("a binding created with a mapping for an undeclared secret is refused with 422", async () => {
    const rt = await newRuntime(t, "refused-mapping");
    expectError(
      await callApi(t, "POST", `${runtimeUrl(rt)}/capabilities`, t.adminKey, {
        name: "plain",
        secrets: { X: "Y" },
      }),
      422,
      "validation_error",
      ["body", "secrets", "X"],
    );
    assert.deepEqual(await listBindings(t, rt), []);
  });

  test("PUT RT/config sets each capability's mapping; an undeclared name is 422 and changes nothing", async () => {
    const rt = await newRuntime(t, "configured");
    const put = (capabilities: unknown[]) =>
      callApi(t, "PUT", `${runtimeUrl(rt)}/config`, t.adminKey, { config: { version: "v2", capabilities } });
    const applied = await put([{ name: "tracker", version: "1.0.0", secrets: { API_TOKEN: "OTHER_TOKEN" } }]);
    assert.equal(applied.statusCode, 200, applied.body);
    let [binding] = (await listBindings(t, rt)) as unknown as Record<string, unknown>[];
    assert.deepEqual(binding.secrets, { API_TOKEN: "OTHER_TOKEN" });
    expectError(
      await put([{ name: "tracker", version: "1.0.0", secrets: { NOPE: "X" } }]),
      422,
      "validation_error",
      ["body", "config", "capabilities", "tracker", "secrets", "NOPE"],
    );
    // Kept when the entry does not say; replaced when it does.
    assert.equal((await put([{ name: "tracker", version: "1.0.0" }])).statusCode, 200);
    [binding] = (await listBindings(t, rt)) as unknown as Record<string, unknown>[];
    assert.deepEqual(binding.secrets, { API_TOKEN: "OTHER_TOKEN" });
    assert.equal((await put([{ name: "tracker", version: "1.0.0", secrets: {} }])).statusCode, 200);
    [binding] = (await listBindings(t, rt)) as unknown as Record<string, unknown>[];
    assert.deepEqual(binding.secrets, {});
  });
});
