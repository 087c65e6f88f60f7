// Profiles: where the CLI finds the server, the key, the org and the workspace (SPEC §9). They live
// in one JSON file readable by its owner only, since it holds API keys; CAPSTAN_URL, CAPSTAN_TOKEN,
// CAPSTAN_ORG and CAPSTAN_WORKSPACE override the profile's values.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { CliError } from "./cli-errors.js";

export interface Profile {
  url?: string;
  token?: string;
  org?: string;
  workspace?: string;
}

export interface ConfigFile {
  current_profile?: string;
  profiles: Record<string, Profile>;
}

/** What a command connects with, after the environment has overridden the profile. */
export interface Connection {
  profile: string;
  url: string | null;
  token: string | null;
  org: string | null;
  workspace: string | null;
  /** Where each value came from, for `whoami`: `env CAPSTAN_URL`, `profile NAME`, `not set`. */
  sources: Record<ConnectionSetting | "profile", string>;
}

export type ConnectionSetting = "url" | "token" | "org" | "workspace";

/** Each setting and the variable that overrides it. */
export const ENV_OVERRIDES: Record<ConnectionSetting, string> = {
  url: "CAPSTAN_URL",
  token: "CAPSTAN_TOKEN",
  org: "CAPSTAN_ORG",
  workspace: "CAPSTAN_WORKSPACE",
};

export interface SelectedProfile {
  name: string;
  /** `flag` (--profile), `env` ($CAPSTAN_PROFILE), `config` (the file's current_profile) or `default`. */
  source: "flag" | "env" | "config" | "default";
}

/** Where `configFilePath` looks, in order, as `--help` lists it. */
export const CONFIG_SEARCH_ORDER = [
  "$CAPSTAN_CONFIG (a file path), when set",
  "$XDG_CONFIG_HOME/capstan/config.json, when XDG_CONFIG_HOME is set",
  "~/.config/capstan/config.json ($HOME/.config/capstan/config.json)",
];

export const DEFAULT_PROFILE = "default";

type Env = Record<string, string | undefined>;

/** `$CAPSTAN_CONFIG`, else `$XDG_CONFIG_HOME/capstan/config.json`, else `~/.config/capstan/config.json`. */
export function configFilePath(env: Env): string {
  const explicit = nonEmpty(env.CAPSTAN_CONFIG);
  if (explicit) return path.resolve(explicit);
  const configHome = nonEmpty(env.XDG_CONFIG_HOME) ?? path.join(nonEmpty(env.HOME) ?? homedir(), ".config");
  return path.join(configHome, "capstan", "config.json");
}

export async function readConfigFile(file: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { profiles: {} };
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(`${file} is not valid JSON`, [], "Fix it or delete it and run capstan login again.");
  }
  const config = value as Partial<ConfigFile>;
  if (typeof config !== "object" || config === null || typeof config.profiles !== "object") {
    throw new CliError(
      `${file} has no "profiles" object`,
      [],
      "Fix it or delete it and run capstan login again.",
    );
  }
  return { current_profile: config.current_profile, profiles: config.profiles ?? {} };
}

/** Written to a private temporary file and renamed, so a reader never sees half a file or a wider mode. */
export async function writeConfigFile(file: string, config: ConfigFile): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(`cannot write ${file}: ${(error as Error).message}`);
  }
}

/** The profile named by `--profile`, else `$CAPSTAN_PROFILE`, else the file's current one. */
export function selectProfileName(config: ConfigFile, env: Env, flag: string | undefined): string {
  return selectProfile(config, env, flag).name;
}

export function selectProfile(config: ConfigFile, env: Env, flag: string | undefined): SelectedProfile {
  if (flag !== undefined) return { name: flag, source: "flag" };
  const fromEnv = nonEmpty(env.CAPSTAN_PROFILE);
  if (fromEnv !== undefined) return { name: fromEnv, source: "env" };
  if (config.current_profile !== undefined) return { name: config.current_profile, source: "config" };
  return { name: DEFAULT_PROFILE, source: "default" };
}

const PROFILE_SOURCES: Record<SelectedProfile["source"], string> = {
  flag: "flag --profile",
  env: "env CAPSTAN_PROFILE",
  config: "config file (current_profile)",
  default: "default",
};

export function resolveConnection(
  config: ConfigFile,
  env: Env,
  selected: SelectedProfile | string,
): Connection {
  const { name, source } =
    typeof selected === "string" ? { name: selected, source: "flag" as const } : selected;
  const profile = config.profiles[name] ?? {};
  const sources: Connection["sources"] = {
    profile: PROFILE_SOURCES[source],
    url: "",
    token: "",
    org: "",
    workspace: "",
  };
  const values = {} as Record<ConnectionSetting, string | null>;
  for (const setting of Object.keys(ENV_OVERRIDES) as ConnectionSetting[]) {
    const variable = ENV_OVERRIDES[setting];
    const fromEnv = nonEmpty(env[variable]);
    const saved = profile[setting];
    values[setting] = fromEnv ?? saved ?? null;
    sources[setting] =
      fromEnv !== undefined ? `env ${variable}` : saved !== undefined ? `profile ${name}` : "not set";
  }
  return {
    profile: name,
    url: values.url,
    token: values.token,
    org: values.org,
    workspace: values.workspace,
    sources,
  };
}

/** The variables set in `env` that override a value of `profile`, with the setting each one hides. */
export function envOverrides(env: Env, profile: Profile): { setting: ConnectionSetting; variable: string }[] {
  return (Object.keys(ENV_OVERRIDES) as ConnectionSetting[])
    .filter((setting) => {
      const fromEnv = nonEmpty(env[ENV_OVERRIDES[setting]]);
      return fromEnv !== undefined && fromEnv !== profile[setting];
    })
    .map((setting) => ({ setting, variable: ENV_OVERRIDES[setting] }));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
