// The file of `capstan runtime apply -f capabilities.yaml`: the capabilities a runtime should have,
// nothing else. Read with the same hardened YAML reader as capability.yaml.
//
//   capabilities:
//     - name: web-search        # or owner/name for another org's public capability
//       version: 1.2.0          # optional: x.y.z, latest or a tag (the binding then tracks it); left
//                               # out, the server keeps the bound version, and installs latest only
//                               # for a capability not bound yet
//       auto_update: true       # optional: follow the tag or latest (SPEC §13); not with x.y.z;
//                               # left out, a bound capability keeps its setting
//       enabled: false          # optional: true by default
//       flags:                  # optional: the runtime's flag overrides, exactly these (others
//         readonly: true        # go back to the capability's defaults); left out, they are kept
//     - summariser@2.0.0        # shorthand: NAME[@VERSION], enabled
import { parseSafeYaml } from "../domain/manifest.js";
import { VERSION_SELECTOR_PATTERN } from "../domain/names.js";
import type { ApiErrorItem } from "./api-types.js";
import { parseCapabilityRef } from "./capability-ref.js";
import { CliError } from "./cli-errors.js";

export interface DesiredCapability {
  name: string;
  version?: string;
  enabled?: boolean;
  /** Follow the tracked tag or latest; absent: a bound capability keeps its setting. */
  auto_update?: boolean;
  /** The overrides the binding should have, exactly; absent: keep the binding's. */
  flags?: Record<string, boolean>;
}

const ITEM_KEYS = new Set(["name", "version", "enabled", "auto_update", "flags"]);
/** x.y.z (a prerelease too), latest, or a tag: what the server takes. */
const VERSION_SELECTOR = new RegExp(VERSION_SELECTOR_PATTERN);
/** A fixed version: nothing to follow, so no auto_update with it. */
const FIXED_VERSION = /^\d/;

/** The desired capabilities, or a CliError listing every problem with its location in the file. */
export function parseApplyFile(text: string, fileName: string): DesiredCapability[] {
  const parsed = parseSafeYaml(text);
  if (!parsed.ok) throw new CliError(`${fileName} is not valid YAML: ${parsed.error}`);
  const problems: ApiErrorItem[] = [];
  const root = parsed.value;
  if (!isMap(root) || !Array.isArray(root.capabilities)) {
    throw new CliError(`${fileName} must be a mapping with a "capabilities" list`);
  }
  for (const key of Object.keys(root)) {
    if (key !== "capabilities")
      problems.push({ loc: [key], msg: "unknown key (only capabilities is allowed)", type: "apply.key" });
  }
  const desired: DesiredCapability[] = [];
  const seen = new Set<string>();
  root.capabilities.forEach((item, index) => {
    const capability = readItem(item, index, problems);
    if (capability === null) return;
    if (seen.has(capability.name))
      problems.push(issue(["capabilities", index], `${capability.name} is listed twice`));
    seen.add(capability.name);
    desired.push(capability);
  });
  if (problems.length > 0) throw new CliError(`${fileName} is not a valid capabilities file`, problems);
  return desired;
}

function readItem(item: unknown, index: number, problems: ApiErrorItem[]): DesiredCapability | null {
  const loc = ["capabilities", index];
  if (typeof item === "string") return readShorthand(item, loc, problems);
  if (!isMap(item)) {
    problems.push(
      issue(loc, "must be NAME[@VERSION] or a mapping with name, version, enabled, auto_update, flags"),
    );
    return null;
  }
  const before = problems.length;
  for (const key of Object.keys(item)) {
    if (!ITEM_KEYS.has(key))
      problems.push(issue([...loc, key], "unknown key (name, version, enabled, auto_update, flags)"));
  }
  const ref = typeof item.name === "string" ? parseCapabilityRef(item.name) : null;
  if (ref === null || typeof ref === "string" || ref.version !== null) {
    problems.push(issue([...loc, "name"], "must be a capability name (or owner/name), without @version"));
  }
  if (
    item.version !== undefined &&
    (typeof item.version !== "string" || !VERSION_SELECTOR.test(item.version))
  ) {
    problems.push(
      issue([...loc, "version"], "must be x.y.z, latest or a tag (quote it if YAML reads a number)"),
    );
  }
  if (item.enabled !== undefined && typeof item.enabled !== "boolean") {
    problems.push(issue([...loc, "enabled"], "must be true or false"));
  }
  if (item.auto_update !== undefined && typeof item.auto_update !== "boolean") {
    problems.push(issue([...loc, "auto_update"], "must be true or false"));
  } else if (
    item.auto_update === true &&
    typeof item.version === "string" &&
    FIXED_VERSION.test(item.version)
  ) {
    problems.push(
      issue(
        [...loc, "auto_update"],
        `version ${item.version} is fixed: list a tag or latest to auto-update`,
        "binding.auto_update",
      ),
    );
  }
  if (item.flags !== undefined && item.flags !== null) {
    if (!isMap(item.flags)) problems.push(issue([...loc, "flags"], "must be a mapping of FLAG: true|false"));
    else
      for (const [flag, value] of Object.entries(item.flags)) {
        if (typeof value !== "boolean")
          problems.push(issue([...loc, "flags", flag], "must be true or false"));
      }
  }
  if (problems.length > before) return null;
  return {
    name: item.name as string,
    ...(item.version !== undefined && { version: item.version as string }),
    ...(item.enabled !== undefined && { enabled: item.enabled as boolean }),
    ...(item.auto_update !== undefined && { auto_update: item.auto_update as boolean }),
    // `flags:` with nothing under it (YAML null) means "no overrides", as `flags: {}` does.
    ...(item.flags !== undefined && { flags: { ...((item.flags ?? {}) as Record<string, boolean>) } }),
  };
}

function readShorthand(
  text: string,
  loc: (string | number)[],
  problems: ApiErrorItem[],
): DesiredCapability | null {
  const ref = parseCapabilityRef(text);
  if (typeof ref === "string" || (ref.version !== null && !VERSION_SELECTOR.test(ref.version))) {
    problems.push(
      issue(loc, typeof ref === "string" ? ref : `'${text}': the version must be x.y.z, latest or a tag`),
    );
    return null;
  }
  return ref.version === null ? { name: ref.name } : { name: ref.name, version: ref.version };
}

function issue(loc: (string | number)[], msg: string, type = "apply.capability"): ApiErrorItem {
  return { loc, msg, type };
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
