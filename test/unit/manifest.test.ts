import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stringify } from "yaml";
import {
  type ManifestResult,
  normaliseBundlePath,
  type ParseManifestOptions,
  parseManifest,
} from "../../src/domain/manifest.js";

const BASE = { schema: 1, name: "demo", version: "1.0.0", description: "A demo capability." };
const ANY_FILE: ParseManifestOptions = { fileExists: () => true, dirExists: () => true };

function parse(fields: Record<string, unknown>, options: ParseManifestOptions = {}): ManifestResult {
  return parseManifest(stringify({ ...BASE, ...fields }), options);
}

function problems(result: ManifestResult): { type: string; loc: (string | number)[] }[] {
  return result.errors.map(({ type, loc }) => ({ type, loc }));
}

/** Asserts exactly one error, of this type, at capability.yaml + `path`. */
function assertRejected(result: ManifestResult, type: string, ...path: (string | number)[]): void {
  assert.deepEqual(problems(result), [{ type, loc: ["bundle", "capability.yaml", ...path] }]);
  assert.equal(result.manifest, null);
}

function assertValid(result: ManifestResult) {
  assert.deepEqual(result.errors, []);
  assert.ok(result.manifest);
  return result.manifest;
}

describe("YAML parsing", () => {
  const yamlError = (source: string | Buffer) => assertRejected(parseManifest(source), "manifest.yaml");

  test("accepts a minimal manifest and returns the raw document", () => {
    const manifest = assertValid(parse({}));
    assert.deepEqual(manifest.raw, BASE);
    assert.equal(manifest.name, "demo");
    assert.deepEqual(manifest.flags, {});
    assert.deepEqual(manifest.keywords, []);
    assert.equal(manifest.author_name, null);
    assert.equal(manifest.agents, undefined);
  });

  test("reads a Buffer source", () => {
    assertValid(parseManifest(Buffer.from(stringify(BASE))));
  });

  test("rejects malformed YAML", () => yamlError("schema: 1\nname: [demo\n"));
  test("rejects duplicate keys", () => yamlError("schema: 1\nschema: 1\n"));
  test("rejects several documents", () => yamlError(`${stringify(BASE)}---\n${stringify(BASE)}`));
  test("rejects a root that is not a mapping", () => yamlError("- schema\n- name\n"));
  test("rejects an empty file", () => yamlError(""));
  test("rejects invalid UTF-8", () =>
    yamlError(Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe])));
  test("rejects a collection used as a key", () => yamlError("? [a, b]\n: 1\n"));

  test("rejects a custom tag", () => yamlError(`${stringify(BASE)}extra: !include secrets.yaml\n`));
  test("rejects a non-core standard tag", () => yamlError(`${stringify(BASE)}extra: !!binary aGk=\n`));
  test("accepts core schema tags", () => {
    assertValid(parseManifest("schema: !!int 1\nname: !!str demo\nversion: '1.0.0'\ndescription: d\n"));
  });

  test("rejects a manifest over 256 KiB", () => {
    const padding = `# ${"x".repeat(1000)}\n`.repeat(263);
    yamlError(`${stringify(BASE)}${padding}`);
  });

  test("accepts a manifest of exactly 256 KiB", () => {
    const head = stringify(BASE);
    const source = head + "#".repeat(256 * 1024 - Buffer.byteLength(head));
    assert.equal(Buffer.byteLength(source), 256 * 1024);
    assertValid(parseManifest(source));
  });

  test("rejects a billion-laughs alias bomb", () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    const names = "abcdefghi";
    for (let i = 1; i < names.length; i++) {
      levels.push(
        `${names[i]}: &${names[i]} [${Array(9)
          .fill(`*${names[i - 1]}`)
          .join(",")}]`,
      );
    }
    yamlError(`${stringify(BASE)}${levels.join("\n")}\n`);
  });

  test("accepts 100 aliases and rejects 101", () => {
    const withAliases = (count: number) =>
      `${stringify(BASE)}anchor: &x 1\nrefs: [${Array(count).fill("*x").join(", ")}]\n`;
    assert.deepEqual(parseManifest(withAliases(100)).errors, []);
    yamlError(withAliases(101));
  });

  test("rejects an alias to an undefined anchor", () => yamlError(`${stringify(BASE)}x: *nowhere\n`));

  test("reports the problem in msg", () => {
    const [error] = parseManifest("a: !foo b\n").errors;
    assert.match(error.msg, /!foo/);
  });
});

