// Prereleases and distribution tags (SPEC §13): a prerelease is published but never "latest";
// tags point at versions, `latest` is computed, and a yanked or deleted version loses its tags.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError } from "../helpers/api.js";
import { capabilityBundle, publishBundle, publishOk } from "../helpers/capability-bundles.js";
import { newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";

describe("prereleases and tags", () => {
  let t: TestApp;
  let contributor: string;
  let reader: string;

  before(async () => {
    t = await buildTestApp();
    contributor = (await newUserKey(t, { role: "contributor" })).key;
    reader = (await newUserKey(t, { role: "reader" })).key;
    await publishOk(t, { name: "tagged", version: "1.0.0" });
    await publishOk(t, { name: "tagged", version: "1.2.0" });
    await publishOk(t, { name: "tagged", version: "1.3.0-beta.1" });
  });
  after(() => t.close());

  const tags = async (name = "tagged", key = t.adminKey) => {
    const res = await callApi(t, "GET", `${CAP}/${name}/tags`, key);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const setTag = (tag: string, version: string, key = contributor, name = "tagged") =>
    callApi(t, "PUT", `${CAP}/${name}/tags/${tag}`, key, { version });

  test("publishes a prerelease without making it latest", async () => {
    const detail = await (await callApi(t, "GET", `${CAP}/tagged/latest`, t.adminKey)).json();
    assert.equal(detail.version, "1.2.0");
    const list = (await callApi(t, "GET", `${CAP}/tagged/versions`, t.adminKey)).json();
    assert.deepEqual(
      list.versions.map((v: { version: string }) => v.version),
      ["1.3.0-beta.1", "1.2.0", "1.0.0"],
    );
    assert.equal(list.latest_version, "1.2.0");
  });

  test("refuses a build suffix at publish", async () => {
    const res = await publishBundle(t, capabilityBundle({ name: "built", version: "1.0.0+build.5" }));
    expectError(res, 422, "validation_error", ["bundle", "capability.yaml", "version"]);
  });

  test("a capability with only prereleases has no latest", async () => {
    await publishOk(t, { name: "early", version: "0.1.0-alpha" });
    assert.deepEqual(await tags("early"), {});
    expectError(await callApi(t, "GET", `${CAP}/early/latest`, t.adminKey), 404, "not_found_error");
  });

  test("sets, moves and lists tags, shown in version lists and details", async () => {
    assert.equal((await setTag("beta", "1.3.0-beta.1")).statusCode, 200);
    const res = await setTag("stable", "1.0.0");
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { latest: "1.2.0", beta: "1.3.0-beta.1", stable: "1.0.0" });
    assert.equal((await setTag("stable", "1.2.0")).statusCode, 200);
    assert.deepEqual(await tags(), { latest: "1.2.0", beta: "1.3.0-beta.1", stable: "1.2.0" });

    const list = (await callApi(t, "GET", `${CAP}/tagged/versions`, t.adminKey)).json();
    const byVersion = Object.fromEntries(
      list.versions.map((v: { version: string; tags: string[] }) => [v.version, v.tags]),
    );
    assert.deepEqual(byVersion, { "1.3.0-beta.1": ["beta"], "1.2.0": ["stable"], "1.0.0": [] });
    const detail = (await callApi(t, "GET", `${CAP}/tagged/1.2.0`, t.adminKey)).json();
    assert.deepEqual(detail.tags, ["stable"]);
    // The cached detail follows a tag move.
    assert.equal((await setTag("stable", "1.0.0")).statusCode, 200);
    assert.deepEqual((await callApi(t, "GET", `${CAP}/tagged/1.2.0`, t.adminKey)).json().tags, []);
    assert.deepEqual((await callApi(t, "GET", `${CAP}/tagged/1.0.0`, t.adminKey)).json().tags, ["stable"]);
  });

  test("refuses to set or remove latest, and names that are not tags", async () => {
    expectError(await setTag("latest", "1.0.0"), 422, "validation_error", ["path", "tag"]);
    expectError(
      await callApi(t, "DELETE", `${CAP}/tagged/tags/latest`, contributor),
      422,
      "validation_error",
      ["path", "tag"],
    );
    for (const bad of ["Beta", "1beta", "-x", "a".repeat(33), "1.0.0"]) {
      expectError(await setTag(bad, "1.0.0"), 422, "validation_error");
    }
    expectError(await setTag("x", "not-a-version"), 422, "validation_error", ["body", "version"]);
    expectError(await setTag("x", "9.9.9"), 404, "not_found_error");
    assert.equal((await tags()).x, undefined);
  });

  test("readers may list but not change tags; non-members see 404", async () => {
    assert.equal((await tags("tagged", reader)).latest, "1.2.0");
    expectError(await setTag("rc", "1.2.0", reader), 403, "forbidden_error");
    expectError(await callApi(t, "DELETE", `${CAP}/tagged/tags/beta`, reader), 403, "forbidden_error");
    const outsider = await newStranger(t);
    expectError(await callApi(t, "GET", `${CAP}/tagged/tags`, outsider.key), 404, "not_found_error");
  });

  test("a yanked or deleted version loses its tags; a yanked one cannot be tagged", async () => {
    await publishOk(t, { name: "yanky", version: "2.0.0" });
    await publishOk(t, { name: "yanky", version: "2.1.0" });
    assert.equal((await setTag("stable", "2.0.0", contributor, "yanky")).statusCode, 200);
    assert.equal((await setTag("edge", "2.1.0", contributor, "yanky")).statusCode, 200);
    const yank = await callApi(t, "PATCH", `${CAP}/yanky/2.1.0`, contributor, { status: "yanked" });
    assert.equal(yank.statusCode, 200, yank.body);
    assert.deepEqual(await tags("yanky"), { latest: "2.0.0", stable: "2.0.0" });
    expectError(await setTag("edge", "2.1.0", contributor, "yanky"), 409, "conflict_error");
    const del = await callApi(t, "DELETE", `${CAP}/yanky/2.0.0`, t.adminKey);
    assert.equal(del.statusCode, 204, del.body);
    assert.deepEqual(await tags("yanky"), {});
  });

  test("removes a tag; removing it again is 404", async () => {
    assert.equal((await setTag("gone", "1.0.0")).statusCode, 200);
    assert.equal((await callApi(t, "DELETE", `${CAP}/tagged/tags/gone`, contributor)).statusCode, 204);
    assert.equal((await tags()).gone, undefined);
    expectError(await callApi(t, "DELETE", `${CAP}/tagged/tags/gone`, contributor), 404, "not_found_error");
  });
});
