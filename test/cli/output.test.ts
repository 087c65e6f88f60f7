import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiError } from "../../src/cli/api-client.js";
import { CliError, UsageError } from "../../src/cli/cli-errors.js";
import { cliVersion } from "../../src/cli/cli-version.js";
import { cliWording, Output, renderTable, reportFailure, usesColour } from "../../src/cli/output.js";
import { formatComponents, formatFlags } from "../../src/cli/presenters.js";
import { renderProgress } from "../../src/cli/progress.js";
import { fakeIo } from "./helpers/cli-harness.js";

describe("tables", () => {
  test("columns are aligned on the widest cell, two spaces apart, without trailing spaces", () => {
    const text = renderTable(
      ["NAME", "VERSION", "ENABLED"],
      [
        ["web-search", "1.2.0", "yes"],
        ["a", "10.0.0", "no"],
      ],
    );
    assert.equal(
      text,
      ["NAME        VERSION  ENABLED", "web-search  1.2.0    yes", "a           10.0.0   no", ""].join("\n"),
    );
  });

  test("painted cells are padded by their visible text", () => {
    const text = renderTable(["A", "B"], [[{ text: "x", paint: (s) => `<${s}>` }, "y"]]);
    assert.equal(text, "A  B\n<x>  y\n");
  });
});

describe("colour", () => {
  test("is used on a terminal", () => {
    assert.equal(usesColour(fakeIo({ stdoutTty: true }).io), true);
  });

  test("is never used when stdout is not a terminal", () => {
    assert.equal(usesColour(fakeIo({ stdoutTty: false }).io), false);
  });

  test("is never used with NO_COLOR set, even on a terminal", () => {
    assert.equal(usesColour(fakeIo({ stdoutTty: true, env: { NO_COLOR: "1" } }).io), false);
    const output = new Output(fakeIo({ stdoutTty: true, env: { NO_COLOR: "" } }).io, false);
    assert.equal(output.palette.bold("x"), "x");
  });
});

describe("failure reports", () => {
  test("an API error prints type: detail, then each item as loc: msg, and exits 1", () => {
    const fake = fakeIo();
    const code = reportFailure(
      fake.io,
      new ApiError(422, "invalid_flag_error", "Invalid flag override", [
        { loc: ["body", "flags", "Readonly"], msg: "unknown flag", type: "flag.name" },
      ]),
    );
    assert.equal(code, 1);
    assert.equal(
      fake.stderr(),
      "invalid_flag_error: Invalid flag override\n  body.flags.Readonly: unknown flag\n",
    );
  });

  test("a 426 names the minimum version and how to upgrade", () => {
    const fake = fakeIo();
    const detail = `capstan-cli ${cliVersion()} is no longer supported; upgrade to 9.1.0 or later`;
    reportFailure(fake.io, new ApiError(426, "upgrade_required_error", detail));
    assert.match(fake.stderr(), /^upgrade_required_error: /);
    assert.match(fake.stderr(), /needs capstan-cli 9\.1\.0 or later/);
    assert.match(fake.stderr(), /npm/);
  });

  test("a usage error exits 2 and points at the command's help", () => {
    const fake = fakeIo();
    assert.equal(reportFailure(fake.io, new UsageError("missing DIR", ["capability", "pack"])), 2);
    assert.equal(fake.stderr(), "capstan: missing DIR\nRun 'capstan capability pack --help' for usage.\n");
  });

  test("a local failure exits 1 with its items", () => {
    const fake = fakeIo();
    const code = reportFailure(
      fake.io,
      new CliError("x is not valid", [
        { loc: ["bundle", "capability.yaml"], msg: "bad", type: "manifest.schema" },
      ]),
    );
    assert.equal(code, 1);
    assert.equal(fake.stderr(), "capstan: x is not valid\n  bundle.capability.yaml: bad\n");
  });
});

describe("presenters", () => {
  test("component counts read as words, zero counts left out", () => {
    assert.equal(
      formatComponents({ agents: 1, tools: 2, skills: 0, mcp_servers: 1, workers: 0 }),
      "1 agent, 2 tools, 1 MCP server",
    );
    assert.equal(formatComponents({ agents: 0, tools: 0, skills: 0, mcp_servers: 0, workers: 0 }), "none");
  });

  test("flag overrides are listed by name", () => {
    assert.equal(formatFlags({ zeta: false, alpha: true }), "alpha=true zeta=false");
    assert.equal(formatFlags({}), "-");
  });

  test("the progress bar shows the share done", () => {
    assert.equal(renderProgress("up", 512, 1024), "up [############------------]  50% 512 B/1.0 KiB");
    assert.equal(renderProgress("up", 2048, null), "up 2.0 KiB");
  });
});

describe("server wording in CLI terms", () => {
  test("query parameters become the flags that send them; a missing org may be someone else's", () => {
    assert.equal(
      cliWording("x@1.0.0 is bound by 2 runtime(s); delete with ?force=true to remove those bindings too"),
      "x@1.0.0 is bound by 2 runtime(s); delete with --force to remove those bindings too",
    );
    assert.equal(cliWording("retry with ?dry_run=true"), "retry with --dry-run");
    assert.equal(
      cliWording("Organization 'acme' not found"),
      "Organization 'acme' not found, or you are not a member of it",
    );
    assert.equal(cliWording("Capability 'x' not found"), "Capability 'x' not found");
  });

  test("--json failures: one envelope on stdout, the message on stderr", () => {
    const fake = fakeIo();
    const code = reportFailure(fake.io, new ApiError(404, "not_found_error", "Organization 'a' not found"), {
      json: true,
    });
    assert.equal(code, 1);
    assert.deepEqual(JSON.parse(fake.stdout()), {
      code: 404,
      type: "not_found_error",
      detail: "Organization 'a' not found, or you are not a member of it",
    });
    assert.match(fake.stderr(), /^not_found_error: /);
  });
});