describe("required fields", () => {
  for (const [key, type] of [
    ["schema", "manifest.schema"],
    ["name", "manifest.name"],
    ["version", "manifest.version"],
    ["description", "manifest.description"],
  ] as const) {
    test(`a missing ${key} is reported at its own key`, () => {
      assertRejected(parse({ [key]: undefined }), type, key);
    });
  }

  test("every missing field is reported, in field order", () => {
    assert.deepEqual(
      problems(parseManifest("license: MIT\n")).map((p) => p.loc[2]),
      ["schema", "name", "version", "description"],
    );
  });
});

describe("schema, name, version, description", () => {
  test("schema must be 1", () => assertRejected(parse({ schema: 2 }), "manifest.schema", "schema"));
  test("schema must be an integer, not a string", () =>
    assertRejected(parse({ schema: "1" }), "manifest.schema", "schema"));
  // YAML floats equal to 1 become the JS number 1, so only the YAML node can tell them apart.
  for (const schema of ["1.0", "1e0", "!!float 1.0"]) {
    test(`schema must be an integer, not the float ${schema}`, () => {
      const source = `${stringify({ ...BASE, schema: undefined })}schema: ${schema}\n`;
      assertRejected(parseManifest(source), "manifest.schema", "schema");
    });
  }
  test("schema may be an integer 1 reached through an alias", () => {
    assertValid(parseManifest(`one: &one 1\n${stringify({ ...BASE, schema: undefined })}schema: *one\n`));
  });

  for (const name of ["Demo", "-demo", "demo_cap", "demo.cap", "a".repeat(65), ""]) {
    test(`rejects name ${JSON.stringify(name.length > 10 ? `${name.slice(0, 5)}…` : name)}`, () => {
      assertRejected(parse({ name }), "manifest.name", "name");
    });
  }
  test("accepts a 64-character name with digits and dashes", () => {
    assertValid(parse({ name: `0-${"a".repeat(62)}` }));
  });

  for (const version of [
    "1.0",
    "1.0.0.0",
    "01.0.0",
    "1.02.0",
    "v1.0.0",
    "1.0.0-",
    "99999999999999999999.0.0",
  ]) {
    test(`rejects version ${version}`, () =>
      assertRejected(parse({ version }), "manifest.version", "version"));
  }
  test("rejects an unquoted number as version", () => {
    assertRejected(
      parseManifest("schema: 1\nname: demo\nversion: 1.0\ndescription: d\n"),
      "manifest.version",
      "version",
    );
  });
  test("accepts a prerelease and refuses a build suffix by default (SPEC §13)", () => {
    assert.equal(assertValid(parse({ version: "1.0.0-rc.1" })).version, "1.0.0-rc.1");
    assertRejected(parse({ version: "1.0.0+build.5" }), "manifest.version", "version");
  });
  test("accepts prerelease and build suffixes with allowPrerelease", () => {
    const manifest = assertValid(parse({ version: "1.0.0-rc.1+build.5" }, { allowPrerelease: true }));
    assert.equal(manifest.version, "1.0.0-rc.1+build.5");
  });
  test("rejects a version over 256 characters even with allowPrerelease", () => {
    const version = `1.0.0-${"a".repeat(251)}`;
    assertRejected(parse({ version }, { allowPrerelease: true }), "manifest.version", "version");
    assertValid(parse({ version: version.slice(0, 256) }, { allowPrerelease: true }));
  });
  test("rejects a malformed prerelease even with allowPrerelease", () => {
    assertRejected(parse({ version: "1.0.0-01" }, { allowPrerelease: true }), "manifest.version", "version");
  });

  test("description must not be blank", () =>
    assertRejected(parse({ description: "   " }), "manifest.description", "description"));
  test("description must be a string", () =>
    assertRejected(parse({ description: 42 }), "manifest.description", "description"));
  test("description is trimmed", () => {
    assert.equal(assertValid(parse({ description: "  Folded text.\n" })).description, "Folded text.");
  });
  test("description may be 4000 characters but not 4001", () => {
    assertValid(parse({ description: "d".repeat(4000) }));
    assertRejected(parse({ description: "d".repeat(4001) }), "manifest.description", "description");
  });
});

