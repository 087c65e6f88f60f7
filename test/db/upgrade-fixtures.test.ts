// Upgrades (issue #24): every release commits a fixture data directory it made
// (scripts/make-upgrade-fixture.ts → test/fixtures/upgrade/<release>/) with the API answers it gave.
// The newest code boots on a copy of each, migrating it, and must answer the same, without
// rewriting a single blob. The fixtures are SQLite data directories (the embedded default), so this
// runs alike in the PostgreSQL pass.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { captureApiAnswers } from "../../scripts/api-answers.js";
import { LATEST_MIGRATION } from "../../src/db/migrate.js";
import { lastAppliedMigration } from "../../src/db/repositories/integrity-repository.js";
import { verifyIntegrity } from "../../src/services/integrity-service.js";
import { callApi } from "../helpers/api.js";
import { openTestAppOn } from "../helpers/test-app.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "upgrade");

interface Expected {
  made_by: string;
  migration: string;
  admin_key: string;
  secrets_key: string;
  signing_secret: string;
  answers: Record<string, { status: number; body: unknown }>;
}

/** Every file under `dir` with its sha256 and mtime. */
function fileStates(dir: string): Map<string, string> {
  const states = new Map<string, string>();
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        const digest = createHash("sha256").update(readFileSync(full)).digest("hex");
        states.set(path.relative(dir, full), `${digest} ${statSync(full).mtimeMs}`);
      }
    }
  };
  walk(dir);
  return states;
}

const releases = readdirSync(FIXTURES).sort();

describe("upgrades from every release's fixture", () => {
  test("there is a fixture for at least the first release", () => {
    assert.ok(releases.includes("0.1.0"), releases.join(", "));
  });

  for (const release of releases) {
    test(`a data directory made by ${release} migrates and answers as it did`, async () => {
      const fixture = path.join(FIXTURES, release);
      const expected = JSON.parse(readFileSync(path.join(fixture, "expected.json"), "utf8")) as Expected;
      assert.ok(expected.migration <= LATEST_MIGRATION);
      const dataDir = mkdtempSync(path.join(tmpdir(), `capstan-upgrade-${release}-`));
      try {
        cpSync(path.join(fixture, "capstan.db"), path.join(dataDir, "capstan.db"));
        cpSync(path.join(fixture, "blobs"), path.join(dataDir, "blobs"), {
          recursive: true,
          preserveTimestamps: true,
        });
        const blobsBefore = fileStates(path.join(dataDir, "blobs"));
        const t = await openTestAppOn({
          dataDir,
          adminKey: expected.admin_key,
          env: { CAPSTAN_SECRETS_KEY: expected.secrets_key, CAPSTAN_SIGNING_SECRET: expected.signing_secret },
        });
        try {
          assert.equal(await lastAppliedMigration(t.deps.db), LATEST_MIGRATION);
          const answers = await captureApiAnswers(async (url) => {
            const res = await callApi(t, "GET", url, t.adminKey);
            return { status: res.statusCode, body: res.json() };
          });
          for (const url of Object.keys(expected.answers).filter((url) => url.endsWith("/secrets"))) {
            if (answers[url] !== undefined) continue;
            const res = await callApi(t, "GET", url, t.adminKey);
            answers[url] = { status: res.statusCode, body: res.json() };
          }
          assert.deepEqual(answers, expected.answers);
          const report = await verifyIntegrity(t.deps, new Date());
          assert.deepEqual(report.problems, []);
        } finally {
          await t.close();
        }
        assert.deepEqual(
          fileStates(path.join(dataDir, "blobs")),
          blobsBefore,
          "migrations never rewrite blobs",
        );
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
