// `capstan key list|create|revoke`: API keys (SPEC §3, §16): your own, or with --service-account
// those of one of the org's service accounts (owner). A new key's secret is printed once.
import { apiPath } from "../api-client.js";
import type { ApiKeyCreatedView, ApiKeySummaryView, UserView } from "../api-types.js";
import { UUID } from "../choices.js";
import { CliError } from "../cli-errors.js";
import type { CommandContext, CommandInput, CommandSpec, GroupSpec, OptionSpec } from "../command.js";
import { confirm, YES_OPTION } from "../confirm.js";
import { KEY_CREATE_OPTIONS, keyCreateBody, printCreatedKey, printKeyTable } from "../key-output.js";
import { findServiceAccount } from "./service-account.js";

const SERVICE_ACCOUNT_OPTION: Record<string, OptionSpec> = {
  "service-account": {
    type: "string",
    value: "ID",
    description: "A service account of the profile's org (user id or name), instead of yourself",
  },
};

/** Whose keys a command works on: the caller's (`/user/api-keys`) or a service account's. */
interface KeyOwner {
  label: string;
  keysPath: string;
  ctx: CommandContext;
}

const list: CommandSpec = {
  name: "list",
  summary: "List API keys that are not revoked (no secrets): yours, or a service account's",
  options: SERVICE_ACCOUNT_OPTION,
  async run(ctx, input) {
    const owner = await keyOwner(ctx, input);
    printKeyTable(ctx, await listKeys(owner));
  },
};

const create: CommandSpec = {
  name: "create",
  summary: "Create an API key and print its secret once",
  args: ["NAME"],
  options: {
    ...KEY_CREATE_OPTIONS,
    "limit-to-org": {
      type: "string",
      value: "ORG",
      description: "Your key reaches only this org (a service account's key always is)",
    },
    ...SERVICE_ACCOUNT_OPTION,
  },
  details: `The secret goes alone to stdout; what it is goes to stderr. Example:
  KEY=$(capstan key create ci --read-only --expires-in-days 90)`,
  async run(ctx, input) {
    const owner = await keyOwner(ctx, input);
    const limit = input.string("limit-to-org");
    if (limit !== undefined && input.string("service-account") !== undefined) {
      throw ctx.usageError(
        "--limit-to-org is for your own keys: a service account's key is limited to its org",
      );
    }
    const body = { ...keyCreateBody(ctx, input, input.args[0]), ...(limit !== undefined && { org: limit }) };
    const api = await ctx.api();
    const created = (await api.post<ApiKeyCreatedView>(owner.keysPath, { json: body })).body;
    printCreatedKey(ctx, created, owner.label);
  },
};

const revoke: CommandSpec = {
  name: "revoke",
  summary: "Revoke an API key, effective immediately",
  args: ["KEY"],
  options: { ...SERVICE_ACCOUNT_OPTION, ...YES_OPTION },
  details: "KEY is the key's id or its prefix (as 'capstan key list' shows them).",
  async run(ctx, input) {
    const owner = await keyOwner(ctx, input);
    const key = await findKey(owner, input.args[0]);
    await confirm(ctx, input, {
      question: `Revoke key '${key.name}' (${key.prefix}) of ${owner.label}? Whatever uses it stops working.`,
      refusal: `not revoking key ${key.prefix}`,
    });
    const api = await ctx.api();
    await api.delete(`${owner.keysPath}${apiPath`/${key.id}`}`);
    if (ctx.json) ctx.out.data({ revoked: true, key });
    else ctx.out.line(`Revoked key '${key.name}' (${key.prefix}) of ${owner.label}.`);
  },
};

export const keyGroup: GroupSpec = {
  name: "key",
  summary: "API keys: yours, or a service account's (--service-account)",
  commands: [list, create, revoke],
};

async function keyOwner(ctx: CommandContext, input: CommandInput): Promise<KeyOwner> {
  const account = input.string("service-account");
  if (account === undefined) {
    const api = await ctx.api();
    const me = (await api.get<UserView>("/user/me")).body;
    return { ctx, label: me.email, keysPath: "/user/api-keys" };
  }
  const scope = await ctx.orgScope();
  const found = await findServiceAccount(scope, account);
  return {
    ctx,
    label: `service account ${found.name}`,
    keysPath: apiPath`/org/${scope.org}/service-accounts/${found.user_id}/api-keys`,
  };
}

async function listKeys(owner: KeyOwner): Promise<ApiKeySummaryView[]> {
  const api = await owner.ctx.api();
  return (await api.get<ApiKeySummaryView[]>(owner.keysPath)).body;
}

async function findKey(owner: KeyOwner, ref: string): Promise<ApiKeySummaryView> {
  const keys = await listKeys(owner);
  const key = UUID.test(ref)
    ? keys.find((item) => item.id === ref.toLowerCase())
    : keys.find(
        (item) =>
          item.prefix === ref || ref.startsWith(`cst_${item.prefix}_`) || `cst_${item.prefix}` === ref,
      );
  if (key === undefined) {
    throw new CliError(`${owner.label} has no key '${ref}' (an id or prefix)`, [], "See 'capstan key list'.");
  }
  return key;
}