describe("component paths", () => {
  for (const key of ["agents", "tools", "skills", "hooks", "policies"]) {
    test(`${key} must be a list`, () => assertRejected(parse({ [key]: "dir" }), "manifest.paths", key));
    test(`${key} items must be strings`, () =>
      assertRejected(parse({ [key]: [3] }), "manifest.paths", key, 0));
    for (const bad of ["", "/etc/passwd", "../outside", "a/../../outside", "a\\b", "C:/x", ".", "a\u0000b"]) {
      test(`${key} rejects ${JSON.stringify(bad)}`, () => {
        assertRejected(parse({ [key]: ["ok", bad] }), "manifest.paths", key, 1);
      });
    }
  }

  test("normalises listed paths", () => {
    const manifest = assertValid(parse({ tools: ["./tools/", "lib/../extra//more"], agents: [] }));
    assert.deepEqual(manifest.tools, ["tools", "extra/more"]);
    assert.deepEqual(manifest.agents, []);
  });

  test("agents: null is refused because omitted and [] mean different things", () => {
    assertRejected(parseManifest(`${stringify(BASE)}agents:\n`), "manifest.paths", "agents");
  });

  test("hooks: null is the same as no hooks", () => {
    assert.equal(assertValid(parseManifest(`${stringify(BASE)}hooks:\n`)).hooks, undefined);
  });

  test("a listed path must exist as a file or directory when the caller can tell", () => {
    const options = { fileExists: (p: string) => p === "a.md", dirExists: (p: string) => p === "dir" };
    assertValid(parse({ agents: ["a.md", "dir/"], hooks: ["a.md"] }, options));
    assertRejected(parse({ agents: ["a.md", "missing.md"] }, options), "manifest.paths", "agents", 1);
    assertRejected(parse({ hooks: ["gone.py"] }, options), "manifest.paths", "hooks", 0);
  });

  test("existence is not checked without callbacks", () => {
    assertValid(parse({ agents: ["missing.md"], hooks: ["missing.py"] }));
  });
});

describe("normaliseBundlePath", () => {
  test("resolves . and .. inside the bundle", () => {
    assert.deepEqual(normaliseBundlePath("./a/./b/../c/"), { ok: true, path: "a/c" });
  });
  test("refuses climbing out", () => {
    assert.equal(normaliseBundlePath("a/../..").ok, false);
  });
});

