// Binding changes on one runtime (SPEC §7): caps, install, enable, disable, flag, upgrade, remove.
import { apiPath } from "../api-client.js";
import type { ArtifactDetail, Binding, Preview } from "../api-types.js";
import { parseCapabilityRef } from "../capability-ref.js";
import type { CommandContext, CommandInput, CommandSpec } from "../command.js";
import { confirm, YES_OPTION } from "../confirm.js";
import type { Cell } from "../output.js";
import { formatComponents, formatFlags } from "../presenters.js";
import { findBinding, listBindings, type RuntimeTarget, resolveRuntime } from "../runtime-lookup.js";

const caps: CommandSpec = {
  name: "caps",
  summary: "List a runtime's capabilities (its bindings)",
  args: ["RT"],
  details: "FLAGS shows the runtime's overrides only; the rest keep the capability's defaults.",
  async run(ctx, input) {
    const runtime = await runtimeOf(ctx, input);
    const bindings = await listBindings(runtime);
    if (ctx.json) {
      ctx.out.data({ items: bindings });
      return;
    }
    if (bindings.length === 0) {
      ctx.out.line(`Runtime ${runtime.label} has no capabilities. Add one with 'capstan runtime install'.`);
      return;
    }
    const { yellow, red } = ctx.out.palette;
    const rows: Cell[][] = bindings.map((binding) => [
      binding.capability_name,
      binding.status === "active"
        ? binding.version
        : { text: `${binding.version} (${binding.status})`, paint: red },
      binding.upgrade_available
        ? { text: `${binding.latest_version} *`, paint: yellow }
        : (binding.latest_version ?? "-"),
      binding.enabled ? "yes" : "no",
      formatFlags(binding.flags),
      binding.source,
      formatComponents(binding.component_counts),
    ]);
    ctx.out.table(["NAME", "VERSION", "LATEST", "ENABLED", "FLAGS", "SOURCE", "COMPONENTS"], rows);
    if (bindings.some((binding) => binding.upgrade_available)) {
      ctx.out.line(`* update available: capstan runtime upgrade ${runtime.label} NAME`);
    }
  },
};

const install: CommandSpec = {
  name: "install",
  summary: "Bind a capability version (default: latest) to a runtime",
  args: ["RT", "NAME[@VERSION]"],
  options: {
    disabled: { type: "boolean", description: "Install it switched off" },
    "with-deps": {
      type: "boolean",
      description: "Also bind what it requires (the highest version in each range)",
    },
    "auto-update": {
      type: "boolean",
      description: "Follow the tag or latest it was installed from (not with an explicit version)",
    },
    flag: {
      type: "string",
      multiple: true,
      value: "FLAG=true|false",
      description: "Set a flag override (repeatable)",
    },
  },
  async run(ctx, input) {
    const ref = parseCapabilityRef(input.args[1]);
    if (typeof ref === "string") throw ctx.usageError(ref);
    const flags = parseFlagAssignments(ctx, input.list("flag"), false);
    const runtime = await runtimeOf(ctx, input);
    const binding = (
      await runtime.api.post<Binding>(`${runtime.path}/capabilities`, {
        json: {
          name: ref.name,
          version: ref.version ?? undefined,
          enabled: input.boolean("disabled") ? false : undefined,
          flags: Object.keys(flags).length > 0 ? flags : undefined,
          with_dependencies: input.boolean("with-deps") || undefined,
          auto_update: input.boolean("auto-update") || undefined,
        },
      })
    ).body;
    report(
      ctx,
      binding,
      `Installed ${binding.capability_name}@${binding.version} on ${runtime.label}${binding.enabled ? "" : " (disabled)"}.`,
    );
    if (binding.status === "deprecated") await warnDeprecated(ctx, runtime, binding);
  },
};

const enable: CommandSpec = {
  name: "enable",
  summary: "Switch a capability on for a runtime",
  args: ["RT", "NAME"],
  run: (ctx, input) => setEnabled(ctx, input, true),
};

const disable: CommandSpec = {
  name: "disable",
  summary: "Switch a capability off for a runtime (it stays bound)",
  args: ["RT", "NAME"],
  run: (ctx, input) => setEnabled(ctx, input, false),
};

