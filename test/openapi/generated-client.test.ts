// The committed OpenAPI document is usable by tools other than our own: an independent generator
// (@hey-api/openapi-ts) writes a TypeScript client from it, the project's TypeScript type-checks a
// short program that lists a runtime's capabilities with that client, and the program, run against
// a real server over HTTP, gets the list. Everything runs offline, from files and the loopback.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { bind, bindingsUrl, mintRuntimeToken } from "../helpers/bindings.js";
import { publishOk } from "../helpers/capability-bundles.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DOCUMENT = path.join(ROOT, "openapi", "openapi.json");
const GENERATOR = path.join(ROOT, "node_modules", "@hey-api", "openapi-ts", "bin", "run.js");
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");

/**
 * What a runtime's sync loop would do: list its bindings, then read one file of a bound version
 * (the file path has a slash: the client sends it percent-encoded). Prints what it got as JSON.
 */
const PROGRAM = `
import { client } from "./client/client.gen.js";
import { getCapabilityVersionFile, listRuntimeCapabilities } from "./client/sdk.gen.js";

const [baseUrl, token, org, workspace, runtimeId] = process.argv.slice(2) as [string, string, string, string, string];
client.setConfig({ baseUrl, auth: () => token });

const listed = await listRuntimeCapabilities({ path: { org, workspace, runtime_id: runtimeId } });
if (listed.error !== undefined) throw new Error("list failed: " + JSON.stringify(listed.error));
const bindings = listed.data.items.map((binding) => ({
  name: binding.capability_name,
  version: binding.version,
  enabled: binding.enabled,
  flags: binding.flags,
  upgrade: binding.upgrade_available ? binding.latest_version : null,
}));
// @ts-expect-error a binding has \`capability_name\`, no \`name\`: the client's types come from the document
export const misnamed: string | undefined = listed.data.items[0]?.name;

const webSearch = listed.data.items.find((binding) => binding.capability_name === "web-search");
if (webSearch === undefined) throw new Error("web-search is not bound");
const file = await getCapabilityVersionFile({
  path: { org, name: webSearch.capability_name, version: webSearch.version, path: "docs/guide.md" },
  parseAs: "text",
});
if (file.error !== undefined) throw new Error("file failed: " + JSON.stringify(file.error));
console.log(JSON.stringify({ bindings, file: file.data }));
`;

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: ["ES2022", "DOM", "DOM.Iterable"],
    strict: true,
    noUncheckedIndexedAccess: true,
    outDir: "dist",
    rootDir: ".",
    typeRoots: [path.join(ROOT, "node_modules", "@types")],
    types: ["node"],
  },
  include: ["main.ts", "client/**/*.ts"],
};

/**
 * Runs a Node script and waits for it without blocking this process: the last one talks to the
 * server this process runs.
 */
function run(
  script: string,
  args: string[],
  cwd: string,
): Promise<{ status: number; stdout: string; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { cwd, encoding: "utf8" }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({
        status,
        stdout,
        output: `${stdout}${stderr}${error && status === 1 ? `\n${error.message}` : ""}`,
      });
    });
  });
}

describe("a client generated from openapi/openapi.json by @hey-api/openapi-ts", () => {
  let dir: string;
  let t: TestApp;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "capstan-generated-client-"));
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
    t = await buildTestApp();
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("is generated, type-checks with a program that lists a runtime's capabilities, and gets the list", async () => {
    const generated = await run(
      GENERATOR,
      [
        "-i",
        DOCUMENT,
        "-o",
        path.join(dir, "client"),
        "-c",
        "@hey-api/client-fetch",
        "--silent",
        "--no-log-file",
      ],
      dir,
    );
    assert.equal(generated.status, 0, generated.output);

    writeFileSync(path.join(dir, "main.ts"), PROGRAM);
    writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(TSCONFIG));
    const compiled = await run(TSC, ["-p", dir], dir);
    assert.equal(compiled.status, 0, compiled.output);

    await publishOk(t, {
      name: "web-search",
      version: "1.2.0",
      manifestExtra: "flags:\n  safe-search:\n    description: Filter explicit results\n    default: true",
      files: { "docs/guide.md": "# Guide\nSearch carefully.\n" },
    });
    await publishOk(t, { name: "web-search", version: "1.3.0" });
    await publishOk(t, { name: "code-review", version: "2.0.1" });
    await bind(t, t.runtimeId, { name: "web-search", version: "1.2.0", flags: { "safe-search": false } });
    await bind(t, t.runtimeId, { name: "code-review", enabled: false });
    const token = await mintRuntimeToken(t, t.runtimeId);
    const address = await t.app.listen({ host: "127.0.0.1", port: 0 });

    const ran = await run(
      path.join(dir, "dist", "main.js"),
      [address, token, "default", "main", t.runtimeId],
      dir,
    );
    assert.equal(ran.status, 0, ran.output);
    const got = JSON.parse(ran.stdout);
    assert.deepEqual(got.bindings, [
      { name: "code-review", version: "2.0.1", enabled: false, flags: {}, upgrade: null },
      {
        name: "web-search",
        version: "1.2.0",
        enabled: true,
        flags: { "safe-search": false },
        upgrade: "1.3.0",
      },
    ]);
    // The list the API gives everyone else.
    const res = await t.app.inject({
      method: "GET",
      url: bindingsUrl(t.runtimeId),
      headers: bearer(t.adminKey),
    });
    assert.deepEqual(
      got.bindings.map((binding: { name: string }) => binding.name),
      res.json().items.map((binding: { capability_name: string }) => binding.capability_name),
    );
    // `{path}` with a slash, percent-encoded by the client, reaches the file route.
    assert.equal(got.file, "# Guide\nSearch carefully.\n");
  });
});