describe("mcp", () => {
  const server = (definition: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    parse({ mcp: { servers: { srv: definition } }, ...extra });
  const at = ["mcp", "servers", "srv"];

  test("accepts stdio and HTTP servers and types them", () => {
    const manifest = assertValid(
      parse({
        flags: { burp: { description: "Use Burp" } },
        mcp: {
          files: ["./.mcp.json"],
          servers: {
            local: {
              command: "node",
              args: ["a.js"],
              env: { PORT: "1" },
              cwd: "mcp",
              when: ["burp"],
              timeout: 5,
            },
            remote: {
              url: "https://mcp.example.invalid/v1",
              headers: { Authorization: "Bearer x", "X-Opt": { value: "y", optional: true } },
              auth: { type: "oauth", scope: "read", client_name: "capstan" },
              init_timeout: 2.5,
            },
          },
        },
      }),
    );
    assert.deepEqual(manifest.mcp?.files, [".mcp.json"]);
    assert.deepEqual(manifest.mcp?.servers.local, {
      command: "node",
      args: ["a.js"],
      env: { PORT: "1" },
      cwd: "mcp",
      when: ["burp"],
      timeout: 5,
    });
    assert.equal(
      "url" in manifest.mcp!.servers.remote && manifest.mcp!.servers.remote.url,
      "https://mcp.example.invalid/v1",
    );
  });

  test("mcp: {} is a valid, empty section", () => {
    assert.deepEqual(assertValid(parse({ mcp: {} })).mcp, { files: [], servers: {} });
  });

  test("accepts a url with a runtime placeholder", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the runtime's placeholder syntax, not a template
    assertValid(server({ url: "${TRACKER_URL}/mcp" }));
  });

  test("mcp must be a map", () => assertRejected(parse({ mcp: ["x"] }), "manifest.mcp", "mcp"));
  test("mcp allows only files and servers", () =>
    assertRejected(parse({ mcp: { file: [] } }), "manifest.mcp", "mcp", "file"));
  test("mcp.files must be a list", () =>
    assertRejected(parse({ mcp: { files: "a.json" } }), "manifest.mcp", "mcp", "files"));
  test("mcp.files entries must stay inside the bundle", () =>
    assertRejected(parse({ mcp: { files: ["../x.json"] } }), "manifest.mcp", "mcp", "files", 0));
  test("mcp.files entries must exist when the caller can tell", () => {
    const options = { fileExists: () => false, dirExists: () => false };
    assertRejected(parse({ mcp: { files: ["servers.json"] } }, options), "manifest.mcp", "mcp", "files", 0);
  });
  test("mcp.servers must be a map", () =>
    assertRejected(parse({ mcp: { servers: [] } }), "manifest.mcp", "mcp", "servers"));
  test("a server must be a map", () => assertRejected(server("node" as never), "manifest.mcp", ...at));
  test("a server needs command or url", () => assertRejected(server({ args: [] }), "manifest.mcp", ...at));
  test("a server cannot have both command and url", () =>
    assertRejected(server({ command: "node", url: "https://x.invalid" }), "manifest.mcp", ...at));
  test("command must be a non-empty string", () =>
    assertRejected(server({ command: "" }), "manifest.mcp", ...at, "command"));
  test("url must be http(s)", () =>
    assertRejected(server({ url: "ftp://x.invalid" }), "manifest.mcp", ...at, "url"));
  test("url must be a URL", () => assertRejected(server({ url: "not a url" }), "manifest.mcp", ...at, "url"));
  test("auth is only valid with url", () =>
    assertRejected(server({ command: "node", auth: { type: "oauth" } }), "manifest.mcp", ...at, "auth"));
  test("headers are only valid with url", () =>
    assertRejected(server({ command: "node", headers: { A: "b" } }), "manifest.mcp", ...at, "headers"));
  for (const key of ["args", "env", "cwd"]) {
    test(`${key} is only valid with command`, () =>
      assertRejected(
        server({ url: "https://x.invalid", [key]: key === "env" ? {} : key === "args" ? [] : "d" }),
        "manifest.mcp",
        ...at,
        key,
      ));
  }
  test("no other keys", () =>
    assertRejected(server({ command: "node", type: "stdio" }), "manifest.mcp", ...at, "type"));
  test("args must be strings", () =>
    assertRejected(server({ command: "node", args: ["a", 1] }), "manifest.mcp", ...at, "args", 1));
  test("env values must be strings", () =>
    assertRejected(server({ command: "node", env: { PORT: 8080 } }), "manifest.mcp", ...at, "env", "PORT"));
  test("a header is a string or {value, optional?}", () => {
    const http = (headers: unknown) => server({ url: "https://x.invalid", headers });
    assertRejected(http({ A: 1 }), "manifest.mcp", ...at, "headers", "A");
    assertRejected(http({ A: { value: 1 } }), "manifest.mcp", ...at, "headers", "A", "value");
    assertRejected(
      http({ A: { value: "v", optional: "yes" } }),
      "manifest.mcp",
      ...at,
      "headers",
      "A",
      "optional",
    );
    assertRejected(
      http({ A: { value: "v", secret: true } }),
      "manifest.mcp",
      ...at,
      "headers",
      "A",
      "secret",
    );
    assertRejected(http(["A"]), "manifest.mcp", ...at, "headers");
  });
  test("auth must be {type: oauth, scope?, client_name?}", () => {
    const http = (auth: unknown) => server({ url: "https://x.invalid", auth });
    assertRejected(http({ type: "basic" }), "manifest.mcp", ...at, "auth", "type");
    assertRejected(http({ type: "oauth", client_id: "x" }), "manifest.mcp", ...at, "auth", "client_id");
    assertRejected(http({ type: "oauth", scope: 3 }), "manifest.mcp", ...at, "auth", "scope");
    assertRejected(http("oauth"), "manifest.mcp", ...at, "auth");
  });
  for (const key of ["timeout", "init_timeout"]) {
    for (const value of [0, -1, "10"]) {
      test(`${key} ${JSON.stringify(value)} is not a positive number`, () =>
        assertRejected(server({ command: "node", [key]: value }), "manifest.mcp", ...at, key));
    }
  }
  test("when must be a non-empty list", () => {
    const flags = { burp: { description: "b" } };
    assertRejected(server({ command: "node", when: [] }, { flags }), "manifest.mcp", ...at, "when");
    assertRejected(server({ command: "node", when: "burp" }, { flags }), "manifest.mcp", ...at, "when");
  });
  test("when may name only declared flags", () => {
    const flags = { burp: { description: "b" } };
    assertRejected(
      server({ command: "node", when: ["burp", "zap"] }, { flags }),
      "manifest.mcp",
      ...at,
      "when",
      1,
    );
  });
});

