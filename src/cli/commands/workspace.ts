// `capstan workspace list|create`: the workspaces of the profile's org (SPEC §3, §16).
import { apiPath } from "../api-client.js";
import type { WorkspacePageView, WorkspaceView } from "../api-types.js";
import { CliError } from "../cli-errors.js";
import type { CommandSpec, GroupSpec, Scope } from "../command.js";
import { formatTimestamp } from "../presenters.js";

const PAGE_SIZE = 100;

const list: CommandSpec = {
  name: "list",
  summary: "List the org's workspaces",
  async run(ctx) {
    const scope = await ctx.orgScope();
    const { workspace: current } = await ctx.connection();
    const workspaces = await listWorkspaces(scope);
    if (ctx.json) {
      ctx.out.data({ items: workspaces });
      return;
    }
    ctx.out.table(
      ["KEY", "NAME", "DEFAULT", "CREATED", ""],
      workspaces.map((workspace) => [
        workspace.key,
        workspace.name,
        workspace.is_default ? "yes" : "no",
        formatTimestamp(workspace.created_at),
        workspace.key === current ? "(current)" : "",
      ]),
    );
  },
};

const create: CommandSpec = {
  name: "create",
  summary: "Create a workspace (with its default project)",
  args: ["KEY"],
  options: {
    name: { type: "string", value: "NAME", description: "Display name (default: the key)" },
    description: { type: "string", value: "TEXT", description: "What the workspace is for" },
  },
  async run(ctx, input) {
    const [key] = input.args;
    const { api, org } = await ctx.orgScope();
    const workspace = (
      await api.post<WorkspaceView>(apiPath`/org/${org}/ws`, {
        json: { key, name: input.string("name") ?? key, description: input.string("description") },
      })
    ).body;
    if (ctx.json) {
      ctx.out.data(workspace);
      return;
    }
    ctx.out.line(`Created workspace ${workspace.key} in ${org} (${workspace.id}).`);
    ctx.out.line(
      `Use it: capstan login --workspace ${workspace.key} … (or set CAPSTAN_WORKSPACE=${workspace.key})`,
    );
  },
};

export const workspaceGroup: GroupSpec = {
  name: "workspace",
  summary: "Workspaces of the org",
  commands: [list, create],
};

/** Every workspace of the org, page after page. */
async function listWorkspaces(scope: Scope): Promise<WorkspaceView[]> {
  const all: WorkspaceView[] = [];
  for (let page = 1; ; page++) {
    const body = (
      await scope.api.get<WorkspacePageView>(apiPath`/org/${scope.org}/ws`, {
        query: { page, page_size: PAGE_SIZE },
      })
    ).body;
    all.push(...body.workspaces);
    if (!body.has_next) return all;
    // A server that keeps saying "next" with empty pages would hold the CLI forever.
    if (body.workspaces.length === 0) throw new CliError("the server's workspace list does not advance");
  }
}
