// The OpenAPI document as client generators read it: operation ids, path parameters, servers,
// licence, tags and examples. The lint (lint.test.ts) and a generated client (generated-client.test.ts)
// check the rest.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { OPERATION_EXAMPLES } from "../../src/contract/examples.js";
import { bind } from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const readJson = (relative: string) => JSON.parse(readFileSync(path.join(ROOT, relative), "utf8"));

interface Parameter {
  in: string;
  name: string;
  description?: string;
}
interface Media {
  schema?: unknown;
  example?: unknown;
}
interface Operation {
  operationId?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
}
interface Document {
  info: { license?: { name: string; identifier?: string } };
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
}

const METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

function operationsOf(document: Document): { method: string; path: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, operation]) => ({ method, path, operation })),
  );
}

function operationById(document: Document, id: string): Operation {
  const found = operationsOf(document).find(({ operation }) => operation.operationId === id);
  assert.ok(found, `no operation ${id}`);
  return found.operation;
}

/** SPEC §7.1: the fields of every item of `GET RT/capabilities`. */
const BINDING_FIELDS = [
  "artifact_id",
  "auto_update",
  "capability_name",
  "component_counts",
  "created_at",
  "description",
  "enabled",
  "flags",
  "id",
  "latest_version",
  "missing_secrets",
  "revision",
  "secrets",
  "source",
  "status",
  "track",
  "updated_at",
  "upgrade_available",
  "version",
];

