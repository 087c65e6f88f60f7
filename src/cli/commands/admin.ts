// `capstan admin user list|create|key`: instance administration (SPEC §3, §16). Instance admins
// only: this is how a new person gets their first key.

import type { ApiClient } from "../api-client.js";
import { apiPath } from "../api-client.js";
import type { AdminUserView, ApiKeyCreatedView } from "../api-types.js";
import { UUID } from "../choices.js";
import { CliError } from "../cli-errors.js";
import type { CommandSpec, GroupSpec } from "../command.js";
import { KEY_CREATE_OPTIONS, keyCreateBody, printCreatedKey } from "../key-output.js";
import { formatTimestamp } from "../presenters.js";
import type { AdminUserPageView } from "../tenancy-types.js";

const PAGE_SIZE = 100;

const list: CommandSpec = {
  name: "list",
  summary: "List every user of the instance, service accounts included (instance admin)",
  async run(ctx) {
    const users = await listUsers(await ctx.api());
    if (ctx.json) {
      ctx.out.data({ items: users });
      return;
    }
    ctx.out.table(
      ["EMAIL", "NAME", "ID", "KIND", "CREATED"],
      users.map((user) => [
        user.email,
        user.name,
        user.id,
        user.is_admin ? "admin" : user.service_org_id !== null ? "service account" : "user",
        formatTimestamp(user.created_at),
      ]),
    );
  },
};

const create: CommandSpec = {
  name: "create",
  summary: "Create a user (instance admin); then give them a key with 'admin user key'",
  args: ["EMAIL"],
  options: { name: { type: "string", value: "NAME", description: "Display name (required)" } },
  details: "Add them to an org with 'capstan member add EMAIL --role ROLE' (as that org's owner).",
  async run(ctx, input) {
    const [email] = input.args;
    const name = input.string("name");
    if (name === undefined) throw ctx.usageError("missing --name NAME");
    const api = await ctx.api();
    const user = (await api.post<AdminUserView>("/admin/users", { json: { email, name } })).body;
    if (ctx.json) {
      ctx.out.data(user);
      return;
    }
    ctx.out.line(`Created user ${user.email} (${user.id}).`);
    ctx.out.line(`Give them a key: capstan admin user key ${user.email}`);
  },
};

const key: CommandSpec = {
  name: "key",
  summary: "Mint an API key for a user and print its secret once (instance admin)",
  args: ["USER"],
  options: {
    name: { type: "string", value: "NAME", description: "The key's name (default: first-key)" },
    ...KEY_CREATE_OPTIONS,
  },
  details: "USER is an email or a user id. The secret goes alone to stdout; hand it over safely.",
  async run(ctx, input) {
    const api = await ctx.api();
    const user = await findUser(api, input.args[0]);
    const created = (
      await api.post<ApiKeyCreatedView>(apiPath`/admin/users/${user.id}/api-keys`, {
        json: keyCreateBody(ctx, input, input.string("name") ?? "first-key"),
      })
    ).body;
    printCreatedKey(ctx, created, user.email);
  },
};

const userGroup: GroupSpec = {
  name: "user",
  summary: "Users of the instance and their first keys",
  commands: [list, create, key],
};

const rotateSecrets: CommandSpec = {
  name: "rotate",
  summary: "Re-encrypt every workspace secret under the first key of the server's CAPSTAN_SECRETS_KEY",
  details: `Rotation: give every instance CAPSTAN_SECRETS_KEY=new:BASE64,old:BASE64 (the new key first),
restart them, run this, then drop the old key from the variable and restart again.`,
  async run(ctx) {
    const result = (
      await (await ctx.api()).post<{ key_id: string; reencrypted: number }>("/admin/secrets/rotate")
    ).body;
    if (ctx.json) ctx.out.data(result);
    else
      ctx.out.line(
        `Re-encrypted ${result.reencrypted} secret(s); every value is now under key '${result.key_id}'.`,
      );
  },
};

const secretsAdminGroup: GroupSpec = {
  name: "secrets",
  summary: "The master key of workspace secrets",
  commands: [rotateSecrets],
};

export const adminGroup: GroupSpec = {
  name: "admin",
  summary: "Instance administration (instance admins only)",
  commands: [],
  groups: [userGroup, secretsAdminGroup],
};

async function listUsers(api: ApiClient): Promise<AdminUserView[]> {
  const users: AdminUserView[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  do {
    const page: AdminUserPageView = (
      await api.get<AdminUserPageView>("/admin/users", { query: { limit: PAGE_SIZE, cursor } })
    ).body;
    users.push(...page.items);
    if (page.next_cursor !== null && (seen.has(page.next_cursor) || page.items.length === 0)) {
      throw new CliError("the server's user list does not advance; giving up");
    }
    cursor = page.next_cursor;
    if (cursor !== null) seen.add(cursor);
  } while (cursor !== null);
  return users;
}

async function findUser(api: ApiClient, ref: string): Promise<AdminUserView> {
  const wanted = ref.toLowerCase();
  const user = (await listUsers(api)).find((item) =>
    UUID.test(ref) ? item.id === wanted : item.email.toLowerCase() === wanted,
  );
  if (user === undefined) throw new CliError(`no user '${ref}'`, [], "See 'capstan admin user list'.");
  return user;
}
