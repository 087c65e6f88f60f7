// Values a flag or argument must take from a fixed list: refused before any request, naming the list
// (the server's 422 would only say "must be equal to one of the allowed values").
import type { CommandContext } from "./command.js";

export const ROLES = ["owner", "contributor", "reader"] as const;
export type RoleName = (typeof ROLES)[number];

/** `label` is how the user wrote it: `--sort`, `role`. */
export function oneOf<T extends string>(
  ctx: CommandContext,
  label: string,
  value: string,
  allowed: readonly T[],
): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw ctx.usageError(`${label} must be one of ${allowed.join(", ")} (got '${value}')`);
}

export function positiveInteger(
  ctx: CommandContext,
  label: string,
  text: string | undefined,
): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,8}$/.test(text)) throw ctx.usageError(`${label} must be a positive integer`);
  return Number(text);
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function requiredRole(ctx: CommandContext, value: string | undefined, label = "--role"): RoleName {
  if (value === undefined) throw ctx.usageError(`missing ${label} ROLE (one of ${ROLES.join(", ")})`);
  return oneOf(ctx, label, value, ROLES);
}
