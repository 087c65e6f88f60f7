// Prereleases and requirement ranges (SPEC §13): the pure rules, property-tested.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import semver from "semver";
import { TAG_PATTERN, VERSION_PATTERN, VERSION_SELECTOR_PATTERN } from "../../src/domain/names.js";
import {
  compareSemver,
  isPrerelease,
  isSemverRange,
  parseSemver,
  satisfiesRange,
} from "../../src/domain/semver.js";
import { latestOf } from "../../src/services/artifact-views.js";
import { requirementChanges } from "../../src/services/upgrade-preview.js";

const part = fc.nat({ max: 4 });
const prereleaseId = fc.oneof(fc.nat({ max: 3 }).map(String), fc.constantFrom("alpha", "beta", "rc", "x-1"));
const version = fc
  .record({ major: part, minor: part, patch: part, pre: fc.array(prereleaseId, { maxLength: 3 }) })
  .map(
    ({ major, minor, patch, pre }) =>
      `${major}.${minor}.${patch}${pre.length > 0 ? `-${pre.join(".")}` : ""}`,
  );

describe("latest with prereleases", () => {
  test("is the highest release and never a prerelease, whatever was published", () => {
    fc.assert(
      fc.property(fc.uniqueArray(version, { maxLength: 30 }), (versions) => {
        const latest = latestOf(versions.map((v) => ({ version: v })));
        const releases = versions.filter((v) => !isPrerelease(v));
        if (releases.length === 0) return latest === null;
        const highest = releases.reduce((a, b) => (compareSemver(a, b) >= 0 ? a : b));
        return latest?.version === highest && !isPrerelease(latest.version);
      }),
    );
  });

  test("ranks a prerelease below its release and above the previous release (SemVer 2.0 §11)", () => {
    fc.assert(
      fc.property(version, (v) => {
        const parsed = parseSemver(v);
        if (!parsed || parsed.prerelease.length === 0) return true;
        const release = `${parsed.major}.${parsed.minor}.${parsed.patch}`;
        return compareSemver(v, release) < 0 && compareSemver(v, semver.inc(release, "patch") ?? "") < 0;
      }),
    );
  });
});

describe("version and tag patterns", () => {
  const versionPattern = new RegExp(VERSION_PATTERN);
  const selector = new RegExp(VERSION_SELECTOR_PATTERN);
  const tag = new RegExp(TAG_PATTERN);

  test("a publishable version is exactly a strict semver without build metadata", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          version,
          fc.string({ maxLength: 12 }),
          version.map((v) => `${v}+b1`),
        ),
        (text) => {
          const parsed = parseSemver(text);
          return versionPattern.test(text) === (parsed !== null && parsed.build.length === 0);
        },
      ),
    );
  });

  test("no tag is a version, and every tag and version is a selector", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/), version, (name, v) => {
        return tag.test(name) && parseSemver(name) === null && selector.test(name) && selector.test(v);
      }),
    );
    assert.equal(tag.test("Beta"), false);
    assert.equal(tag.test("a".repeat(33)), false);
  });
});

describe("requirement ranges", () => {
  test("accepts npm ranges and refuses other text", () => {
    for (const range of ["^1.2.0", "~1.4", ">=1.0.0 <2.0.0", "1.x || 2.x", "*"])
      assert.ok(isSemverRange(range), range);
    for (const range of ["", "  ", "not a range", "^^1", "x".repeat(300)])
      assert.ok(!isSemverRange(range), range);
  });

  test("a prerelease satisfies only a range that names its own x.y.z", () => {
    assert.equal(satisfiesRange("1.5.0-rc.1", "^1.2.0"), false);
    assert.equal(satisfiesRange("1.5.0-rc.1", ">=1.5.0-rc.0"), true);
    assert.equal(satisfiesRange("1.4.0", "^1.2.0"), true);
  });

  test("lists added, removed and changed requirements", () => {
    assert.deepEqual(requirementChanges({ a: "^1", b: "^2", c: "~3" }, { a: "^1", b: "^3", d: "*" }), {
      added: ["d"],
      removed: ["c"],
      changed: [{ name: "b", from: "^2", to: "^3" }],
    });
  });
});
