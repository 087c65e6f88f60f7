import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertEnvelope } from "../helpers/envelope.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const ME = "/api/v1/user/me";

describe("minimum client version (SPEC §2.5)", () => {
  describe("with CAPSTAN_MIN_CLIENT_VERSION=1.4.0", () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp({ env: { CAPSTAN_MIN_CLIENT_VERSION: "1.4.0" } });
    });
    after(() => t.close());

    const asAgent = (agent: string, headers: Record<string, string> = bearer(t.adminKey)) =>
      t.app.inject({ method: "GET", url: ME, headers: { ...headers, "user-agent": agent } });

    for (const agent of ["capstan-cli/1.3.9", "capstan-cli/0.9.0", "capstan-cli/1.4.0-rc.1"]) {
      test(`answers ${agent} with 426 upgrade_required_error naming the minimum`, async () => {
        const body = assertEnvelope(await asAgent(agent), 426, "upgrade_required_error");
        assert.match(body.detail, /1\.4\.0/);
      });
    }

    test("answers an unreadable capstan-cli version with 426", async () => {
      assertEnvelope(await asAgent("capstan-cli/latest"), 426, "upgrade_required_error");
    });

    test("tells an old CLI to upgrade before it complains about the key", async () => {
      assertEnvelope(await asAgent("capstan-cli/1.0.0", {}), 426, "upgrade_required_error");
    });

    for (const agent of ["capstan-cli/1.4.0", "capstan-cli/1.4.1", "capstan-cli/2.0.0 (linux; node 20)"]) {
      test(`serves ${agent}`, async () => {
        assert.equal((await asAgent(agent)).statusCode, 200);
      });
    }

    for (const agent of ["curl/8.5.0", "Mozilla/5.0", "my-capstan-cli/0.1.0", "python-requests/2.31"]) {
      test(`leaves other agents alone: ${agent}`, async () => {
        assert.equal((await asAgent(agent)).statusCode, 200);
      });
    }

    test("leaves requests without a User-Agent alone", async () => {
      const res = await t.app.inject({ method: "GET", url: ME, headers: bearer(t.adminKey) });
      assert.equal(res.statusCode, 200);
    });
  });

  describe("without CAPSTAN_MIN_CLIENT_VERSION", () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp();
    });
    after(() => t.close());

    test("never answers 426, whatever the CLI version", async () => {
      for (const agent of ["capstan-cli/0.0.1", "capstan-cli/garbage"]) {
        const res = await t.app.inject({
          method: "GET",
          url: ME,
          headers: { ...bearer(t.adminKey), "user-agent": agent },
        });
        assert.equal(res.statusCode, 200, agent);
      }
    });
  });
});