describe("flags", () => {
  test("fills in default false", () => {
    const manifest = assertValid(
      parse({ flags: { readonly: { description: "RO", default: true }, burp: { description: "B" } } }),
    );
    assert.deepEqual(manifest.flags, {
      readonly: { description: "RO", default: true },
      burp: { description: "B", default: false },
    });
  });
  test("at most 16 flags", () => {
    const flags = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`f${i}`, { description: "d" }]));
    assertRejected(parse({ flags }), "manifest.flags", "flags");
    delete flags.f16;
    assertValid(parse({ flags }));
  });
  for (const name of ["Readonly", "-x", "x-", "a_b", "a.b"]) {
    test(`rejects flag name ${name}`, () =>
      assertRejected(parse({ flags: { [name]: { description: "d" } } }), "manifest.flags", "flags", name));
  }
  test("flags must be a map", () => assertRejected(parse({ flags: ["a"] }), "manifest.flags", "flags"));
  test("flags: null is refused, like agents: and mcp:", () => {
    assertRejected(parseManifest(`${stringify(BASE)}flags:\n`), "manifest.flags", "flags");
  });
  test("a flag must be a map", () =>
    assertRejected(parse({ flags: { a: true } }), "manifest.flags", "flags", "a"));
  test("description is required", () =>
    assertRejected(
      parse({ flags: { a: { default: true } } }),
      "manifest.flags",
      "flags",
      "a",
      "description",
    ));
  test("description must not be blank", () =>
    assertRejected(
      parse({ flags: { a: { description: " " } } }),
      "manifest.flags",
      "flags",
      "a",
      "description",
    ));
  test("default must be a real boolean", () => {
    assertRejected(
      parse({ flags: { a: { description: "d", default: "yes" } } }),
      "manifest.flags",
      "flags",
      "a",
      "default",
    );
    assertRejected(
      parse({ flags: { a: { description: "d", default: 1 } } }),
      "manifest.flags",
      "flags",
      "a",
      "default",
    );
    // YAML 1.2: `yes` is a string, not a boolean.
    assertRejected(
      parseManifest(`${stringify(BASE)}flags:\n  a:\n    description: d\n    default: yes\n`),
      "manifest.flags",
      "flags",
      "a",
      "default",
    );
  });
  test("a bad name does not hide the problems in its definition", () => {
    const at = ["bundle", "capability.yaml", "flags", "X"];
    assert.deepEqual(problems(parse({ flags: { X: { description: "" } } })), [
      { type: "manifest.flags", loc: at },
      { type: "manifest.flags", loc: [...at, "description"] },
    ]);
    assert.deepEqual(problems(parse({ flags: { X: { description: "d", default: "yes", hidden: 1 } } })), [
      { type: "manifest.flags", loc: at },
      { type: "manifest.flags", loc: [...at, "hidden"] },
      { type: "manifest.flags", loc: [...at, "default"] },
    ]);
    assert.deepEqual(problems(parse({ flags: { X: true } })), [
      { type: "manifest.flags", loc: at },
      { type: "manifest.flags", loc: at },
    ]);
  });
  test("no other keys", () =>
    assertRejected(
      parse({ flags: { a: { description: "d", hidden: true } } }),
      "manifest.flags",
      "flags",
      "a",
      "hidden",
    ));
});