const flag: CommandSpec = {
  name: "flag",
  summary: "Override flags of a capability on a runtime",
  args: ["RT", "NAME", "FLAG=VALUE..."],
  details: `VALUE is true, false, or default (drop the override and use the capability's default).
Example: capstan runtime flag default web-search readonly=true proxy=default`,
  async run(ctx, input) {
    const [, name, ...assignments] = input.args;
    const flags = parseFlagAssignments(ctx, assignments, true);
    const runtime = await runtimeOf(ctx, input);
    const binding = await findBinding(runtime, name);
    const updated = await patchBinding(runtime, binding, { flags });
    report(ctx, updated, `Flags of ${name} on ${runtime.label}: ${formatFlags(updated.flags)}`);
  },
};

const upgrade: CommandSpec = {
  name: "upgrade",
  summary: "Move a capability to another version, after showing what changes",
  args: ["RT", "NAME"],
  options: {
    to: {
      type: "string",
      value: "VERSION",
      description: "Target version (default: latest); may be lower (pin)",
    },
    yes: { type: "boolean", short: "y", description: "Apply without asking (needed without a terminal)" },
  },
  details: `Shows the upgrade preview, then asks on a terminal; elsewhere it needs --yes. With --json
and without --yes it prints the preview ({"upgraded": false, "preview", "binding"}) and changes nothing.`,
  async run(ctx, input) {
    const to = input.string("to") ?? "latest";
    if (to !== "latest" && typeof parseCapabilityRef(`x@${to}`) === "string") {
      throw ctx.usageError(`--to '${to}' is not a version (x.y.z or latest)`);
    }
    const runtime = await runtimeOf(ctx, input);
    const binding = await findBinding(runtime, input.args[1]);
    const preview = (
      await runtime.api.get<Preview>(
        `${runtime.path}${apiPath`/capabilities/${binding.id}/upgrade-preview`}`,
        {
          query: { version: to },
        },
      )
    ).body;
    if (preview.upgrade_kind === "none") {
      if (ctx.json) ctx.out.data({ upgraded: false, preview, binding });
      else ctx.out.line(`${binding.capability_name} is already at ${preview.to} on ${runtime.label}.`);
      return;
    }
    // --json without --yes is a question, not an order: the preview is the answer.
    if (ctx.json && !input.boolean("yes")) {
      ctx.out.data({ upgraded: false, preview, binding });
      return;
    }
    if (!ctx.json) printPreview(ctx, binding, runtime, preview);
    await confirm(ctx, input, {
      question: `Move to ${preview.to}?`,
      refusal: "not applying the upgrade",
    });
    // The preview was of this revision: if the binding changed meanwhile, the server refuses (409).
    const updated = await patchBinding(runtime, binding, { version: preview.to }, binding.revision);
    if (ctx.json) ctx.out.data({ upgraded: true, preview, binding: updated });
    else ctx.out.line(`Moved ${updated.capability_name} to ${updated.version} on ${runtime.label}.`);
  },
};

const remove: CommandSpec = {
  name: "remove",
  summary: "Unbind a capability from a runtime",
  args: ["RT", "NAME"],
  options: YES_OPTION,
  details: "Asks first on a terminal; elsewhere (scripts, pipes) it needs --yes.",
  async run(ctx, input) {
    const runtime = await runtimeOf(ctx, input);
    const binding = await findBinding(runtime, input.args[1]);
    await confirm(ctx, input, {
      question: `Remove ${binding.capability_name}@${binding.version} from ${runtime.label}?`,
      refusal: `not removing ${binding.capability_name} from ${runtime.label}`,
    });
    await runtime.api.delete(`${runtime.path}${apiPath`/capabilities/${binding.id}`}`);
    if (ctx.json) ctx.out.data({ removed: true, binding });
    else ctx.out.line(`Removed ${binding.capability_name} from ${runtime.label}.`);
  },
};

export const bindingCommands = [caps, install, enable, disable, flag, upgrade, remove];

// --- helpers ---------------------------------------------------------------------------------------

async function runtimeOf(ctx: CommandContext, input: CommandInput): Promise<RuntimeTarget> {
  return resolveRuntime(await ctx.workspaceScope(), input.args[0]);
}

