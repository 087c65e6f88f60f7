// The runtime's secret values on disk (SPEC §11): `DIR/secrets/<capability>.env`, one file per
// capability that declares secrets, mode 0600 in a 0700 directory. Values come from
// `GET RT/secrets` and go nowhere else: not into resolved.json, capabilities.env, the report or
// an error message (a malformed answer is described by its shape, never its content).
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { SECRET_NAME_PATTERN } from "../../domain/names.js";
import type { ApiClient } from "../api-client.js";
import type { Resolved } from "../api-types.js";
import { CliError } from "../cli-errors.js";
import { capabilityDirectory } from "./sync-state.js";

export const SECRETS_DIR = "secrets";
const SECRET_NAME = new RegExp(SECRET_NAME_PATTERN);

export type SecretValues = Map<string, Record<string, string>>;

/** Whether any capability of the set declares secrets (only then is `GET RT/secrets` called). */
export function needsSecrets(resolved: Resolved): boolean {
  return resolved.capabilities.some((capability) => (capability.secrets ?? []).length > 0);
}

/**
 * The values for every capability of `resolved` that declares secrets, checked: only names the
 * resolved set declares, string values. A capability named `secrets` would unpack into the
 * directory the files go to, so such a set is refused.
 */
export async function fetchSecretValues(
  api: ApiClient,
  runtimePath: string,
  resolved: Resolved,
  signal?: AbortSignal,
): Promise<SecretValues> {
  const wanted = resolved.capabilities.filter((capability) => (capability.secrets ?? []).length > 0);
  if (wanted.length === 0) return new Map();
  if (resolved.capabilities.some((capability) => capabilityDirectory(capability.name) === SECRETS_DIR)) {
    throw new CliError(
      `a capability named '${SECRETS_DIR}' would share the directory its secret files are written to; rename it to sync this runtime`,
    );
  }
  const response = await api.get<{ values?: unknown }>(`${runtimePath}/secrets`, { signal });
  const values = response.body?.values;
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    throw new CliError("the server's secrets answer has no values object; nothing was changed");
  }
  const result: SecretValues = new Map();
  for (const capability of wanted) {
    const declared = new Set((capability.secrets ?? []).map((secret) => secret.name));
    const given = (values as Record<string, unknown>)[capability.name] ?? {};
    if (typeof given !== "object" || given === null || Array.isArray(given)) {
      throw new CliError(
        `the server's secrets for ${capability.name} are not an object; nothing was changed`,
      );
    }
    const checked: Record<string, string> = {};
    for (const [name, value] of Object.entries(given)) {
      if (!declared.has(name) || !SECRET_NAME.test(name) || typeof value !== "string") {
        throw new CliError(
          `the server sent ${capability.name} a secret it does not declare, or not as text; nothing was changed`,
        );
      }
      checked[name] = value;
    }
    result.set(capability.name, checked);
  }
  return result;
}

/**
 * `NAME='value'` lines, sorted: single quotes keep every byte literal when a POSIX shell sources
 * the file (a quote inside is written `'\''`).
 */
export function renderSecretsFile(values: Record<string, string>): string {
  return Object.keys(values)
    .sort()
    .map((name) => `${name}='${values[name].replaceAll("'", "'\\''")}'\n`)
    .join("");
}

/** The file of one capability, relative to DIR. */
export const secretsFileOf = (capability: string): string =>
  path.join(SECRETS_DIR, `${capabilityDirectory(capability)}.env`);

/**
 * Writes each capability's file (mode 0600, replaced in one rename) and removes the files of
 * capabilities that no longer have any, leaving whatever else is in the directory alone.
 */
export async function writeSecretFiles(dir: string, values: SecretValues): Promise<void> {
  const directory = path.join(dir, SECRETS_DIR);
  const wanted = new Set([...values.keys()].map((name) => `${capabilityDirectory(name)}.env`));
  if (values.size > 0) {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    await chmod(directory, 0o700);
  }
  for (const [capability, secrets] of values) {
    await writePrivateFile(path.join(dir, secretsFileOf(capability)), renderSecretsFile(secrets));
  }
  let present: string[];
  try {
    present = await readdir(directory);
  } catch {
    return;
  }
  for (const entry of present) {
    // Only files this sync would write: a capability's name and `.env`.
    if (!entry.endsWith(".env") || entry.startsWith(".") || wanted.has(entry)) continue;
    await rm(path.join(directory, entry), { force: true });
  }
}

async function writePrivateFile(file: string, data: string): Promise<void> {
  const temporary = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`,
  );
  try {
    // Created 0600 from the start: the value is never readable by others, not even for a moment.
    const handle = await open(temporary, "wx", 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(`cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
}
