// The pure part of the MCP registry mapping (src/domain/mcp-registry.ts): which commands become
// packages and which are left unmapped, placeholders, names and descriptions.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  packageOfCommand,
  parseRegistryServerName,
  registryDescription,
  registryServerName,
  remoteOfUrl,
  templatedValue,
} from "../../src/domain/mcp-registry.js";

describe("MCP registry mapping", () => {
  test("maps npx, uvx and docker run, with or without a pinned version", () => {
    assert.deepEqual(packageOfCommand("npx", ["@scope/server"], undefined), {
      registryType: "npm",
      identifier: "@scope/server",
      runtimeHint: "npx",
      transport: { type: "stdio" },
    });
    assert.equal(packageOfCommand("npx", ["-y", "server@latest"], undefined)?.version, undefined);
    assert.equal(packageOfCommand("npx", ["server@^1.2.0"], undefined)?.version, undefined);
    assert.equal(packageOfCommand("npx", ["server@1.2.0"], undefined)?.version, "1.2.0");
    assert.equal(packageOfCommand("uvx", ["tool@0.3.1"], undefined)?.version, "0.3.1");
    const docker = packageOfCommand(
      "docker",
      ["run", "--name", "x", "-e=A", "-it", "img/name@sha256:" + "a".repeat(64)],
      {},
    );
    assert.equal(docker?.identifier, `img/name@sha256:${"a".repeat(64)}`);
    assert.deepEqual(
      docker?.runtimeArguments?.map((a) => a.value),
      ["--name", "x", "-e=A", "-it"],
    );
  });

  test("leaves commands it cannot map faithfully unmapped", () => {
    for (const [command, args] of [
      ["node", ["server.js"]],
      ["uv", ["run", "x.py"]],
      ["npx", ["-p", "pkg", "bin"]],
      ["npx", []],
      ["npx", ["Not A Package"]],
      ["uvx", ["--from", "git+https://x", "tool"]],
      ["uvx", ["tool>=1.0"]],
      ["docker", ["build", "."]],
      ["docker", ["run", "-i"]],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: MCP clients' placeholder syntax, not a template
      ["docker", ["run", "${IMAGE}"]],
    ] as const) {
      assert.equal(packageOfCommand(command, [...args], undefined), null, `${command} ${args.join(" ")}`);
    }
  });

  test("turns placeholders into variables, and refuses a URL that is not http(s)", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: MCP clients' placeholder syntax, not a template
    assert.deepEqual(templatedValue("${A}-${B:-x}", true), {
      value: "{A}-{B}",
      variables: {
        A: { isRequired: true, isSecret: true },
        B: { isRequired: false, default: "x", isSecret: true },
      },
    });
    assert.deepEqual(templatedValue("plain"), { value: "plain" });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: MCP clients' placeholder syntax, not a template
    assert.equal(remoteOfUrl("${BASE}/mcp", undefined, undefined), null);
    assert.equal(remoteOfUrl("ftp://x", undefined, undefined), null);
    assert.equal(remoteOfUrl("https://x/sse", undefined, "sse")?.type, "sse");
  });

  test("builds names only within the schema's alphabet and length, and resolves them back", () => {
    assert.equal(registryServerName("io.capstan", "acme", "web", "proxy"), "io.capstan.acme/web-proxy");
    assert.equal(registryServerName("io.capstan", "acme", "web", "my server"), null);
    assert.equal(registryServerName("io.capstan", "acme", "web", "x".repeat(200)), null);
    assert.deepEqual(parseRegistryServerName("io.capstan", "io.capstan.acme/flag-gated-proxy"), {
      org: "acme",
      rest: "flag-gated-proxy",
      capabilities: ["flag-gated", "flag"],
    });
    assert.equal(parseRegistryServerName("io.capstan", "com.other.acme/x-y"), null);
    assert.equal(parseRegistryServerName("io.capstan", "io.capstan.acme/nohyphen")?.capabilities.length, 0);
  });

  test("keeps descriptions within 100 characters", () => {
    assert.equal(registryDescription("  a\n b  "), "a b");
    const long = registryDescription("word ".repeat(40));
    assert.equal(long.length, 100);
    assert.ok(long.endsWith("…"));
  });
});
