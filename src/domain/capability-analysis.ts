// The one validator of a capability directory held in memory: the server runs it on a published
// bundle, the CLI's offline `validate` on a local directory, so both always agree.
import { bundleFileWarnings } from "./bundle-files.js";
import { discoverComponents } from "./discovery.js";
import { MANIFEST_PATH, type Manifest, parseManifest } from "./manifest.js";
import type { ComponentCounts, ComponentDetail, FlagDefinition, Issue } from "./types.js";

export interface CapabilityAnalysis {
  /** null when capability.yaml is missing or has errors. */
  manifest: Manifest | null;
  errors: Issue[];
  warnings: Issue[];
  componentCounts: ComponentCounts;
  componentDetails: ComponentDetail[];
  flags: Record<string, FlagDefinition>;
  readme: { path: string; content: string } | null;
}

export interface AnalyzeCapabilityOptions {
  /** Accept prerelease/build versions (publish refuses them). */
  allowPrerelease?: boolean;
}

const NO_COMPONENTS: ComponentCounts = { agents: 0, tools: 0, skills: 0, mcp_servers: 0, workers: 0 };

export function analyzeCapability(
  files: ReadonlyMap<string, Buffer>,
  options: AnalyzeCapabilityOptions = {},
): CapabilityAnalysis {
  const readme = findReadme(files);
  const source = files.get(MANIFEST_PATH);
  if (source === undefined) {
    const missing: Issue = {
      loc: ["bundle", MANIFEST_PATH],
      msg: "capability.yaml is missing at the root",
      type: "bundle.no_manifest",
    };
    return emptyAnalysis([missing], [], readme);
  }
  const directories = directoriesOf(files);
  const parsed = parseManifest(source, {
    allowPrerelease: options.allowPrerelease,
    fileExists: (path) => files.has(path),
    dirExists: (path) => directories.has(path),
  });
  if (parsed.manifest === null) return emptyAnalysis(parsed.errors, parsed.warnings, readme);
  const discovered = discoverComponents(parsed.manifest, files);
  return {
    manifest: parsed.manifest,
    errors: [...parsed.errors, ...discovered.errors],
    warnings: [...parsed.warnings, ...discovered.warnings, ...bundleFileWarnings(files)],
    componentCounts: discovered.counts,
    componentDetails: discovered.details,
    flags: parsed.manifest.flags,
    readme,
  };
}

function emptyAnalysis(
  errors: Issue[],
  warnings: Issue[],
  readme: CapabilityAnalysis["readme"],
): CapabilityAnalysis {
  return {
    manifest: null,
    errors,
    warnings,
    componentCounts: { ...NO_COMPONENTS },
    componentDetails: [],
    flags: {},
    readme,
  };
}

/** Every directory implied by the file paths (`a/b/c.md` → `a`, `a/b`). */
function directoriesOf(files: ReadonlyMap<string, Buffer>): Set<string> {
  const directories = new Set<string>();
  for (const path of files.keys()) {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
      directories.add(path.slice(0, slash));
    }
  }
  return directories;
}

/** README.md at the root in any letter case; the exact spelling wins if a directory has several. */
function findReadme(files: ReadonlyMap<string, Buffer>): CapabilityAnalysis["readme"] {
  const candidates = [...files.keys()].filter((path) => path.toLowerCase() === "readme.md").sort();
  const path = candidates.includes("README.md") ? "README.md" : candidates[0];
  return path === undefined ? null : { path, content: files.get(path)!.toString("utf8") };
}
