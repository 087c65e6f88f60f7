// `capstan runtime …`: the runtimes of the profile's workspace. Binding changes, `apply` and `sync`
// live in their own files; this one assembles the group.
import type { Runtime, RuntimeToken } from "../api-types.js";
import type { CommandContext, CommandSpec, GroupSpec } from "../command.js";
import { confirm, YES_OPTION } from "../confirm.js";
import { formatTimestamp } from "../presenters.js";
import { listRuntimes, resolveRuntime, workspacePath } from "../runtime-lookup.js";
import { applyCommand } from "./runtime-apply.js";
import { bindingCommands } from "./runtime-bindings.js";
import { syncCommand } from "./runtime-sync.js";
import { runtimeSecretsCommand } from "./secret.js";

const list: CommandSpec = {
  name: "list",
  summary: "List the workspace's runtimes",
  async run(ctx) {
    const runtimes = await listRuntimes(await ctx.workspaceScope());
    if (ctx.json) {
      ctx.out.data({ items: runtimes });
      return;
    }
    if (runtimes.length === 0) {
      ctx.out.line("No runtimes.");
      return;
    }
    ctx.out.table(
      ["KEY", "NAME", "ID", "CAPABILITIES", "STATUS", "SYNC", "UPDATED"],
      runtimes.map((runtime) => [
        runtime.key,
        runtime.name,
        runtime.id,
        String(runtime.capability_count),
        runtime.status,
        syncLabel(runtime.sync),
        formatTimestamp(runtime.updated_at),
      ]),
    );
  },
};

const create: CommandSpec = {
  name: "create",
  summary: "Create a runtime (an existing key is returned as is)",
  args: ["KEY"],
  options: {
    name: { type: "string", value: "NAME", description: "Display name (default: the key)" },
    project: {
      type: "string",
      value: "PROJECT",
      description: "Project key or id (default: the default project)",
    },
    description: { type: "string", value: "TEXT", description: "What the runtime is for" },
  },
  async run(ctx, input) {
    const [key] = input.args;
    const scope = await ctx.workspaceScope();
    const response = await scope.api.post<Runtime>(`${workspacePath(scope)}/runtimes`, {
      json: {
        key,
        name: input.string("name") ?? key,
        project: input.string("project"),
        description: input.string("description"),
      },
    });
    const runtime = response.body;
    if (ctx.json) {
      ctx.out.data(runtime);
      return;
    }
    ctx.out.line(
      response.status === 201
        ? `Created runtime ${runtime.key} (${runtime.id}).`
        : `Runtime ${runtime.key} already exists (${runtime.id}).`,
    );
  },
};

const show: CommandSpec = {
  name: "show",
  summary: "Show a runtime",
  args: ["RT"],
  async run(ctx, input) {
    const runtime = await resolveRuntime(await ctx.workspaceScope(), input.args[0]);
    const view = (await runtime.api.get<Runtime>(runtime.path)).body;
    if (ctx.json) {
      ctx.out.data(view);
      return;
    }
    printRuntime(ctx, view);
  },
};

const remove: CommandSpec = {
  name: "delete",
  summary: "Delete a runtime and its bindings",
  args: ["RT"],
  options: YES_OPTION,
  details: "Asks first on a terminal; elsewhere (scripts, pipes) it needs --yes.",
  async run(ctx, input) {
    const runtime = await resolveRuntime(await ctx.workspaceScope(), input.args[0]);
    await confirm(ctx, input, {
      question: `Delete runtime ${runtime.label} and all its bindings?`,
      refusal: `not deleting runtime ${runtime.label}`,
    });
    await runtime.api.delete(runtime.path);
    if (ctx.json) ctx.out.data({ id: runtime.runtimeId, deleted: true });
    else ctx.out.line(`Deleted runtime ${runtime.label}.`);
  },
};

const token: CommandSpec = {
  name: "token",
  summary: "Create a runtime token: it can only read this runtime's capabilities",
  args: ["RT"],
  options: {
    name: { type: "string", value: "NAME", description: "A name to tell tokens apart" },
    "expires-in-days": {
      type: "string",
      value: "DAYS",
      description: "Lifetime, 1..365 (server default: 30)",
    },
  },
  details: `The token is shown once. Use it where the runtime runs, e.g.:
  CAPSTAN_URL=… CAPSTAN_TOKEN=<token> CAPSTAN_ORG=… CAPSTAN_WORKSPACE=… \\
    capstan runtime sync <runtime id> --dir ./capabilities --watch`,
  async run(ctx, input) {
    const days = input.string("expires-in-days");
    if (days !== undefined && !/^[1-9]\d*$/.test(days))
      throw ctx.usageError("--expires-in-days must be a positive integer");
    const runtime = await resolveRuntime(await ctx.workspaceScope(), input.args[0]);
    const created = (
      await runtime.api.post<RuntimeToken>(`${runtime.path}/tokens`, {
        json: { name: input.string("name"), expires_in_days: days === undefined ? undefined : Number(days) },
      })
    ).body;
    if (ctx.json) {
      ctx.out.data({ ...created, runtime_id: runtime.runtimeId });
      return;
    }
    ctx.out.line(created.token);
    ctx.out.note(
      `Runtime token for ${runtime.label} (${runtime.runtimeId}), expires ${created.expires_at}. It is shown only once.`,
    );
  },
};

export const runtimeGroup: GroupSpec = {
  name: "runtime",
  summary: "Manage runtimes, their capability bindings, and sync a runtime's capabilities to disk",
  commands: [
    list,
    create,
    show,
    remove,
    token,
    ...bindingCommands,
    applyCommand,
    syncCommand,
    runtimeSecretsCommand,
  ],
};

function printRuntime(ctx: CommandContext, runtime: Runtime): void {
  ctx.out.fields([
    ["key", runtime.key],
    ["name", runtime.name],
    ["id", runtime.id],
    ["description", runtime.description],
    ["project", runtime.project_id],
    ["status", runtime.status],
    ["capabilities", String(runtime.capability_count)],
    ["config_digest", runtime.config_digest],
    ["sync", syncLabel(runtime.sync)],
    ["last_seen", runtime.sync?.last_seen_at ? formatTimestamp(runtime.sync.last_seen_at) : "never"],
    ["applied_digest", runtime.sync?.applied_digest ?? null],
    ["created", formatTimestamp(runtime.created_at)],
    ["updated", formatTimestamp(runtime.updated_at)],
  ]);
}

/** STALE_AFTER_MS of the server: a runtime not seen for this long is stale (SPEC §12). */
const STALE_AFTER_MS = 5 * 60_000;

/**
 * One word for the sync column: `never` (no report), `stale` (none for 5 minutes), `in sync` or
 * `behind`, and the failing checks. A server without §12 sends no `sync`: then `-`.
 */
export function syncLabel(sync: Runtime["sync"] | undefined, now = Date.now()): string {
  if (!sync) return "-";
  if (sync.last_seen_at === null) return "never";
  const state =
    now - Date.parse(sync.last_seen_at) > STALE_AFTER_MS ? "stale" : sync.in_sync ? "in sync" : "behind";
  return sync.checks_failed > 0 ? `${state}, ${sync.checks_failed} check(s) failing` : state;
}