describe("the OpenAPI document", () => {
  // A public URL with a path that is also the start of every API path: it must not be cut from them.
  const PUBLIC_URL = "https://capstan.example.com/api";
  let t: TestApp;
  let served: Document;
  const committed: Document = readJson("openapi/openapi.json");
  before(async () => {
    t = await buildTestApp({ env: { CAPSTAN_PUBLIC_URL: PUBLIC_URL } });
    const res = await t.app.inject({ method: "GET", url: "/openapi.json" });
    assert.equal(res.statusCode, 200);
    served = res.json();
  });
  after(() => t.close());

  test("gives every operation an operationId, unique and in camelCase", () => {
    const operations = operationsOf(served);
    assert.ok(operations.length > 50, "the paths were read");
    const missing = operations.filter(({ operation }) => operation.operationId === undefined);
    assert.deepEqual(
      missing.map(({ method, path }) => `${method} ${path}`),
      [],
    );
    const ids = operations.map(({ operation }) => operation.operationId as string);
    assert.deepEqual(
      ids.filter((id, i) => ids.indexOf(id) !== i),
      [],
      "duplicated ids",
    );
    for (const id of ids) assert.match(id, /^[a-z][a-zA-Z0-9]*$/);
  });

  test("keeps every published operationId on its operation, and publishes every new one", () => {
    // openapi/operation-ids.json is append-only: a generated client's method names are these ids,
    // so renaming or removing one breaks every client built on it. New ids are added to it.
    const published: Record<string, string> = readJson("openapi/operation-ids.json");
    const actual = new Map(
      operationsOf(served).map(({ method, path, operation }) => [
        operation.operationId,
        `${method.toUpperCase()} ${path}`,
      ]),
    );
    const changed = Object.entries(published)
      .filter(([id, where]) => actual.get(id) !== where)
      .map(([id, where]) => `${id}: published for ${where}, now ${actual.get(id) ?? "gone"}`);
    assert.deepEqual(changed, [], "a published operationId was renamed, moved or removed");
    const unpublished = [...actual]
      .filter(([id]) => !(id === undefined || id in published))
      .map(([id, where]) => `"${id}": "${where}"`);
    assert.deepEqual(unpublished, [], "add these to openapi/operation-ids.json");
  });

  test("declares every path parameter under the name its path uses; the file path is `{path}`", () => {
    for (const { method, path, operation } of operationsOf(served)) {
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]).sort();
      const declared = (operation.parameters ?? [])
        .filter((parameter) => parameter.in === "path")
        .map((parameter) => parameter.name)
        .sort();
      assert.deepEqual(declared, inPath, `${method} ${path}`);
      assert.ok(!inPath.includes("*"), `${method} ${path}`);
    }
    const file = served.paths["/api/v1/org/{org}/capabilities/{name}/{version}/files/{path}"]?.get;
    assert.ok(file, "the file route is documented with a named parameter");
    assert.equal(file.operationId, "getCapabilityVersionFile");
    const parameter = file.parameters?.find((p) => p.name === "path");
    assert.match(parameter?.description ?? "", /slash/);
  });

  test("names CAPSTAN_PUBLIC_URL as its server when set, else the server it is read from", () => {
    assert.deepEqual(served.servers, [{ url: PUBLIC_URL }]);
    assert.ok(
      operationsOf(served).some(({ path }) => path === "/api/v1/user/me"),
      "the public URL's path is not cut from the API paths",
    );
    // The committed document is generated without configuration.
    assert.deepEqual(committed.servers, [{ url: "/" }]);
  });

  test("states the package's licence", () => {
    const { license } = readJson("package.json");
    assert.equal(served.info.license?.identifier, license);
  });

  test("describes every tag, and every operation uses a described tag", () => {
    const described = new Map((served.tags ?? []).map((tag) => [tag.name, tag.description ?? ""]));
    for (const [name, description] of described) assert.ok(description.length > 20, `tag ${name}`);
    const used = new Set<string>();
    for (const { method, path, operation } of operationsOf(served)) {
      assert.equal(operation.tags?.length, 1, `${method} ${path}`);
      for (const tag of operation.tags ?? []) {
        assert.ok(described.has(tag), `${method} ${path}: tag ${tag} is not described`);
        used.add(tag);
      }
    }
    assert.deepEqual(
      [...described.keys()].filter((tag) => !used.has(tag)),
      [],
      "tags no operation uses",
    );
  });

  test("shows examples of the main request and response bodies", () => {
    const requests = [
      "createRuntimeCapability",
      "updateRuntimeCapability",
      "createRuntime",
      "replaceRuntimeConfig",
    ];
    for (const id of requests) {
      assert.ok(operationById(served, id).requestBody?.content["application/json"]?.example, id);
    }
    const responses: [string, string][] = [
      ["listRuntimeCapabilities", "200"],
      ["getResolvedRuntimeCapabilities", "200"],
      ["publishCapability", "201"],
      ["listCapabilities", "200"],
      ["createRuntime", "201"],
    ];
    for (const [id, status] of responses) {
      assert.ok(operationById(served, id).responses[status]?.content?.["application/json"]?.example, id);
    }
  });

  test("attaches every example of src/contract/examples.ts to a body its operation declares", () => {
    for (const [id, examples] of Object.entries(OPERATION_EXAMPLES)) {
      const operation = operationById(served, id);
      if (examples.body !== undefined) {
        const media = operation.requestBody?.content["application/json"];
        assert.ok(media?.schema !== undefined && media.example !== undefined, `${id} request`);
      }
      for (const status of Object.keys(examples.responses ?? {})) {
        const media = operation.responses[status]?.content?.["application/json"];
        assert.ok(media?.schema !== undefined && media.example !== undefined, `${id} → ${status}`);
      }
    }
  });

  test("shows the runtime's capability list (SPEC §7.1) with exactly the fields the API sends", async () => {
    const example = operationById(served, "listRuntimeCapabilities").responses["200"]?.content?.[
      "application/json"
    ]?.example as { items: Record<string, unknown>[] };
    assert.ok(example.items.length >= 2, "a list of more than one binding");
    await publishOk(t, { name: "doc-example" });
    await bind(t, t.runtimeId, { name: "doc-example" });
    const res = await t.app.inject({
      method: "GET",
      url: `/api/v1/org/default/ws/main/runtimes/${t.runtimeId}/capabilities`,
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    assert.equal(res.statusCode, 200);
    const real = res.json().items[0];
    assert.deepEqual(Object.keys(real).sort(), BINDING_FIELDS);
    for (const item of example.items) assert.deepEqual(Object.keys(item).sort(), BINDING_FIELDS);
    assert.deepEqual(
      Object.keys(real.component_counts).sort(),
      Object.keys(example.items[0].component_counts as object).sort(),
    );
  });
});
