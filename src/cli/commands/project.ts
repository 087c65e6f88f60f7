// `capstan project list|create`: the projects of a workspace (SPEC §3, §16).
import { apiPath } from "../api-client.js";
import type { ProjectView } from "../api-types.js";
import type { CommandContext, CommandInput, CommandSpec, GroupSpec, WorkspaceScope } from "../command.js";
import { formatTimestamp } from "../presenters.js";

const WORKSPACE_OPTION = {
  workspace: {
    type: "string" as const,
    value: "WS",
    description: "Workspace key (default: the profile's)",
  },
};

const list: CommandSpec = {
  name: "list",
  summary: "List a workspace's projects",
  options: WORKSPACE_OPTION,
  async run(ctx, input) {
    const scope = await projectScope(ctx, input);
    const projects = (await scope.api.get<ProjectView[]>(projectsPath(scope))).body;
    if (ctx.json) {
      ctx.out.data({ items: projects });
      return;
    }
    ctx.out.table(
      ["KEY", "NAME", "ID", "DEFAULT", "RUNTIMES", "CREATED"],
      projects.map((project) => [
        project.key,
        project.name,
        project.id,
        project.is_default ? "yes" : "no",
        String(project.runtime_count),
        formatTimestamp(project.created_at),
      ]),
    );
  },
};

const create: CommandSpec = {
  name: "create",
  summary: "Create a project in a workspace",
  args: ["KEY"],
  options: {
    name: { type: "string", value: "NAME", description: "Display name (default: the key)" },
    description: { type: "string", value: "TEXT", description: "What the project is for" },
    ...WORKSPACE_OPTION,
  },
  details: "Runtimes go into a project with 'capstan runtime create KEY --project PROJECT'.",
  async run(ctx, input) {
    const [key] = input.args;
    const scope = await projectScope(ctx, input);
    const project = (
      await scope.api.post<ProjectView>(projectsPath(scope), {
        json: { key, name: input.string("name") ?? key, description: input.string("description") },
      })
    ).body;
    if (ctx.json) {
      ctx.out.data(project);
      return;
    }
    ctx.out.line(`Created project ${project.key} in ${scope.org}/${scope.workspace} (${project.id}).`);
  },
};

export const projectGroup: GroupSpec = {
  name: "project",
  summary: "Projects of a workspace",
  commands: [list, create],
};

async function projectScope(ctx: CommandContext, input: CommandInput): Promise<WorkspaceScope> {
  const named = input.string("workspace");
  if (named === undefined) return ctx.workspaceScope();
  return { ...(await ctx.orgScope()), workspace: named };
}

function projectsPath(scope: WorkspaceScope): string {
  return apiPath`/org/${scope.org}/ws/${scope.workspace}/projects`;
}
