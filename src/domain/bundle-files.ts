// Which of a capability's files belong in its bundle, and which of those look like secrets. The CLI
// applies this while packing; the server runs the same rules on a published bundle (which another
// tool may have packed) and warns about what the CLI would have left out, so both agree.
import {
  IGNORE_FILE,
  type IgnoreMatcher,
  IgnoreWorkExceeded,
  IgnoreMatcher as Matcher,
} from "./ignore-rules.js";
import type { Issue } from "./types.js";

export interface ExcludedPath {
  /** A file, or a directory (ending in `/`) left out with everything in it. */
  path: string;
  /** The pattern that left it out, as written. */
  rule: string;
  /** `built-in`, `.capstanignore:<line>` or `output file`. */
  source: string;
}

/** The matcher for a capability whose `.capstanignore` holds `ignoreFile` (null: none). */
export function capabilityIgnoreMatcher(ignoreFile: Buffer | string | null): IgnoreMatcher {
  return Matcher.forCapability(ignoreFile === null ? null : ignoreFile.toString("utf8"));
}

/** Splits in-memory files into the bundle's and the left-out ones (a directory named once). */
export function selectBundleFiles(files: ReadonlyMap<string, Buffer>): {
  included: Map<string, Buffer>;
  excluded: ExcludedPath[];
  /** What of `.capstanignore` was not applied (over the rule limits). */
  ignoreWarnings: readonly string[];
} {
  const matcher = capabilityIgnoreMatcher(files.get(IGNORE_FILE) ?? null);
  const included = new Map<string, Buffer>();
  const excluded = new Map<string, ExcludedPath>();
  for (const [path, content] of files) {
    const match = matcher.match(path);
    if (!match.ignored || match.rule === null) {
      included.set(path, content);
      continue;
    }
    const where = excludedPathOf(matcher, path);
    if (!excluded.has(where))
      excluded.set(where, { path: where, rule: match.rule.pattern, source: match.rule.source });
  }
  return { included, excluded: [...excluded.values()], ignoreWarnings: matcher.warnings };
}

/** `path` itself, or the outermost ignored directory it lies in (as `dir/`). */
function excludedPathOf(matcher: IgnoreMatcher, path: string): string {
  const segments = path.split("/");
  for (let depth = 1; depth < segments.length; depth++) {
    const directory = segments.slice(0, depth).join("/");
    if (matcher.ignores(directory, true)) return `${directory}/`;
  }
  return path;
}

export interface SecretLookingFile {
  path: string;
  /** Why it looks like one: "private key", "SSH key", "credentials file"… */
  reason: string;
}

const SECRET_NAMES: readonly [RegExp, string][] = [
  [/^id_(rsa|dsa|ecdsa|ed25519)(?!.*\.pub$)/, "an SSH private key"],
  [/\.(pem|key|p12|pfx|jks|keystore)$/i, "a key or certificate store"],
  [/^\.env(\..*)?$/, "an environment file"],
  [/^(\.npmrc|\.pypirc|\.netrc|\.git-credentials|\.dockercfg)$/, "a credentials file"],
  [/^credentials/i, "a credentials file"],
  [/^(service-account|gcp-key|firebase-adminsdk).*\.json$/i, "a cloud service-account key"],
];

const PRIVATE_KEY_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/;

/** Files whose name or content (a PEM private-key block) says they hold a secret. */
export function secretLookingFiles(files: ReadonlyMap<string, Buffer>): SecretLookingFile[] {
  const found: SecretLookingFile[] = [];
  for (const [path, content] of files) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    const byName = SECRET_NAMES.find(([pattern]) => pattern.test(name));
    if (byName) {
      found.push({ path, reason: byName[1] });
      continue;
    }
    if (content.includes("PRIVATE KEY") && PRIVATE_KEY_BLOCK.test(content.toString("latin1"))) {
      found.push({ path, reason: "it contains a private key" });
    }
  }
  return found;
}

/** Past this many, one more warning says how many were not listed: a `.git` can hold thousands. */
const MAX_FILE_WARNINGS = 20;

/**
 * The server's side of the agreement: a bundle holding files that `capstan capability pack` would
 * have left out, or files that look like secrets, is still accepted, with one warning for each.
 */
export function bundleFileWarnings(files: ReadonlyMap<string, Buffer>): Issue[] {
  let selection: ReturnType<typeof selectBundleFiles>;
  try {
    selection = selectBundleFiles(files);
  } catch (error) {
    if (!(error instanceof IgnoreWorkExceeded)) throw error;
    // The rules only decide warnings here, so the bundle is still accepted, with this one instead.
    return [
      {
        loc: ["bundle", IGNORE_FILE],
        msg: `${IGNORE_FILE} costs too much to apply to this bundle (over ${error.limit} steps); its rules were not checked`,
        type: "bundle.ignore_rules",
      },
      ...secretWarnings(secretLookingFiles(files)),
    ];
  }
  const { included, excluded, ignoreWarnings } = selection;
  // Not counted against MAX_FILE_WARNINGS: they say the file list below is not what the file asked.
  const ruleWarnings = ignoreWarnings.map(
    (msg): Issue => ({ loc: ["bundle", IGNORE_FILE], msg, type: "bundle.ignore_rules" }),
  );
  const warnings: Issue[] = [
    ...excluded.map(
      (item): Issue => ({
        loc: ["bundle", item.path],
        msg: `${item.path} is left out by capstan capability pack (${item.source} rule "${item.rule}") but is in this bundle`,
        type: "bundle.ignored_file",
      }),
    ),
    ...secretWarnings(secretLookingFiles(included)),
  ];
  if (warnings.length <= MAX_FILE_WARNINGS) return [...ruleWarnings, ...warnings];
  const shown = warnings.slice(0, MAX_FILE_WARNINGS);
  shown.push({
    loc: ["bundle"],
    msg: `${warnings.length - MAX_FILE_WARNINGS} more files are left out by capstan capability pack or look like secrets`,
    type: "bundle.ignored_file",
  });
  return [...ruleWarnings, ...shown];
}

function secretWarnings(secrets: SecretLookingFile[]): Issue[] {
  return secrets.map((item) => ({
    loc: ["bundle", item.path],
    msg: `${item.path} looks like a secret (${item.reason}); leave it out with ${IGNORE_FILE}`,
    type: "bundle.secret_file",
  }));
}
