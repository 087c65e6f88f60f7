// `capstan runtime apply RT -f capabilities.yaml`: make a runtime's bindings exactly the file's list
// through `PUT RT/config` (SPEC §6), showing the plan first; the rest of the config is kept as is.
// The server's plan covers versions and enabled; flag overrides are the CLI's part: which ones the
// apply drops (a removed binding, a version that no longer declares the flag, a `flags:` list that
// leaves them out) and which ones it sets, through `PATCH RT/capabilities/{id}` after the PUT.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { apiPath } from "../api-client.js";
import type { AppliedConfig, ArtifactDetail, Binding, Plan, RuntimeConfigResponse } from "../api-types.js";
import { type DesiredCapability, parseApplyFile } from "../apply-file.js";
import { CliError } from "../cli-errors.js";
import type { CommandContext, CommandSpec } from "../command.js";
import { listBindings, type RuntimeTarget, resolveRuntime } from "../runtime-lookup.js";

/** Overrides the apply removes from one binding, and why. */
export interface DroppedOverrides {
  name: string;
  flags: string[];
  reason: "removed" | "not declared by the new version" | "not listed under flags";
}

/** Overrides the apply sets (or changes) on one binding. */
export interface FlagChange {
  name: string;
  set: Record<string, boolean>;
}

export interface FullPlan extends Plan {
  flags: FlagChange[];
  dropped_overrides: DroppedOverrides[];
}

