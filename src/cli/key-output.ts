// How API keys are shown, shared by `capstan key` and `capstan admin user key`: the secret of a new
// key exactly once, alone on stdout (so `KEY=$(capstan key create …)` works), the rest on stderr.
import type { ApiKeyCreatedView, ApiKeySummaryView } from "./api-types.js";
import { positiveInteger } from "./choices.js";
import type { CommandContext, CommandInput, OptionSpec } from "./command.js";
import { formatTimestamp } from "./presenters.js";

export const KEY_CREATE_OPTIONS: Record<string, OptionSpec> = {
  "expires-in-days": { type: "string", value: "DAYS", description: "Lifetime, 1..3650 (default: no expiry)" },
  "read-only": { type: "boolean", description: "The key can read but never change anything" },
};

/** The `POST …/api-keys` body from the command's options. */
export function keyCreateBody(
  ctx: CommandContext,
  input: CommandInput,
  name: string,
): Record<string, unknown> {
  const days = positiveInteger(ctx, "--expires-in-days", input.string("expires-in-days"));
  return {
    name,
    ...(days !== undefined && { expires_in_days: days }),
    ...(input.boolean("read-only") && { read_only: true }),
  };
}

export function printCreatedKey(ctx: CommandContext, created: ApiKeyCreatedView, owner: string): void {
  if (ctx.json) {
    ctx.out.data(created);
    return;
  }
  ctx.out.line(created.key);
  const expiry = created.expires_at === null ? "never expires" : `expires ${created.expires_at}`;
  ctx.out.note(
    `API key '${created.name}' for ${owner} (id ${created.id}, prefix ${created.prefix}${created.read_only ? ", read-only" : ""}), ${expiry}. It is shown only once: store it now.`,
  );
}

export function printKeyTable(ctx: CommandContext, keys: ApiKeySummaryView[]): void {
  if (ctx.json) {
    ctx.out.data({ items: keys });
    return;
  }
  if (keys.length === 0) {
    ctx.out.line("No keys.");
    return;
  }
  ctx.out.table(
    ["PREFIX", "NAME", "ID", "KIND", "EXPIRES", "LAST USED", "CREATED"],
    keys.map((key) => [
      key.prefix,
      key.name,
      key.id,
      [key.runtime_id !== null ? "runtime token" : "key", key.read_only ? "read-only" : ""]
        .filter(Boolean)
        .join(", "),
      key.expires_at === null ? "never" : formatTimestamp(key.expires_at),
      key.last_used_at === null ? "never" : formatTimestamp(key.last_used_at),
      formatTimestamp(key.created_at),
    ]),
  );
}
