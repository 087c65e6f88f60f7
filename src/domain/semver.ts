// SemVer 2.0.0 (https://semver.org) parsing and precedence. Written out instead of taken from the
// `semver` package because that one is lenient on purpose (loose mode, coercion, ranges), while a
// published version number is a contract and must be read exactly one way. Requirement ranges
// (`requires`, SPEC §13) are npm's grammar, so those alone are read with that package.

import semver from "semver";

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Numeric identifiers as numbers, alphanumeric ones as strings. */
  prerelease: (string | number)[];
  build: string[];
}

export type UpgradeKind = "major" | "minor" | "patch" | "none" | "downgrade";

const NUMBER = "0|[1-9]\\d*";
const PRERELEASE_ID = `${NUMBER}|\\d*[A-Za-z-][0-9A-Za-z-]*`;
const BUILD_ID = "[0-9A-Za-z-]+";
const SEMVER_PATTERN = new RegExp(
  `^(${NUMBER})\\.(${NUMBER})\\.(${NUMBER})` +
    `(?:-((?:${PRERELEASE_ID})(?:\\.(?:${PRERELEASE_ID}))*))?` +
    `(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?$`,
);
const NUMERIC_ID = /^\d+$/;

/** Strict SemVer 2.0: no `v` prefix, no leading zeros, no empty identifiers, no white space. */
export function parseSemver(text: string): SemVer | null {
  const match = SEMVER_PATTERN.exec(text);
  if (!match) return null;
  const [, major, minor, patch, prerelease, build] = match;
  const numbers = [major, minor, patch].map(Number);
  const prereleaseIds = prerelease === undefined ? [] : prerelease.split(".").map(toPrereleaseId);
  // Beyond 2^53 numbers lose their order when compared as JS numbers; refusing them keeps precedence exact.
  const unsafe = [...numbers, ...prereleaseIds].some(
    (n) => typeof n === "number" && !Number.isSafeInteger(n),
  );
  if (unsafe) return null;
  return {
    major: numbers[0],
    minor: numbers[1],
    patch: numbers[2],
    prerelease: prereleaseIds,
    build: build === undefined ? [] : build.split("."),
  };
}

/** A plain `MAJOR.MINOR.PATCH`, the only form accepted at publish (SPEC §4.2). */
export function isRelease(text: string): boolean {
  const version = parseSemver(text);
  return version !== null && version.prerelease.length === 0 && version.build.length === 0;
}

/** A version with a prerelease part (`1.3.0-beta.1`): publishable, never "latest" (SPEC §13). */
export function isPrerelease(text: string): boolean {
  return (parseSemver(text)?.prerelease.length ?? 0) > 0;
}

/**
 * A requirement range (npm's syntax: `^1.2.0`, `~1.2`, `>=1.0.0 <2.0.0`, `1.x || 2.x`). Read with
 * the `semver` package, in strict (not loose) mode; at most 256 characters, as a version.
 */
export function isSemverRange(range: string): boolean {
  return range.trim() !== "" && range.length <= 256 && semver.validRange(range) !== null;
}

/** Whether `version` satisfies `range`; a prerelease only when the range names that same x.y.z. */
export function satisfiesRange(version: string, range: string): boolean {
  return semver.satisfies(version, range);
}

/** Precedence as -1, 0 or 1. Build metadata does not count; throws on an invalid version. */
export function compareSemver(a: string, b: string): number {
  return comparePrecedence(parseOrThrow(a), parseOrThrow(b));
}

export function upgradeKind(from: string, to: string): UpgradeKind {
  const current = parseOrThrow(from);
  const next = parseOrThrow(to);
  const order = comparePrecedence(current, next);
  if (order > 0) return "downgrade";
  if (order === 0) return "none";
  if (next.major !== current.major) return "major";
  if (next.minor !== current.minor) return "minor";
  return "patch";
}

function comparePrecedence(a: SemVer, b: SemVer): number {
  return (
    compareNumbers(a.major, b.major) ||
    compareNumbers(a.minor, b.minor) ||
    compareNumbers(a.patch, b.patch) ||
    comparePrereleases(a.prerelease, b.prerelease)
  );
}

function comparePrereleases(a: (string | number)[], b: (string | number)[]): number {
  // A version without a prerelease ranks above any prerelease of it: 1.0.0-rc.1 < 1.0.0.
  if (a.length === 0 || b.length === 0) return compareNumbers(b.length, a.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = compareIdentifiers(a[i], b[i]);
    if (order !== 0) return order;
  }
  return compareNumbers(a.length, b.length);
}

function compareIdentifiers(a: string | number, b: string | number): number {
  if (typeof a === "number" && typeof b === "number") return compareNumbers(a, b);
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  // ASCII only (the grammar allows nothing else), so code-unit order is the spec's lexical order.
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toPrereleaseId(id: string): string | number {
  return NUMERIC_ID.test(id) ? Number(id) : id;
}

function parseOrThrow(text: string): SemVer {
  const version = parseSemver(text);
  if (version === null) throw new TypeError(`not a valid semantic version: ${JSON.stringify(text)}`);
  return version;
}
