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
  wantsJson,
} from "./command.js";
import { adminGroup } from "./commands/admin.js";
import { capabilityGroup } from "./commands/capability.js";
import { auditGroup, eventsCommand } from "./commands/events.js";
import { keyGroup } from "./commands/key.js";
import { memberGroup } from "./commands/member.js";
import { orgGroup } from "./commands/org.js";
import { loginCommand, logoutCommand, whoamiCommand } from "./commands/profile.js";
import { projectGroup } from "./commands/project.js";
import { runtimeGroup } from "./commands/runtime.js";
import { secretGroup } from "./commands/secret.js";
import { serveCommand } from "./commands/serve.js";
import { serviceAccountGroup } from "./commands/service-account.js";
import { signingKeyGroup } from "./commands/signing-key.js";
import { versionCommand } from "./commands/version.js";
import { webhookGroup } from "./commands/webhook.js";
import { workspaceGroup } from "./commands/workspace.js";
import { Output, reportFailure } from "./output.js";
import { CONFIG_SEARCH_ORDER } from "./profile-store.js";

const COMMANDS: CommandSpec[] = [
  serveCommand,
  loginCommand,
  logoutCommand,
  whoamiCommand,
  versionCommand,
  eventsCommand,
];
const GROUPS: GroupSpec[] = [
  capabilityGroup,
  runtimeGroup,
  orgGroup,
  workspaceGroup,
  secretGroup,
  projectGroup,
  memberGroup,
  serviceAccountGroup,
  keyGroup,
  signingKeyGroup,
  adminGroup,
  webhookGroup,
  auditGroup,
];

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  // With --json, stdout holds exactly one JSON document, a failure's included: the envelope goes
  // there unless the command already printed its own document (validate --json prints its report).
  const json = wantsJson(argv);
  let printed = false;
  const watched: CliIo = json
    ? {
        ...io,
        stdout: {
          write: (text: string) => {
            printed = true;
            return io.stdout.write(text);
          },
          isTTY: io.stdout.isTTY,
        },
      }
    : io;
  try {
    return await dispatch(argv, watched);
  } catch (error) {
    return reportFailure(io, error, { json: json && !printed });
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
  if (first === "--version" || first === "-v") return runCommand(versionCommand, ["version"], rest, io);
  const command = COMMANDS.find((candidate) => candidate.name === first);
  if (command !== undefined) return runCommand(command, [first], rest, io);
  const group = GROUPS.find((candidate) => candidate.name === first);
  if (group === undefined) throw new UsageError(`unknown command '${first}'`);
  return runGroup(group, rest, io);
}

async function runGroup(
  group: GroupSpec,
  argv: string[],
  io: CliIo,
  parents: string[] = [],
): Promise<number> {
  const words = [...parents, group.name];
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? io.stderr : io.stdout).write(renderGroupHelp(group, words));
    return name === undefined ? 2 : 0;
  }
  const subgroup = group.groups?.find((candidate) => candidate.name === name);
  if (subgroup !== undefined) return runGroup(subgroup, rest, io, words);
  const command = group.commands.find((candidate) => candidate.name === name);
  if (command === undefined) throw new UsageError(`unknown command '${[...words, name].join(" ")}'`, words);
  return runCommand(command, [...words, name], rest, io);
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
    ...GROUPS.flatMap((group) => groupRows(group, [])),
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
'capstan --version' prints the CLI's version and, when a server is configured, the server's.

Connection: a profile saved by 'capstan login', in the first of these config files:
${CONFIG_SEARCH_ORDER.map((place, index) => `  ${index + 1}. ${place}`).join("\n")}
The profile is --profile, else ${"$"}CAPSTAN_PROFILE, else the file's current one, else "default".
CAPSTAN_URL, CAPSTAN_TOKEN, CAPSTAN_ORG and CAPSTAN_WORKSPACE override its values
('capstan whoami' shows where each one comes from).
Exit codes: 0 success, 1 API or validation error, 2 usage error.
`;
}

function groupRows(group: GroupSpec, parents: string[]): [string, string][] {
  const words = [...parents, group.name];
  return [
    ...group.commands.map((command): [string, string] => [
      [...words, command.name, ...(command.args ?? [])].join(" "),
      command.summary,
    ]),
    ...(group.groups ?? []).flatMap((subgroup) => groupRows(subgroup, words)),
  ];
}

function renderGroupHelp(group: GroupSpec, words: string[]): string {
  const rows = groupRows(group, []).map(([usage, summary]): [string, string] => [
    usage.slice(group.name.length + 1),
    summary,
  ]);
  const width = Math.max(...rows.map(([usage]) => usage.length));
  return `Usage: capstan ${words.join(" ")} <command> [arguments] [options]

${group.summary}.

Commands:
${rows.map(([usage, summary]) => `  ${usage.padEnd(width)}  ${summary}`).join("\n")}

'capstan ${words.join(" ")} <command> --help' explains each one.
`;
}
