// The `capstan` command line (SPEC §9): finds the command, parses its arguments, runs it, and turns
// any failure into a message and an exit code (0 success, 1 API or validation error, 2 usage error).
import { UsageError } from "./cli-errors.js";
import { type CliIo, processIo } from "./cli-io.js";
import { cliVersion } from "./cli-version.js";
import {
  CommandContext,
  type CommandSpec,
  GLOBAL_OPTIONS,
  type GroupSpec,
  parseCommandInput,
  renderCommandHelp,
  wantsHelp,
} from "./command.js";
import { capabilityGroup } from "./commands/capability.js";
import { loginCommand, whoamiCommand } from "./commands/profile.js";
import { runtimeGroup } from "./commands/runtime.js";
import { serveCommand } from "./commands/serve.js";
import { Output, reportFailure } from "./output.js";

const COMMANDS: CommandSpec[] = [serveCommand, loginCommand, whoamiCommand];
const GROUPS: GroupSpec[] = [capabilityGroup, runtimeGroup];

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    return reportFailure(io, error);
  }
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(renderOverview());
    return 2;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    io.stdout.write(renderOverview());
    return 0;
  }
  if (first === "--version" || first === "-v" || first === "version") {
    io.stdout.write(`capstan-cli ${cliVersion()}\n`);
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === first);
  if (command !== undefined) return runCommand(command, [first], rest, io);
  const group = GROUPS.find((candidate) => candidate.name === first);
  if (group === undefined) throw new UsageError(`unknown command '${first}'`);
  return runGroup(group, rest, io);
}

async function runGroup(group: GroupSpec, argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? io.stderr : io.stdout).write(renderGroupHelp(group));
    return name === undefined ? 2 : 0;
  }
  const command = group.commands.find((candidate) => candidate.name === name);
  if (command === undefined) throw new UsageError(`unknown command '${group.name} ${name}'`, [group.name]);
  return runCommand(command, [group.name, name], rest, io);
}

async function runCommand(spec: CommandSpec, words: string[], argv: string[], io: CliIo): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(renderCommandHelp(spec, words));
    return 0;
  }
  const input = parseCommandInput(spec, argv, words);
  const context = new CommandContext(
    io,
    new Output(io, input.boolean("json")),
    words,
    input.string("profile"),
  );
  await spec.run(context, input);
  return 0;
}

function renderOverview(): string {
  const rows: [string, string][] = [
    ...COMMANDS.map((command): [string, string] => [command.name, command.summary]),
    ...GROUPS.flatMap((group) =>
      group.commands.map((command): [string, string] => [
        [group.name, command.name, ...(command.args ?? [])].join(" "),
        command.summary,
      ]),
    ),
  ];
  const width = Math.max(...rows.map(([usage]) => usage.length));
  const globals = Object.entries(GLOBAL_OPTIONS).map(
    ([name, option]) => `--${name}${option.type === "string" ? ` ${option.value}` : ""}`,
  );
  return `capstan ${cliVersion()}: the Capstan CLI

Usage: capstan <command> [arguments] [options]

Commands:
${rows.map(([usage, summary]) => `  ${usage.padEnd(width)}  ${summary}`).join("\n")}

Every command takes ${globals.join(", ")}; 'capstan <command> --help' explains it.
Connection: the profile saved by 'capstan login' (${"$"}CAPSTAN_CONFIG, else ~/.config/capstan/config.json);
CAPSTAN_URL, CAPSTAN_TOKEN, CAPSTAN_ORG and CAPSTAN_WORKSPACE override it.
Exit codes: 0 success, 1 API or validation error, 2 usage error.
`;
}

function renderGroupHelp(group: GroupSpec): string {
  const rows = group.commands.map((command): [string, string] => [
    [command.name, ...(command.args ?? [])].join(" "),
    command.summary,
  ]);
  const width = Math.max(...rows.map(([usage]) => usage.length));
  return `Usage: capstan ${group.name} <command> [arguments] [options]

${group.summary}.

Commands:
${rows.map(([usage, summary]) => `  ${usage.padEnd(width)}  ${summary}`).join("\n")}

'capstan ${group.name} <command> --help' explains each one.
`;
}