describe("workers", () => {
  const flags = { relay: { description: "r" } };
  const worker = (definition: unknown, options?: ParseManifestOptions) =>
    parse({ flags, workers: { w: definition } }, options);
  const at = ["workers", "w"];

  test("a bad name does not hide the problems in its definition", () => {
    const bad = ["bundle", "capability.yaml", "workers", "W"];
    assert.deepEqual(problems(parse({ flags, workers: { W: { path: "x.py", command: "y" } } })), [
      { type: "manifest.workers", loc: bad },
      { type: "manifest.workers", loc: bad },
    ]);
    assert.deepEqual(problems(parse({ flags, workers: { W: { command: "y", when: ["nope"] } } })), [
      { type: "manifest.workers", loc: bad },
      { type: "manifest.workers", loc: [...bad, "when", 0] },
    ]);
  });

  test("types in-process and subprocess workers", () => {
    const manifest = assertValid(
      parse({
        flags,
        workers: {
          journal: { path: "./workers/journal.py" },
          relay: { command: "bin/relay", args: ["--x"], env: { A: "b" }, when: ["relay"] },
        },
      }),
    );
    assert.deepEqual(manifest.workers, {
      journal: { path: "workers/journal.py" },
      relay: { command: "bin/relay", args: ["--x"], env: { A: "b" }, when: ["relay"] },
    });
  });
  for (const name of ["W", "-w", "w_1"]) {
    test(`rejects worker name ${name}`, () =>
      assertRejected(parse({ workers: { [name]: { command: "x" } } }), "manifest.workers", "workers", name));
  }
  test("workers must be a map", () =>
    assertRejected(parse({ workers: ["w"] }), "manifest.workers", "workers"));
  test("a worker must be a map", () => assertRejected(worker("run"), "manifest.workers", ...at));
  test("exactly one of path or command", () => {
    assertRejected(worker({ path: "w.py", command: "x" }), "manifest.workers", ...at);
    assertRejected(worker({ when: ["relay"] }), "manifest.workers", ...at);
  });
  test("no args or env with path", () => {
    assertRejected(worker({ path: "w.py", args: ["a"] }), "manifest.workers", ...at, "args");
    assertRejected(worker({ path: "w.py", env: { A: "b" } }), "manifest.workers", ...at, "env");
  });
  test("path must stay inside the bundle", () =>
    assertRejected(worker({ path: "../w.py" }), "manifest.workers", ...at, "path"));
  test("path must be a Python file", () =>
    assertRejected(worker({ path: "w.sh" }), "manifest.workers", ...at, "path"));
  test("path must exist when the caller can tell", () => {
    assertRejected(worker({ path: "w.py" }, { fileExists: () => false }), "manifest.workers", ...at, "path");
    assertValid(worker({ path: "w.py" }, ANY_FILE));
  });
  for (const name of ["DREADNODE_RUNTIME_URL", "DREADNODE_RUNTIME_TOKEN", "DREADNODE_RUNTIME_ID"]) {
    test(`env may not set ${name}`, () =>
      assertRejected(worker({ command: "x", env: { [name]: "v" } }), "manifest.workers", ...at, "env", name));
  }
  test("no other keys", () =>
    assertRejected(worker({ command: "x", timeout: 3 }), "manifest.workers", ...at, "timeout"));
  test("when must be a non-empty list of declared flags", () => {
    assertRejected(worker({ command: "x", when: [] }), "manifest.workers", ...at, "when");
    assertRejected(worker({ command: "x", when: ["nope"] }), "manifest.workers", ...at, "when", 0);
  });
  test("command must be a non-empty string", () =>
    assertRejected(worker({ command: "" }), "manifest.workers", ...at, "command"));
});

describe("dependencies and checks", () => {
  test("types dependencies, filling absent lists", () => {
    const manifest = assertValid(
      parse({ dependencies: { packages: ["jq"], scripts: ["./scripts/setup.sh"] } }),
    );
    assert.deepEqual(manifest.dependencies, { python: [], packages: ["jq"], scripts: ["scripts/setup.sh"] });
  });
  test("dependencies must be a map", () =>
    assertRejected(parse({ dependencies: ["jq"] }), "manifest.dependencies", "dependencies"));
  test("no other keys", () =>
    assertRejected(parse({ dependencies: { apt: ["jq"] } }), "manifest.dependencies", "dependencies", "apt"));
  test("lists of non-empty strings", () => {
    assertRejected(
      parse({ dependencies: { python: "httpx" } }),
      "manifest.dependencies",
      "dependencies",
      "python",
    );
    assertRejected(
      parse({ dependencies: { packages: ["jq", ""] } }),
      "manifest.dependencies",
      "dependencies",
      "packages",
      1,
    );
  });
  test("scripts stay inside the bundle and exist", () => {
    assertRejected(
      parse({ dependencies: { scripts: ["/bin/sh"] } }),
      "manifest.dependencies",
      "dependencies",
      "scripts",
      0,
    );
    assertRejected(
      parse({ dependencies: { scripts: ["setup.sh"] } }, { fileExists: () => false }),
      "manifest.dependencies",
      "dependencies",
      "scripts",
      0,
    );
  });

  test("types checks", () => {
    assert.deepEqual(assertValid(parse({ checks: [{ name: "jq", command: "command -v jq" }] })).checks, [
      { name: "jq", command: "command -v jq" },
    ]);
  });
  test("checks must be a list", () =>
    assertRejected(parse({ checks: { jq: "x" } }), "manifest.checks", "checks"));
  test("a check must be a map", () =>
    assertRejected(parse({ checks: ["jq"] }), "manifest.checks", "checks", 0));
  test("name and command are non-empty strings", () => {
    assertRejected(parse({ checks: [{ name: "jq" }] }), "manifest.checks", "checks", 0, "command");
    assertRejected(parse({ checks: [{ name: "", command: "x" }] }), "manifest.checks", "checks", 0, "name");
  });
  test("no other keys", () =>
    assertRejected(
      parse({ checks: [{ name: "a", command: "b", retries: 2 }] }),
      "manifest.checks",
      "checks",
      0,
      "retries",
    ));
});

