// `capstan org list|create`: the organizations the caller belongs to (SPEC §3, §16).
import { apiPath } from "../api-client.js";
import type { OrgView } from "../api-types.js";
import type { CommandSpec, GroupSpec } from "../command.js";
import { formatTimestamp } from "../presenters.js";

const list: CommandSpec = {
  name: "list",
  summary: "List the organizations you belong to, with your role",
  async run(ctx) {
    const api = await ctx.api();
    const { org: current } = await ctx.connection();
    const orgs = (await api.get<OrgView[]>("/user/organizations")).body;
    if (ctx.json) {
      ctx.out.data({ items: orgs });
      return;
    }
    if (orgs.length === 0) {
      ctx.out.line("You belong to no organization. Create one with 'capstan org create KEY'.");
      return;
    }
    ctx.out.table(
      ["KEY", "NAME", "ROLE", "CREATED", ""],
      orgs.map((org) => [
        org.key,
        org.name,
        org.role,
        formatTimestamp(org.created_at),
        org.key === current ? "(current)" : "",
      ]),
    );
  },
};

const create: CommandSpec = {
  name: "create",
  summary: "Create an organization; you become its owner",
  args: ["KEY"],
  options: {
    name: { type: "string", value: "NAME", description: "Display name (default: the key)" },
    description: { type: "string", value: "TEXT", description: "What the organization is for" },
  },
  details: "KEY: lower-case letters, digits and '-' (e.g. acme). Use it with 'capstan login --org KEY'.",
  async run(ctx, input) {
    const [key] = input.args;
    const api = await ctx.api();
    const org = (
      await api.post<OrgView>(apiPath`/orgs`, {
        json: { key, name: input.string("name") ?? key, description: input.string("description") },
      })
    ).body;
    if (ctx.json) {
      ctx.out.data(org);
      return;
    }
    ctx.out.line(`Created organization ${org.key} (${org.id}); you are its owner.`);
    ctx.out.line(`Use it: capstan login --org ${org.key} … (or set CAPSTAN_ORG=${org.key})`);
  },
};

export const orgGroup: GroupSpec = {
  name: "org",
  summary: "Organizations you belong to",
  commands: [list, create],
};
