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
}

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
  return flag ?? nonEmpty(env.CAPSTAN_PROFILE) ?? config.current_profile ?? DEFAULT_PROFILE;
}

export function resolveConnection(config: ConfigFile, env: Env, profileName: string): Connection {
  const profile = config.profiles[profileName] ?? {};
  return {
    profile: profileName,
    url: nonEmpty(env.CAPSTAN_URL) ?? profile.url ?? null,
    token: nonEmpty(env.CAPSTAN_TOKEN) ?? profile.token ?? null,
    org: nonEmpty(env.CAPSTAN_ORG) ?? profile.org ?? null,
    workspace: nonEmpty(env.CAPSTAN_WORKSPACE) ?? profile.workspace ?? null,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
