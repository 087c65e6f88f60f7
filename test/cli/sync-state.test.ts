import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Resolved, ResolvedEntry } from "../../src/cli/api-types.js";
import { capabilityDirectory, renderEnvFile, stateOf } from "../../src/cli/sync/sync-state.js";

function entry(name: string, effectiveFlags: Record<string, boolean>): ResolvedEntry {
  return {
    name,
    version: "1.0.0",
    artifact_digest: `sha256:${"a".repeat(64)}`,
    artifact_s3_prefix: `http://capstan.test/api/v1/org/default/capabilities/${name}/1.0.0/files/`,
    download_url: "http://capstan.test/api/v1/blobs/x?exp=1&sig=secret",
    flags: {},
    effective_flags: effectiveFlags,
    runtime_digest: `sha256:${"b".repeat(64)}`,
    secrets: [],
    signatures: [],
  };
}

function resolved(...capabilities: ResolvedEntry[]): Resolved {
  return {
    capabilities,
    runtime_digest: `sha256:${"c".repeat(64)}`,
    trusted_keys: [],
    policy: { require_signed: false },
  };
}

describe("capabilities.env", () => {
  test("names are upper-cased with '-' as '_', values 1 or 0, lines sorted", () => {
    const text = renderEnvFile(
      resolved(entry("web-search", { "read-only": true, proxy: false }), entry("audit", { verbose: true })),
    );
    assert.equal(
      text,
      [
        "CAPABILITY_FLAG__AUDIT__VERBOSE=1",
        "CAPABILITY_FLAG__WEB_SEARCH__PROXY=0",
        "CAPABILITY_FLAG__WEB_SEARCH__READ_ONLY=1",
        "",
      ].join("\n"),
    );
  });

  test("another org's capability is named OWNER__NAME", () => {
    assert.equal(
      renderEnvFile(resolved(entry("acme/web-search", { fast: true }))),
      "CAPABILITY_FLAG__ACME__WEB_SEARCH__FAST=1\n",
    );
  });

  test("a runtime without flags gets an empty file", () => {
    assert.equal(renderEnvFile(resolved(entry("plain", {}))), "");
  });
});

describe("sync directory names", () => {
  test("a bare name is its own directory", () => {
    assert.equal(capabilityDirectory("web-search"), "web-search");
  });

  test("owner/name becomes owner__name, one path segment", () => {
    assert.equal(capabilityDirectory("acme/web-search"), "acme__web-search");
  });
});

describe("resolved.json", () => {
  test("keeps the ETag and each capability's directory, and drops the signed download URL", () => {
    const state = stateOf("rt-1", '"sha256:ccc"', resolved(entry("acme/tool", { on: true })));
    assert.equal(state.etag, '"sha256:ccc"');
    assert.equal(state.capabilities[0].directory, "acme__tool");
    assert.ok(!JSON.stringify(state).includes("sig=secret"));
  });
});