async function setEnabled(ctx: CommandContext, input: CommandInput, enabled: boolean): Promise<void> {
  const runtime = await runtimeOf(ctx, input);
  const binding = await findBinding(runtime, input.args[1]);
  const state = enabled ? "enabled" : "disabled";
  if (binding.enabled === enabled) {
    report(ctx, binding, `${binding.capability_name} is already ${state} on ${runtime.label}.`);
    return;
  }
  const updated = await patchBinding(runtime, binding, { enabled });
  report(ctx, updated, `${updated.capability_name} is now ${state} on ${runtime.label}.`);
}

async function patchBinding(
  runtime: RuntimeTarget,
  binding: Binding,
  body: Record<string, unknown>,
  expectedRevision?: number,
): Promise<Binding> {
  const response = await runtime.api.patch<Binding>(
    `${runtime.path}${apiPath`/capabilities/${binding.id}`}`,
    {
      json: body,
      headers: expectedRevision === undefined ? {} : { "if-match": `"${expectedRevision}"` },
    },
  );
  return response.body;
}

function report(ctx: CommandContext, binding: Binding, message: string): void {
  if (ctx.json) ctx.out.data(binding);
  else ctx.out.line(message);
}

const FLAG_VALUES: Record<string, boolean | null> = { true: true, false: false, default: null };

/** `name=true|false` (and `name=default` where an override can be dropped) → the PATCH `flags` body. */
function parseFlagAssignments(
  ctx: CommandContext,
  assignments: string[],
  allowDefault: boolean,
): Record<string, boolean | null> {
  const flags: Record<string, boolean | null> = {};
  for (const assignment of assignments) {
    const [name, value, ...rest] = assignment.split("=");
    const parsed = FLAG_VALUES[value];
    const valid =
      name !== "" && rest.length === 0 && parsed !== undefined && (allowDefault || parsed !== null);
    if (!valid) {
      throw ctx.usageError(
        `'${assignment}' is not FLAG=${allowDefault ? "true|false|default" : "true|false"}`,
      );
    }
    flags[name] = parsed;
  }
  return flags;
}

function printPreview(ctx: CommandContext, binding: Binding, runtime: RuntimeTarget, preview: Preview): void {
  const { bold, yellow } = ctx.out.palette;
  const kind = preview.upgrade_kind === "major" || preview.upgrade_kind === "downgrade" ? yellow : bold;
  ctx.out.line(
    `${bold(binding.capability_name)} on ${runtime.label}: ${preview.from} → ${preview.to} (${kind(preview.upgrade_kind)})`,
  );
  const components = (items: { type: string; name: string }[]) =>
    items.map((item) => `${item.type} ${item.name}`);
  const changes: [string, string[]][] = [
    ["components added", components(preview.components.added)],
    ["components removed", components(preview.components.removed)],
    ["flags added", preview.flags.added],
    ["flags removed", preview.flags.removed],
    ["overrides dropped", preview.dropped_overrides],
    ["MCP servers changed", preview.mcp_servers_changed],
    ["workers changed", preview.workers_changed],
  ];
  const shown = changes.filter(([, items]) => items.length > 0);
  ctx.out.fields(shown.map(([label, items]) => [`  ${label}`, items.join(", ")]));
  if (preview.dependencies_changed) ctx.out.line("  dependencies changed");
  if (shown.length === 0 && !preview.dependencies_changed) {
    ctx.out.line("  no change to components, flags, MCP servers, workers or dependencies");
  }
}

/** The version's own deprecation message, on stderr: it says why, and what to use instead. */
async function warnDeprecated(ctx: CommandContext, runtime: RuntimeTarget, binding: Binding): Promise<void> {
  const label = `${binding.capability_name}@${binding.version}`;
  const detail = await runtime.api
    .get<ArtifactDetail>(
      apiPath`/org/${runtime.org}/capabilities/${binding.capability_name}/${binding.version}`,
    )
    .then((response) => response.body)
    .catch(() => null);
  const message = detail?.deprecation_message;
  ctx.out.note(
    `${ctx.out.palette.yellow("warning:")} ${label} is deprecated${message ? `: ${message}` : ""}`,
  );
}
