import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import semver from "semver";
import { compareSemver, isRelease, parseSemver, upgradeKind } from "../../src/domain/semver.js";

// Small ranges make equal parts, and so the deeper comparison rules, common.
const numericPart = fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: Number.MAX_SAFE_INTEGER - 1 }));
const alphanumericId = fc.oneof(
  fc.constantFrom("alpha", "beta", "rc", "x-y", "-", "0a", "a0", "Alpha", "BETA"),
  fc.stringMatching(/^[0-9A-Za-z-]{0,6}[A-Za-z-][0-9A-Za-z-]{0,6}$/),
);
const prereleaseId = fc.oneof(numericPart.map(String), alphanumericId);
const buildId = fc.stringMatching(/^[0-9A-Za-z-]{1,8}$/);

const version = fc
  .record({
    major: numericPart,
    minor: numericPart,
    patch: numericPart,
    prerelease: fc.array(prereleaseId, { maxLength: 4 }),
    build: fc.array(buildId, { maxLength: 3 }),
  })
  .map(({ major, minor, patch, prerelease, build }) => {
    const prereleaseText = prerelease.length > 0 ? `-${prerelease.join(".")}` : "";
    const buildText = build.length > 0 ? `+${build.join(".")}` : "";
    return `${major}.${minor}.${patch}${prereleaseText}${buildText}`;
  });

describe("compareSemver", () => {
  test("agrees with the semver package's precedence on valid versions", () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        assert.notEqual(parseSemver(a), null, a);
        assert.equal(compareSemver(a, b), semver.compare(a, b), `${a} vs ${b}`);
      }),
      { numRuns: 2000 },
    );
  });

  test("is antisymmetric and ignores build metadata", () => {
    fc.assert(
      fc.property(version, version, buildId, (a, b, build) => {
        assert.equal(compareSemver(a, b), -compareSemver(b, a));
        const withoutBuild = a.split("+")[0];
        assert.equal(compareSemver(a, `${withoutBuild}+${build}`), 0);
      }),
    );
  });

  test("orders the SemVer 2.0 specification's example chain", () => {
    const chain = [
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
      "1.0.1",
      "1.1.0",
      "2.0.0",
      "10.0.0",
    ];
    for (let i = 0; i < chain.length; i++) {
      for (let j = 0; j < chain.length; j++) {
        assert.equal(compareSemver(chain[i], chain[j]), Math.sign(i - j), `${chain[i]} vs ${chain[j]}`);
      }
    }
  });

  test("compares numeric identifiers numerically and below alphanumeric ones", () => {
    assert.equal(compareSemver("1.0.0-2", "1.0.0-10"), -1);
    assert.equal(compareSemver("1.0.0-999", "1.0.0-a"), -1);
    assert.equal(compareSemver("1.0.0-1a", "1.0.0-1"), 1);
    assert.equal(compareSemver("1.0.0-B", "1.0.0-a"), -1);
  });

  test("throws on an invalid version", () => {
    assert.throws(() => compareSemver("1.0", "1.0.0"), TypeError);
    assert.throws(() => compareSemver("1.0.0", "v1.0.0"), TypeError);
  });
});

describe("parseSemver", () => {
  test("reads every part", () => {
    assert.deepEqual(parseSemver("1.20.300-rc.1.x-y+build.007"), {
      major: 1,
      minor: 20,
      patch: 300,
      prerelease: ["rc", 1, "x-y"],
      build: ["build", "007"],
    });
  });

  const valid = ["0.0.0", "1.0.0-0a", "1.0.0-x-y-z.--", "1.0.0+001", "1.0.0-alpha+build.1", "1.0.0--"];
  for (const text of valid) {
    test(`accepts ${JSON.stringify(text)}`, () => assert.notEqual(parseSemver(text), null));
  }

  const invalid = [
    "",
    "1",
    "1.0",
    "1.0.0.0",
    "01.0.0",
    "1.02.0",
    "1.0.03",
    "1.0.0-01",
    "1.0.0-alpha.007",
    "v1.0.0",
    "V1.0.0",
    "=1.0.0",
    " 1.0.0",
    "1.0.0 ",
    "1.0.0-",
    "1.0.0-a..b",
    "1.0.0-a.",
    "1.0.0+",
    "1.0.0+a..b",
    "1.0.0-é",
    "1.0.0+a_b",
    "-1.0.0",
    "1.0.0-alpha_beta",
    "9007199254740992.0.0",
    "1.0.0-9007199254740992",
  ];
  for (const text of invalid) {
    test(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseSemver(text), null));
  }
});

describe("isRelease", () => {
  test("accepts only MAJOR.MINOR.PATCH", () => {
    assert.equal(isRelease("1.2.3"), true);
    assert.equal(isRelease("0.0.0"), true);
    assert.equal(isRelease("1.2.3-rc.1"), false);
    assert.equal(isRelease("1.2.3+build"), false);
    assert.equal(isRelease("01.2.3"), false);
    assert.equal(isRelease("1.2"), false);
  });
});

describe("upgradeKind", () => {
  const cases: [string, string, ReturnType<typeof upgradeKind>][] = [
    ["1.2.3", "2.0.0", "major"],
    ["1.2.3", "2.0.0-rc.1", "major"],
    ["0.9.0", "1.0.0", "major"],
    ["1.2.3", "1.3.0", "minor"],
    ["1.2.3", "1.3.5", "minor"],
    ["1.2.3", "1.2.4", "patch"],
    ["1.0.0-rc.1", "1.0.0", "patch"],
    ["1.0.0-alpha", "1.0.0-beta", "patch"],
    ["1.2.3", "1.2.3", "none"],
    ["1.2.3", "1.2.3+other-build", "none"],
    ["2.0.0", "1.9.9", "downgrade"],
    ["1.2.3", "1.2.3-rc.1", "downgrade"],
  ];
  for (const [from, to, kind] of cases) {
    test(`${from} → ${to} is ${kind}`, () => assert.equal(upgradeKind(from, to), kind));
  }

  test("is consistent with compareSemver", () => {
    fc.assert(
      fc.property(version, version, (from, to) => {
        const kind = upgradeKind(from, to);
        const order = compareSemver(from, to);
        assert.equal(kind === "downgrade", order > 0);
        assert.equal(kind === "none", order === 0);
      }),
    );
  });
});
