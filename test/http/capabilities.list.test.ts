import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError, expectUnauthenticated } from "../helpers/api.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";

const names = (body: { capabilities: { name: string }[] }) => body.capabilities.map((c) => c.name);

describe("GET /api/v1/org/{org}/capabilities and /facets", () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    await publishOk(t, { name: "alpha", keywords: ["search", "web"], author: "Ada", license: "MIT" });
    await publishOk(t, {
      name: "alpha",
      version: "1.10.0",
      keywords: ["search", "web"],
      author: "Ada",
      license: "MIT",
    });
    await publishOk(t, {
      name: "alpha",
      version: "1.9.0",
      keywords: ["search", "web"],
      author: "Ada",
      license: "MIT",
    });
    await publishOk(t, {
      name: "bravo",
      description: "Reads PDF files",
      keywords: ["documents"],
      author: "Grace",
      license: "Apache-2.0",
    });
    await publishOk(t, { name: "charlie", keywords: ["web"], author: "Linus", license: "MIT" });
    await newOrg(t, "acme");
    await publishOk(
      t,
      { name: "rocket", keywords: ["web"], author: "Acme", license: "MIT" },
      { org: "acme", query: "public=true" },
    );
    await publishOk(t, { name: "secret", author: "Acme" }, { org: "acme" });
  });
  after(() => t.close());

  test("lists one row per name with its latest version, versions newest first", async () => {
    const res = await callApi(t, "GET", CAP, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.deepEqual(names(body), ["alpha", "bravo", "charlie"]);
    const alpha = body.capabilities[0];
    assert.equal(alpha.version, "1.10.0");
    assert.deepEqual(alpha.versions, ["1.10.0", "1.9.0", "1.0.0"]);
    assert.equal(alpha.version_count, 3);
    assert.deepEqual(Object.keys(alpha).sort(), [
      "author_name",
      "component_counts",
      "created_at",
      "description",
      "id",
      "is_public",
      "keywords",
      "license",
      "name",
      "status",
      "updated_at",
      "version",
      "version_count",
      "versions",
    ]);
    assert.deepEqual(
      {
        total: body.total,
        page: body.page,
        total_pages: body.total_pages,
        next: body.has_next,
        prev: body.has_previous,
      },
      { total: 3, page: 1, total_pages: 1, next: false, prev: false },
    );
  });

  test("searches name, description and keywords, case-insensitively", async () => {
    assert.deepEqual(names((await callApi(t, "GET", `${CAP}?search=ALPH`, t.adminKey)).json()), ["alpha"]);
    assert.deepEqual(names((await callApi(t, "GET", `${CAP}?search=pdf`, t.adminKey)).json()), ["bravo"]);
    assert.deepEqual(names((await callApi(t, "GET", `${CAP}?search=documents`, t.adminKey)).json()), [
      "bravo",
    ]);
    assert.deepEqual(names((await callApi(t, "GET", `${CAP}?search=%25`, t.adminKey)).json()), []);
  });

  test("filters by keywords, author and license, any of the repeated values", async () => {
    const web = (await callApi(t, "GET", `${CAP}?keywords=documents&keywords=search`, t.adminKey)).json();
    assert.deepEqual(names(web), ["alpha", "bravo"]);
    const authors = (await callApi(t, "GET", `${CAP}?author=Grace&author=Linus`, t.adminKey)).json();
    assert.deepEqual(names(authors), ["bravo", "charlie"]);
    const licenses = (await callApi(t, "GET", `${CAP}?license=Apache-2.0`, t.adminKey)).json();
    assert.deepEqual(names(licenses), ["bravo"]);
    const keyword = (await callApi(t, "GET", `${CAP}?keywords=we`, t.adminKey)).json();
    assert.deepEqual(names(keyword), [], "a keyword matches whole, not as a substring");
  });

  test("includes other orgs' public capabilities as owner/name only when asked", async () => {
    const withPublic = (
      await callApi(t, "GET", `${CAP}?include_public=true&keywords=web`, t.adminKey)
    ).json();
    assert.deepEqual(names(withPublic), ["alpha", "charlie", "acme/rocket"]);
    assert.equal(withPublic.capabilities[2].is_public, true);
  });

  test("sorts by the requested column and direction", async () => {
    const byName = (await callApi(t, "GET", `${CAP}?sort_by=name&sort_dir=desc`, t.adminKey)).json();
    assert.deepEqual(names(byName), ["charlie", "bravo", "alpha"]);
    const byAuthor = (await callApi(t, "GET", `${CAP}?sort_by=author_name`, t.adminKey)).json();
    assert.deepEqual(names(byAuthor), ["alpha", "bravo", "charlie"]);
    const byCreated = (await callApi(t, "GET", `${CAP}?sort_by=created_at&sort_dir=desc`, t.adminKey)).json();
    assert.deepEqual(names(byCreated), ["charlie", "bravo", "alpha"]);
  });

  test("pages with page and limit (or page_size)", async () => {
    const first = (await callApi(t, "GET", `${CAP}?limit=2`, t.adminKey)).json();
    assert.deepEqual(names(first), ["alpha", "bravo"]);
    assert.deepEqual(
      [first.total, first.total_pages, first.has_next, first.has_previous],
      [3, 2, true, false],
    );
    const second = (await callApi(t, "GET", `${CAP}?page=2&page_size=2`, t.adminKey)).json();
    assert.deepEqual(names(second), ["charlie"]);
    assert.deepEqual([second.limit, second.has_next, second.has_previous], [2, false, true]);
  });

  test("leaves out a capability whose versions are all yanked", async () => {
    await publishOk(t, { name: "withdrawn" });
    await callApi(t, "PATCH", `${CAP}/withdrawn/1.0.0`, t.adminKey, { status: "yanked" });
    assert.ok(!names((await callApi(t, "GET", CAP, t.adminKey)).json()).includes("withdrawn"));
    await callApi(t, "PATCH", `${CAP}/withdrawn/1.0.0`, t.adminKey, { status: "active" });
    assert.ok(names((await callApi(t, "GET", CAP, t.adminKey)).json()).includes("withdrawn"));
  });

  test("counts keywords, authors and licenses over what the list shows", async () => {
    const res = await callApi(t, "GET", `${CAP}/facets?keywords=web&include_public=true`, t.adminKey);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), {
      keywords: [
        { value: "web", count: 3 },
        { value: "search", count: 1 },
      ],
      authors: [
        { value: "Acme", count: 1 },
        { value: "Ada", count: 1 },
        { value: "Linus", count: 1 },
      ],
      licenses: [{ value: "MIT", count: 3 }],
    });
  });

  test("takes the list's own query for facets: sorting and paging change no count", async () => {
    const filters = "keywords=web&include_public=true";
    const plain = await callApi(t, "GET", `${CAP}/facets?${filters}`, t.adminKey);
    const withListQuery = await callApi(
      t,
      "GET",
      `${CAP}/facets?${filters}&sort_by=name&sort_dir=desc&page=2&limit=1`,
      t.adminKey,
    );
    assert.equal(withListQuery.statusCode, 200, withListQuery.body);
    assert.deepEqual(withListQuery.json(), plain.json());
    expectError(await callApi(t, "GET", `${CAP}/facets?sort_by=stars`, t.adminKey), 422, "validation_error", [
      "query",
      "sort_by",
    ]);
  });

  test("lets a reader list", async () => {
    const reader = await newUserKey(t, { role: "reader" });
    assert.equal((await callApi(t, "GET", CAP, reader.key)).statusCode, 200);
  });

  test("rejects missing and unknown keys with 401", async () => {
    await expectUnauthenticated(t, "GET", CAP);
    await expectUnauthenticated(t, "GET", `${CAP}/facets`);
  });

  test("answers 404 to a non-member", async () => {
    const stranger = await newStranger(t);
    expectError(await callApi(t, "GET", CAP, stranger.key), 404, "not_found_error");
    expectError(await callApi(t, "GET", `${CAP}/facets`, stranger.key), 404, "not_found_error");
  });

  test("answers 422 for a bad sort column, page size or direction", async () => {
    expectError(await callApi(t, "GET", `${CAP}?sort_by=stars`, t.adminKey), 422, "validation_error", [
      "query",
      "sort_by",
    ]);
    expectError(await callApi(t, "GET", `${CAP}?limit=0`, t.adminKey), 422, "validation_error", [
      "query",
      "limit",
    ]);
    expectError(await callApi(t, "GET", `${CAP}?limit=101`, t.adminKey), 422, "validation_error", [
      "query",
      "limit",
    ]);
    expectError(await callApi(t, "GET", `${CAP}?sort_dir=up`, t.adminKey), 422, "validation_error", [
      "query",
      "sort_dir",
    ]);
    expectError(await callApi(t, "GET", `${CAP}?page=0`, t.adminKey), 422, "validation_error", [
      "query",
      "page",
    ]);
  });

  test("answers 422 for a page number past 2^31 - 1, and an empty page before it", async () => {
    for (const page of ["2147483648", "9007199254740993", "9999999999999999999"]) {
      expectError(await callApi(t, "GET", `${CAP}?page=${page}`, t.adminKey), 422, "validation_error", [
        "query",
        "page",
      ]);
    }
    const last = await callApi(t, "GET", `${CAP}?page=2147483647&limit=100`, t.adminKey);
    assert.equal(last.statusCode, 200, last.body);
    assert.deepEqual(last.json().capabilities, []);
    assert.equal(last.json().page, 2147483647);
  });
});
