// Every identifier pattern and length limit, written once. The contract's schemas, manifest
// validation, the fast lane's URL matcher and the CLI's own checks all read them from here, so a
// name the server accepts is a name every client accepts, and the other way round.
// Patterns are strings (JSON Schema takes them as such); `new RegExp(...)` where code tests them.

/** `cst_<12 of [a-z2-7]>_<32..128 of [A-Za-z0-9]>` (SPEC §2.2): the prefix, then the secret. */
export const API_KEY_PATTERN = /^cst_([a-z2-7]{12})_([A-Za-z0-9]{32,128})$/;

/** A UUID in any letter case (paths are lower-cased before use). */
export const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/** The key of an org, workspace or project: at most 63 characters. */
export const SLUG_PATTERN = "^[a-z0-9][a-z0-9-]{0,62}$";

/** A capability's own name (the manifest's `name`). */
export const CAPABILITY_NAME_PATTERN = "^[a-z0-9][a-z0-9-]*$";
export const CAPABILITY_NAME_MAX_LENGTH = 64;
/** `name`, or `owner/name` for another org's public capability (owner: an org key). */
export const CAPABILITY_REF_PATTERN = "^(?:[a-z0-9][a-z0-9-]{0,62}/)?[a-z0-9][a-z0-9-]*$";
export const CAPABILITY_REF_MAX_LENGTH = 128;

const NUMBER = "(?:0|[1-9]\\d*)";
const PRERELEASE_ID = "(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)";
const VERSION_BODY = `${NUMBER}\\.${NUMBER}\\.${NUMBER}(?:-${PRERELEASE_ID}(?:\\.${PRERELEASE_ID})*)?`;
/** A publishable version: `x.y.z` without leading zeros, with an optional prerelease (SPEC §13), no build. */
export const VERSION_PATTERN = `^${VERSION_BODY}$`;
/** A distribution tag (SPEC §13): a letter first, so it can never be read as a version. */
export const TAG_PATTERN = "^[a-z][a-z0-9-]{0,31}$";
const TAG_BODY = "[a-z][a-z0-9-]{0,31}";
/** A version, `latest`, or a tag (which a binding then tracks). */
export const VERSION_SELECTOR_PATTERN = `^(?:${VERSION_BODY}|${TAG_BODY})$`;
export const VERSION_MAX_LENGTH = 256;

/** A manifest flag's name (SPEC §4.2). */
export const FLAG_NAME_PATTERN = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$";
/** The longest flag name a runtime takes: flags become environment variable names. */
export const FLAG_NAME_MAX_LENGTH = 256;
/** A manifest worker's name. */
export const WORKER_NAME_PATTERN = "^[a-z0-9][a-z0-9-]*$";

const CAPABILITY_NAME = new RegExp(CAPABILITY_NAME_PATTERN);
const SLUG = new RegExp(SLUG_PATTERN);

/** Whether `text` is a capability name a manifest may declare. */
export function isCapabilityName(text: string): boolean {
  return text.length <= CAPABILITY_NAME_MAX_LENGTH && CAPABILITY_NAME.test(text);
}

/** Whether `text` is `name` or `owner/name` as the server makes them. */
export function isCapabilityRef(text: string): boolean {
  const slash = text.indexOf("/");
  if (slash === -1) return isCapabilityName(text);
  return SLUG.test(text.slice(0, slash)) && isCapabilityName(text.slice(slash + 1));
}

/** A pattern without its `^…$`, to be composed into a longer one (URL matchers). */
export const unanchored = (pattern: string): string => pattern.replace(/^\^/, "").replace(/\$$/, "");

/** A workspace secret's name, and a name a manifest declares under `secrets` (SPEC §11). */
export const SECRET_NAME_PATTERN = "^[A-Z_][A-Z0-9_]{0,127}$";
/** A secret's value: 1 to this many UTF-8 bytes. */
export const SECRET_VALUE_MAX_BYTES = 65_536;
/** The id of a master key in CAPSTAN_SECRETS_KEY (`id:base64`). */
export const SECRETS_KEY_ID_PATTERN = "^[A-Za-z0-9_-]{1,32}$";
