// `capstan service-account list|create`: automation users that belong to the profile's org alone
// (SPEC §3, §16); owners only. Their keys: `capstan key … --service-account ID`.
import { apiPath } from "../api-client.js";
import type { ServiceAccountView } from "../api-types.js";
import { ROLES, requiredRole, UUID } from "../choices.js";
import { CliError } from "../cli-errors.js";
import type { CommandSpec, GroupSpec, Scope } from "../command.js";
import { formatTimestamp } from "../presenters.js";

const list: CommandSpec = {
  name: "list",
  summary: "List the org's service accounts (owner)",
  async run(ctx) {
    const accounts = await listServiceAccounts(await ctx.orgScope());
    if (ctx.json) {
      ctx.out.data({ items: accounts });
      return;
    }
    if (accounts.length === 0) {
      ctx.out.line("No service accounts. Create one with 'capstan service-account create NAME --role ROLE'.");
      return;
    }
    ctx.out.table(
      ["NAME", "ROLE", "USER ID", "CREATED"],
      accounts.map((account) => [
        account.name,
        account.role,
        account.user_id,
        formatTimestamp(account.created_at),
      ]),
    );
  },
};

const create: CommandSpec = {
  name: "create",
  summary: "Create a service account: a user of this org alone, for automation (owner)",
  args: ["NAME"],
  options: {
    role: { type: "string", value: "ROLE", description: `Its role: ${ROLES.join(", ")}` },
  },
  details: "Then give it a key: capstan key create NAME --service-account <its user id or name>",
  async run(ctx, input) {
    const [name] = input.args;
    const role = requiredRole(ctx, input.string("role"));
    const { api, org } = await ctx.orgScope();
    const account = (
      await api.post<ServiceAccountView>(apiPath`/org/${org}/service-accounts`, { json: { name, role } })
    ).body;
    if (ctx.json) {
      ctx.out.data(account);
      return;
    }
    ctx.out.line(
      `Created service account ${account.name} (${account.user_id}) in ${org} as ${account.role}.`,
    );
    ctx.out.line(`Give it a key: capstan key create KEYNAME --service-account ${account.user_id}`);
  },
};

export const serviceAccountGroup: GroupSpec = {
  name: "service-account",
  summary: "Service accounts: automation users of the org",
  commands: [list, create],
};

export async function listServiceAccounts(scope: Scope): Promise<ServiceAccountView[]> {
  return (await scope.api.get<ServiceAccountView[]>(apiPath`/org/${scope.org}/service-accounts`)).body;
}

/** A service account by user id, or by name when exactly one has it. */
export async function findServiceAccount(scope: Scope, ref: string): Promise<ServiceAccountView> {
  const accounts = await listServiceAccounts(scope);
  const matches = UUID.test(ref)
    ? accounts.filter((account) => account.user_id === ref.toLowerCase())
    : accounts.filter((account) => account.name === ref);
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new CliError(
      `several service accounts are named '${ref}': name one by id: ${matches.map((a) => a.user_id).join(", ")}`,
    );
  }
  throw new CliError(
    `no service account '${ref}' in ${scope.org}`,
    [],
    "See 'capstan service-account list'.",
  );
}
