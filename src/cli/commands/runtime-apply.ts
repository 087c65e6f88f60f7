// `capstan runtime apply RT -f capabilities.yaml`: make a runtime's bindings exactly the file's list
// through `PUT RT/config` (SPEC §6), showing the plan first; the rest of the config is kept as is.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { AppliedConfig, Plan, RuntimeConfigResponse } from "../api-types.js";
import { parseApplyFile } from "../apply-file.js";
import { CliError } from "../cli-errors.js";
import type { CommandContext, CommandSpec } from "../command.js";
import { resolveRuntime } from "../runtime-lookup.js";

export const applyCommand: CommandSpec = {
  name: "apply",
  summary: "Make a runtime's capabilities exactly those listed in a file",
  args: ["RT"],
  options: {
    file: { type: "string", short: "f", value: "FILE", description: "The capabilities file (YAML)" },
    "dry-run": { type: "boolean", description: "Only show what would change" },
  },
  details: `The file lists the capabilities the runtime should have; bindings not listed are removed.
  capabilities:
    - name: web-search      # or owner/name
      version: 1.2.0        # optional: x.y.z or latest
      enabled: false        # optional: true by default
    - summariser@2.0.0      # shorthand
Without a version, a capability already bound keeps its version and a new one gets the latest;
'latest' also moves a bound one to the latest version.`,
  async run(ctx, input) {
    const file = input.string("file");
    if (file === undefined) throw ctx.usageError("missing -f FILE");
    const desired = parseApplyFile(await readText(path.resolve(ctx.io.cwd, file)), file);
    const runtime = await resolveRuntime(await ctx.workspaceScope(), input.args[0]);
    const current = (await runtime.api.get<RuntimeConfigResponse>(`${runtime.path}/config`)).body.config;
    const body = { config: { ...current, capabilities: desired } };
    const plan = (
      await runtime.api.put<Plan>(`${runtime.path}/config`, { query: { dry_run: true }, json: body })
    ).body;
    if (input.boolean("dry-run") || isEmpty(plan)) {
      if (ctx.json) ctx.out.data({ applied: false, plan });
      else
        printPlan(
          ctx,
          plan,
          isEmpty(plan) ? `Runtime ${runtime.label} already matches ${file}.` : "Plan (dry run):",
        );
      return;
    }
    const applied = (await runtime.api.put<AppliedConfig>(`${runtime.path}/config`, { json: body })).body;
    if (ctx.json) ctx.out.data({ applied: true, ...applied });
    else printPlan(ctx, applied.plan, `Applied ${file} to runtime ${runtime.label}:`);
  },
};

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new CliError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

function isEmpty(plan: Plan): boolean {
  return plan.install.length === 0 && plan.update.length === 0 && plan.remove.length === 0;
}

function printPlan(ctx: CommandContext, plan: Plan, title: string): void {
  const { green, yellow, red } = ctx.out.palette;
  ctx.out.line(title);
  for (const item of plan.install)
    ctx.out.line(green(`  + ${item.name}@${item.version}${disabledMark(item.enabled)}`));
  for (const item of plan.update) {
    const version = item.from === item.to ? item.to : `${item.from} → ${item.to}`;
    ctx.out.line(yellow(`  ~ ${item.name} ${version}${item.enabled ? " (enabled)" : " (disabled)"}`));
  }
  for (const item of plan.remove) ctx.out.line(red(`  - ${item.name}@${item.version}`));
}

function disabledMark(enabled: boolean): string {
  return enabled ? "" : " (disabled)";
}
