// Pure rules of a binding's secrets (SPEC §11): which workspace secret each declared name maps to,
// which required ones are missing, and the references the resolved set shows. No I/O here.
import type { Issue } from "../domain/types.js";
import { AppError } from "../errors.js";

export interface SecretDeclaration {
  description: string;
  required: boolean;
}
export type DeclaredSecrets = Record<string, SecretDeclaration>;
/** Declared name → workspace secret name; explicit mappings only (absent: the same name). */
export type SecretMapping = Record<string, string>;

export interface SecretReference {
  name: string;
  secret: string;
  /** The workspace secret's version; null while it does not exist. */
  version: number | null;
}

export const mappedSecretName = (mapping: SecretMapping, name: string): string =>
  Object.hasOwn(mapping, name) ? mapping[name] : name;

/** Required declared names whose workspace secret does not exist, sorted. */
export function missingSecrets(
  declared: DeclaredSecrets,
  mapping: SecretMapping,
  available: ReadonlyMap<string, number>,
): string[] {
  return Object.keys(declared)
    .filter((name) => declared[name].required && !available.has(mappedSecretName(mapping, name)))
    .sort();
}

/** Every declared name with the workspace secret it reads and that secret's version, by name. */
export function secretReferences(
  declared: DeclaredSecrets,
  mapping: SecretMapping,
  available: ReadonlyMap<string, number>,
): SecretReference[] {
  return Object.keys(declared)
    .sort()
    .map((name) => {
      const secret = mappedSecretName(mapping, name);
      return { name, secret, version: available.get(secret) ?? null };
    });
}

/** Mappings stored with sorted keys and without the default (a name mapped to itself). */
export function serializeMapping(mapping: SecretMapping): string {
  const sorted: SecretMapping = {};
  for (const name of Object.keys(mapping).sort()) if (mapping[name] !== name) sorted[name] = mapping[name];
  return JSON.stringify(sorted);
}

/** Mappings of names the version still declares; the rest are dropped on a version change. */
export function keepDeclaredMapping(mapping: SecretMapping, declared: DeclaredSecrets): SecretMapping {
  const kept: SecretMapping = {};
  for (const [name, secret] of Object.entries(mapping))
    if (Object.hasOwn(declared, name)) kept[name] = secret;
  return kept;
}

/**
 * Merges requested mapping changes: a workspace secret name sets the mapping, null restores the
 * default. A name the bound version does not declare is 422 (every one reported at once).
 */
export function mergeSecretMapping(
  mapping: SecretMapping,
  changes: Record<string, string | null>,
  declared: DeclaredSecrets,
  loc: (string | number)[] = ["body", "secrets"],
): SecretMapping {
  const merged = { ...mapping };
  const issues: Issue[] = [];
  for (const [name, secret] of Object.entries(changes)) {
    if (!Object.hasOwn(declared, name)) {
      issues.push({
        loc: [...loc, name],
        msg: `the bound version declares no secret '${name}'`,
        type: "binding.secrets",
      });
    } else if (secret === null) delete merged[name];
    else merged[name] = secret;
  }
  if (issues.length > 0) throw new AppError("validation_error", "Invalid secret mapping", issues);
  return merged;
}
