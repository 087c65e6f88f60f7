// `capstan member list|add|role|remove`: the people of the profile's org (SPEC §3, §16). Adding,
// changing and removing members needs the owner role; the last owner stays.
import { apiPath } from "../api-client.js";
import type { MemberView } from "../api-types.js";
import { oneOf, ROLES, type RoleName, UUID } from "../choices.js";
import { CliError } from "../cli-errors.js";
import type { CommandSpec, GroupSpec, Scope } from "../command.js";
import { confirm, YES_OPTION } from "../confirm.js";
import { formatTimestamp } from "../presenters.js";

const ROLE_HELP = `Roles: ${ROLES.join(", ")} (owner ⊃ contributor ⊃ reader).`;

const list: CommandSpec = {
  name: "list",
  summary: "List the org's members and their roles",
  async run(ctx) {
    const scope = await ctx.orgScope();
    const members = await listMembers(scope);
    if (ctx.json) {
      ctx.out.data({ items: members });
      return;
    }
    ctx.out.table(
      ["EMAIL", "NAME", "ROLE", "USER ID", "SINCE"],
      members.map((member) => [
        member.email,
        member.name,
        member.role,
        member.user_id,
        formatTimestamp(member.created_at),
      ]),
    );
  },
};

const add: CommandSpec = {
  name: "add",
  summary: "Add a member by email (the user is created when the email is new) (owner)",
  args: ["EMAIL"],
  options: {
    role: { type: "string", value: "ROLE", description: `${ROLES.join(", ")} (default: reader)` },
    name: { type: "string", value: "NAME", description: "Display name, for a new user" },
  },
  details: `${ROLE_HELP}
A new user has no key yet: an instance admin gives them one with 'capstan admin user key'.`,
  async run(ctx, input) {
    const [email] = input.args;
    const role = oneOf(ctx, "--role", input.string("role") ?? "reader", ROLES);
    const { api, org } = await ctx.orgScope();
    const member = (
      await api.post<MemberView>(apiPath`/org/${org}/members`, {
        json: { email, role, name: input.string("name") },
      })
    ).body;
    if (ctx.json) {
      ctx.out.data(member);
      return;
    }
    ctx.out.line(`Added ${member.email} to ${org} as ${member.role} (user ${member.user_id}).`);
  },
};

const role: CommandSpec = {
  name: "role",
  summary: "Change a member's role (owner)",
  args: ["MEMBER", "ROLE"],
  details: `MEMBER is an email or a user id. ${ROLE_HELP}`,
  async run(ctx, input) {
    const [who, wanted] = input.args;
    const newRole: RoleName = oneOf(ctx, "role", wanted, ROLES);
    const scope = await ctx.orgScope();
    const member = await findMember(scope, who);
    const updated = (
      await scope.api.put<MemberView>(apiPath`/org/${scope.org}/members/${member.user_id}`, {
        json: { role: newRole },
      })
    ).body;
    if (ctx.json) {
      ctx.out.data(updated);
      return;
    }
    ctx.out.line(`${member.email} is now ${updated.role} in ${scope.org} (was ${member.role}).`);
  },
};

const remove: CommandSpec = {
  name: "remove",
  summary: "Remove a member from the org (owner)",
  args: ["MEMBER"],
  options: YES_OPTION,
  details: "MEMBER is an email or a user id. Their keys stay, but no longer reach this org.",
  async run(ctx, input) {
    const scope = await ctx.orgScope();
    const member = await findMember(scope, input.args[0]);
    await confirm(ctx, input, {
      question: `Remove ${member.email} (${member.role}) from ${scope.org}?`,
      refusal: `not removing ${member.email}`,
    });
    await scope.api.delete(apiPath`/org/${scope.org}/members/${member.user_id}`);
    if (ctx.json) ctx.out.data({ removed: true, member });
    else ctx.out.line(`Removed ${member.email} from ${scope.org}.`);
  },
};

export const memberGroup: GroupSpec = {
  name: "member",
  summary: "Members of the org and their roles",
  commands: [list, add, role, remove],
};

async function listMembers(scope: Scope): Promise<MemberView[]> {
  return (await scope.api.get<MemberView[]>(apiPath`/org/${scope.org}/members`)).body;
}

/** By user id or email (emails compared without case). */
async function findMember(scope: Scope, who: string): Promise<MemberView> {
  const members = await listMembers(scope);
  const wanted = who.toLowerCase();
  const member = members.find((item) =>
    UUID.test(who) ? item.user_id === wanted : item.email.toLowerCase() === wanted,
  );
  if (member === undefined) {
    throw new CliError(`${who} is not a member of ${scope.org}`, [], "See 'capstan member list'.");
  }
  return member;
}