export const applyCommand: CommandSpec = {
  name: "apply",
  summary: "Make a runtime's capabilities exactly those listed in a file",
  args: ["RT"],
  options: {
    file: { type: "string", short: "f", value: "FILE", description: "The capabilities file (YAML)" },
    "dry-run": { type: "boolean", description: "Only show what would change" },
    frozen: {
      type: "boolean",
      description: "Change nothing; exit 1 when the runtime does not already match the file",
    },
  },
  details: `The file lists the capabilities the runtime should have; bindings not listed are removed.
  capabilities:
    - name: web-search      # or owner/name
      version: 1.2.0        # optional: x.y.z, latest or a tag (tracked)
      auto_update: true     # optional: follow the tag or latest (not with x.y.z)
      enabled: false        # optional: true by default
      flags:                # optional: exactly these overrides; others go back to the defaults
        readonly: true
    - summariser@2.0.0      # shorthand
Without a version, a capability already bound keeps its version and a new one gets the latest;
'latest' also moves a bound one to the latest version. Without auto_update, a bound capability
keeps its setting (a pinned x.y.z turns it off). Without flags, a binding keeps its overrides,
except those its new version no longer declares. The plan lists every override the apply drops.
--frozen (for CI): exit 0 when there is nothing to do, else print the plan and exit 1.`,
  async run(ctx, input) {
    const file = input.string("file");
    if (file === undefined) throw ctx.usageError("missing -f FILE");
    if (input.boolean("frozen") && input.boolean("dry-run"))
      throw ctx.usageError("pass either --frozen or --dry-run, not both");
    const desired = parseApplyFile(await readText(path.resolve(ctx.io.cwd, file)), file);
    const runtime = await resolveRuntime(await ctx.workspaceScope(), input.args[0]);
    const current = (await runtime.api.get<RuntimeConfigResponse>(`${runtime.path}/config`)).body.config;
    const body = {
      config: { ...current, capabilities: desired.map(({ flags: _flags, ...capability }) => capability) },
    };
    const serverPlan = (
      await runtime.api.put<Plan>(`${runtime.path}/config`, { query: { dry_run: true }, json: body })
    ).body;
    const plan = await planFlags(runtime, serverPlan, desired, await listBindings(runtime));

    if (input.boolean("frozen") && !isEmpty(plan)) {
      if (ctx.json) ctx.out.data({ applied: false, frozen: true, plan });
      else printPlan(ctx, plan, `Runtime ${runtime.label} does not match ${file}; it would change:`);
      throw new CliError(`--frozen: runtime ${runtime.label} does not match ${file}; nothing was changed`);
    }
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
    await applyFlags(runtime, plan);
    const done: FullPlan = { ...applied.plan, flags: plan.flags, dropped_overrides: plan.dropped_overrides };
    if (ctx.json) ctx.out.data({ applied: true, ...applied, plan: done });
    else printPlan(ctx, done, `Applied ${file} to runtime ${runtime.label}:`);
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

/**
 * The flag part of the plan. Flags named in the file are checked against the version the binding
 * will have, before anything is written: an apply must not stop half-way on a typo.
 */
async function planFlags(
  runtime: RuntimeTarget,
  plan: Plan,
  desired: DesiredCapability[],
  bindings: Binding[],
): Promise<FullPlan> {
  const byName = new Map(bindings.map((binding) => [binding.capability_name, binding]));
  const versionAfter = new Map<string, string>([
    ...plan.install.map((item): [string, string] => [item.name, item.version]),
    ...plan.update.map((item): [string, string] => [item.name, item.to]),
  ]);
  const flags: FlagChange[] = [];
  const dropped: DroppedOverrides[] = [];
  for (const item of plan.remove) {
    const overrides = Object.keys(byName.get(item.name)?.flags ?? {}).sort();
    if (overrides.length > 0) dropped.push({ name: item.name, flags: overrides, reason: "removed" });
  }
  const problems: { loc: (string | number)[]; msg: string; type: string }[] = [];
  for (const [index, entry] of desired.entries()) {
    const binding = byName.get(entry.name);
    const version = versionAfter.get(entry.name) ?? binding?.version;
    if (version === undefined) continue;
    let overrides: Record<string, boolean> = { ...(binding?.flags ?? {}) };
    const moves = binding !== undefined && version !== binding.version;
    const needsDeclared = moves || (entry.flags !== undefined && Object.keys(entry.flags).length > 0);
    const declared = needsDeclared ? await declaredFlags(runtime, entry.name, version) : null;
    if (moves && declared !== null) {
      const gone = Object.keys(overrides)
        .filter((flag) => !declared.has(flag))
        .sort();
      if (gone.length > 0)
        dropped.push({ name: entry.name, flags: gone, reason: "not declared by the new version" });
      overrides = Object.fromEntries(Object.entries(overrides).filter(([flag]) => declared.has(flag)));
    }
    if (entry.flags === undefined) continue;
    for (const flag of Object.keys(entry.flags)) {
      if (declared !== null && !declared.has(flag)) {
        problems.push({
          loc: ["capabilities", index, "flags", flag],
          msg: `${entry.name}@${version} declares no flag '${flag}'${declared.size > 0 ? ` (it has: ${[...declared].sort().join(", ")})` : ""}`,
          type: "apply.flag",
        });
      }
    }
    const unlisted = Object.keys(overrides)
      .filter((flag) => !Object.hasOwn(entry.flags!, flag))
      .sort();
    if (unlisted.length > 0)
      dropped.push({ name: entry.name, flags: unlisted, reason: "not listed under flags" });
    const set = Object.fromEntries(
      Object.entries(entry.flags).filter(([flag, value]) => overrides[flag] !== value),
    );
    if (Object.keys(set).length > 0) flags.push({ name: entry.name, set });
  }
  if (problems.length > 0)
    throw new CliError("the file names flags the capabilities do not declare", problems);
  return { ...plan, flags, dropped_overrides: dropped };
}

async function declaredFlags(runtime: RuntimeTarget, name: string, version: string): Promise<Set<string>> {
  const detail = (
    await runtime.api.get<ArtifactDetail>(apiPath`/org/${runtime.org}/capabilities/${name}/${version}`)
  ).body;
  return new Set(Object.keys(detail.flags));
}

/** After the PUT: each binding's overrides become the file's (dropped ones as null). */
async function applyFlags(runtime: RuntimeTarget, plan: FullPlan): Promise<void> {
  const drops = plan.dropped_overrides.filter((item) => item.reason === "not listed under flags");
  if (plan.flags.length === 0 && drops.length === 0) return;
  const bindings = new Map(
    (await listBindings(runtime)).map((binding) => [binding.capability_name, binding]),
  );
  const names = new Set([...plan.flags.map((item) => item.name), ...drops.map((item) => item.name)]);
  for (const name of names) {
    const binding = bindings.get(name);
    if (binding === undefined)
      throw new CliError(`${name} is no longer bound to ${runtime.label}; apply again`);
    const body: Record<string, boolean | null> = {};
    for (const item of drops.filter((drop) => drop.name === name))
      for (const flag of item.flags) body[flag] = null;
    Object.assign(body, plan.flags.find((item) => item.name === name)?.set ?? {});
    await runtime.api.patch(`${runtime.path}${apiPath`/capabilities/${binding.id}`}`, {
      json: { flags: body },
      // Someone else changing the binding meanwhile makes this a 409, not a silent overwrite.
      headers: { "if-match": `"${binding.revision}"` },
    });
  }
}

function isEmpty(plan: FullPlan): boolean {
  return (
    plan.install.length === 0 &&
    plan.update.length === 0 &&
    plan.remove.length === 0 &&
    plan.flags.length === 0 &&
    plan.dropped_overrides.length === 0
  );
}

function printPlan(ctx: CommandContext, plan: FullPlan, title: string): void {
  const { green, yellow, red } = ctx.out.palette;
  ctx.out.line(title);
  for (const item of plan.install)
    ctx.out.line(
      green(`  + ${item.name}@${item.version}${disabledMark(item.enabled)}${trackingMark(item, false)}`),
    );
  for (const item of plan.update) {
    const version = item.from === item.to ? item.to : `${item.from} → ${item.to}`;
    ctx.out.line(
      yellow(
        `  ~ ${item.name} ${version}${item.enabled ? " (enabled)" : " (disabled)"}${trackingMark(item, true)}`,
      ),
    );
  }
  for (const item of plan.remove) ctx.out.line(red(`  - ${item.name}@${item.version}`));
  for (const item of plan.flags) {
    const set = Object.entries(item.set)
      .map(([flag, value]) => `${flag}=${value}`)
      .join(" ");
    ctx.out.line(yellow(`  ~ ${item.name} flags: ${set}`));
  }
  for (const item of plan.dropped_overrides) {
    ctx.out.line(
      red(
        `  ! ${item.name}: drops override${item.flags.length === 1 ? "" : "s"} ${item.flags.join(", ")} (${item.reason})`,
      ),
    );
  }
}

/** `[auto-update: stable]`; on an update also `[tracks stable, auto-update off]`, so turning it off shows. */
function trackingMark(item: { track: string | null; auto_update: boolean }, update: boolean): string {
  if (item.track === null) return "";
  if (item.auto_update) return ` [auto-update: ${item.track}]`;
  return update ? ` [tracks ${item.track}, auto-update off]` : "";
}

function disabledMark(enabled: boolean): string {
  return enabled ? "" : " (disabled)";
}
