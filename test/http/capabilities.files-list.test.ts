// GET CAP/{name}/{version}/files: a version's file manifest one page at a time (cursor style, SPEC
// §2.7), for clients that want the files without the whole detail; read like the files themselves.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, expectError } from "../helpers/api.js";
import { bind, newRuntime, runtimeUrl } from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { newOrg, newStranger, newUserKey } from "../helpers/factories.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";

interface FileEntry {
  path: string;
  sha256: string;
  size: number;
}

function docs(count: number, salt: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) files[`docs/page-${String(i).padStart(3, "0")}.md`] = `page ${i} ${salt}\n`;
  return files;
}

describe("the paged file list of a version", () => {
  let t: TestApp;
  let manifest: FileEntry[];

  before(async () => {
    t = await buildTestApp();
    // capability.yaml, README.md, agents/helper.md and 60 pages: 63 files.
    manifest = (await publishOk(t, { name: "paged", files: docs(60, "1") })).file_manifest;
    await publishOk(t, { name: "paged", version: "2.0.0", files: docs(3, "2") });
    await publishOk(t, { name: "other" });
    await newOrg(t, "acme");
    await publishOk(t, { name: "hidden" }, { org: "acme" });
  });
  after(() => t.close());

  const list = (url: string, key = t.adminKey) => callApi(t, "GET", url, key);

  test("pages through every file in manifest order, then next_cursor is null", async () => {
    const seen: FileEntry[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? "" : `&cursor=${cursor}`;
      const res = await list(`${CAP}/paged/1.0.0/files?limit=10${query}`);
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json();
      assert.deepEqual(Object.keys(page).sort(), ["items", "next_cursor"]);
      assert.ok(page.items.length <= 10);
      seen.push(...page.items);
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null);
    assert.equal(pages, 7);
    assert.deepEqual(seen, manifest);
    assert.equal(seen.length, 63);
  });

  test("takes 50 by default and at most 100", async () => {
    const first = (await list(`${CAP}/paged/1.0.0/files`)).json();
    assert.equal(first.items.length, 50);
    assert.deepEqual(first.items, manifest.slice(0, 50));
    const rest = (await list(`${CAP}/paged/1.0.0/files?cursor=${first.next_cursor}`)).json();
    assert.deepEqual(rest, { items: manifest.slice(50), next_cursor: null });
    const all = (await list(`${CAP}/paged/1.0.0/files?limit=100`)).json();
    assert.deepEqual(all, { items: manifest, next_cursor: null });
    expectError(await list(`${CAP}/paged/1.0.0/files?limit=0`), 422, "validation_error", ["query", "limit"]);
    expectError(await list(`${CAP}/paged/1.0.0/files?limit=101`), 422, "validation_error", [
      "query",
      "limit",
    ]);
  });

  test("`latest` lists the latest version's files", async () => {
    const res = (await list(`${CAP}/paged/latest/files`)).json();
    assert.equal(res.items.length, 6);
    assert.ok(res.items.some((f: FileEntry) => f.path === "docs/page-002.md"));
  });

  test("reaches a capability written as owner/name, encoded or as two segments", async () => {
    for (const url of [`${CAP}/default%2Fpaged/2.0.0/files`, `${CAP}/default/paged/2.0.0/files`]) {
      const res = await list(url);
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
      assert.equal(res.json().items.length, 6);
    }
  });

  test("refuses a cursor of another version, or one it never issued, with 422", async () => {
    const first = (await list(`${CAP}/paged/1.0.0/files?limit=2`)).json();
    for (const url of [
      `${CAP}/paged/2.0.0/files?cursor=${first.next_cursor}`,
      `${CAP}/other/1.0.0/files?cursor=${first.next_cursor}`,
      `${CAP}/paged/1.0.0/files?cursor=garbage`,
      `${CAP}/paged/1.0.0/files?cursor=${Buffer.from("x.1").toString("base64url")}`,
    ]) {
      expectError(await list(url), 422, "validation_error", ["query", "cursor"]);
    }
  });

  test("`…/files/` is still a file path no version has (404), not the list", async () => {
    expectError(await list(`${CAP}/paged/1.0.0/files/`), 404, "not_found_error");
  });

  test("answers 404 to non-members, for unknown versions and other orgs' private capabilities", async () => {
    const stranger = await newStranger(t);
    expectError(await list(`${CAP}/paged/1.0.0/files`, stranger.key), 404, "not_found_error");
    expectError(await list(`${CAP}/paged/9.0.0/files`), 404, "not_found_error");
    expectError(await list(`${CAP}/acme%2Fhidden/1.0.0/files`), 404, "not_found_error");
    const reader = await newUserKey(t, { role: "reader" });
    assert.equal((await list(`${CAP}/paged/1.0.0/files`, reader.key)).statusCode, 200);
  });

  test("a runtime token lists the files of bound versions only", async () => {
    const runtimeId = await newRuntime(t, "lister");
    await bind(t, runtimeId, { name: "paged", version: "1.0.0" });
    const minted = await callApi(t, "POST", `${runtimeUrl(runtimeId)}/tokens`, t.adminKey);
    assert.equal(minted.statusCode, 201, minted.body);
    const token = minted.json().token;
    const bound = await list(`${CAP}/paged/1.0.0/files?limit=100`, token);
    assert.equal(bound.statusCode, 200, bound.body);
    assert.deepEqual(bound.json().items, manifest);
    expectError(await list(`${CAP}/paged/2.0.0/files`, token), 403, "forbidden_error");
    expectError(await list(`${CAP}/other/1.0.0/files`, token), 403, "forbidden_error");
  });
});