describe("catalog metadata", () => {
  test("author may be a string or {name, url?, email?}", () => {
    assert.equal(assertValid(parse({ author: "Team" })).author_name, "Team");
    assert.equal(
      assertValid(parse({ author: { name: "Team", url: "https://x.invalid", email: "a@b" } })).author_name,
      "Team",
    );
  });
  test("author.name is required in the map form", () =>
    assertRejected(parse({ author: { url: "https://x.invalid" } }), "manifest.author", "author", "name"));
  test("author has no other keys", () =>
    assertRejected(parse({ author: { name: "T", twitter: "@t" } }), "manifest.author", "author", "twitter"));
  test("author must be a string or a map", () =>
    assertRejected(parse({ author: ["T"] }), "manifest.author", "author"));

  test("license and repository are strings", () => {
    const manifest = assertValid(parse({ license: "MIT", repository: "https://x.invalid/r" }));
    assert.equal(manifest.license, "MIT");
    assert.equal(manifest.repository, "https://x.invalid/r");
    assertRejected(parse({ license: 3 }), "manifest.license", "license");
    assertRejected(parse({ repository: { url: "x" } }), "manifest.repository", "repository");
  });

  test("keywords: a list of at most 64 strings of at most 64 characters", () => {
    assert.deepEqual(assertValid(parse({ keywords: ["a", "b"] })).keywords, ["a", "b"]);
    assertValid(parse({ keywords: Array.from({ length: 64 }, (_, i) => `k${i}`) }));
    assertRejected(
      parse({ keywords: Array.from({ length: 65 }, (_, i) => `k${i}`) }),
      "manifest.keywords",
      "keywords",
    );
    assertRejected(parse({ keywords: ["ok", "k".repeat(65)] }), "manifest.keywords", "keywords", 1);
    assertRejected(parse({ keywords: ["ok", 5] }), "manifest.keywords", "keywords", 1);
    assertRejected(parse({ keywords: "a, b" }), "manifest.keywords", "keywords");
  });

  test("produces is any map, kept as is", () => {
    const produces = { reports: [{ format: "md" }], nested: { deep: true } };
    assert.deepEqual(assertValid(parse({ produces })).produces, produces);
    assertRejected(parse({ produces: ["x"] }), "manifest.produces", "produces");
  });
});

describe("warnings and error reporting", () => {
  test("an unknown top-level key is a warning, not an error", () => {
    const result = parse({ rollout: "canary" });
    assertValid(result);
    assert.deepEqual(
      result.warnings.map(({ type, loc }) => ({ type, loc })),
      [{ type: "manifest.unknown_key", loc: ["bundle", "capability.yaml", "rollout"] }],
    );
  });

  test("reports one issue per problem", () => {
    const result = parse({ name: "Bad", flags: { X: { description: "d" } }, keywords: [1, 2] });
    assert.deepEqual(problems(result), [
      { type: "manifest.name", loc: ["bundle", "capability.yaml", "name"] },
      { type: "manifest.flags", loc: ["bundle", "capability.yaml", "flags", "X"] },
      { type: "manifest.keywords", loc: ["bundle", "capability.yaml", "keywords", 0] },
      { type: "manifest.keywords", loc: ["bundle", "capability.yaml", "keywords", 1] },
    ]);
    for (const error of result.errors) assert.ok(error.msg.length > 0);
  });
});
