// How a command is declared (name, arguments, options, help) and what it gets when it runs: parsed
// input and a context holding the output, the profile and a lazily built API client.
import { parseArgs } from "node:util";
import { ApiClient } from "./api-client.js";
import { UsageError } from "./cli-errors.js";
import type { CliIo } from "./cli-io.js";
import { userAgent } from "./cli-version.js";
import type { Output } from "./output.js";
import {
  type ConfigFile,
  type Connection,
  configFilePath,
  readConfigFile,
  resolveConnection,
  selectProfile,
} from "./profile-store.js";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  description: string;
  /** Placeholder shown in help: `--output FILE`. */
  value?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Positionals as shown in usage: `NAME`, `[FILE]` (optional), `FLAG=VALUE...` (one or more). */
  args?: string[];
  options?: Record<string, OptionSpec>;
  /** More help: details and examples. */
  details?: string;
  run(ctx: CommandContext, input: CommandInput): Promise<void>;
}

export interface GroupSpec {
  name: string;
  summary: string;
  commands: CommandSpec[];
  /** Groups below this one: `capstan admin user list`. */
  groups?: GroupSpec[];
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  json: { type: "boolean", description: "Print JSON for scripts instead of tables" },
  profile: { type: "string", value: "NAME", description: "Use this profile of the config file" },
  help: { type: "boolean", short: "h", description: "Show this help" },
};

export class CommandInput {
  constructor(
    readonly args: string[],
    private readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>,
  ) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === "string" ? value : undefined;
  }

  boolean(name: string): boolean {
    return this.values[name] === true;
  }

  list(name: string): string[] {
    const value = this.values[name];
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
  }
}

export interface Scope {
  api: ApiClient;
  org: string;
}

export interface WorkspaceScope extends Scope {
  workspace: string;
}

export class CommandContext {
  private configFile: ConfigFile | null = null;

  constructor(
    readonly io: CliIo,
    readonly out: Output,
    /** The command's words, e.g. ["runtime", "sync"], for messages that point at its help. */
    readonly command: string[],
    readonly profileFlag: string | undefined,
  ) {}

  get json(): boolean {
    return this.out.json;
  }

  get configPath(): string {
    return configFilePath(this.io.env);
  }

  usageError(message: string, hint?: string): UsageError {
    return new UsageError(message, this.command, hint);
  }

  async config(): Promise<ConfigFile> {
    this.configFile ??= await readConfigFile(this.configPath);
    return this.configFile;
  }

  /** The connection settings; a profile named by --profile or $CAPSTAN_PROFILE must exist. */
  async connection(): Promise<Connection> {
    const config = await this.config();
    const selected = selectProfile(config, this.io.env, this.profileFlag);
    if (selected.source !== "default" && !Object.hasOwn(config.profiles, selected.name)) {
      const names = Object.keys(config.profiles);
      const named = selected.source === "flag" ? "--profile" : "$CAPSTAN_PROFILE";
      throw new UsageError(
        `there is no profile '${selected.name}' (${named}) in ${this.configPath}`,
        this.command,
        names.length > 0
          ? `Profiles there: ${names.sort().join(", ")}. Create one with 'capstan login --profile ${selected.name} …'.`
          : `Create it with 'capstan login --profile ${selected.name} --url URL --token KEY'.`,
      );
    }
    return resolveConnection(config, this.io.env, selected);
  }

  async api(): Promise<ApiClient> {
    const connection = await this.connection();
    if (connection.url === null || connection.token === null) {
      throw new UsageError(
        `not logged in (profile "${connection.profile}" has no ${connection.url === null ? "url" : "token"})`,
        this.command,
        "Run 'capstan login --url URL --token KEY', or set CAPSTAN_URL and CAPSTAN_TOKEN.",
      );
    }
    return new ApiClient({ baseUrl: connection.url, token: connection.token, userAgent: userAgent() });
  }

  async orgScope(): Promise<Scope> {
    const api = await this.api();
    const { org, profile } = await this.connection();
    if (org === null) {
      throw new UsageError(
        `no organization selected (profile "${profile}")`,
        this.command,
        "Run 'capstan login --org ORG …', or set CAPSTAN_ORG.",
      );
    }
    return { api, org };
  }

  async workspaceScope(): Promise<WorkspaceScope> {
    const scope = await this.orgScope();
    const { workspace, profile } = await this.connection();
    if (workspace === null) {
      throw new UsageError(
        `no workspace selected (profile "${profile}")`,
        this.command,
        "Run 'capstan login --workspace WS …', or set CAPSTAN_WORKSPACE.",
      );
    }
    return { ...scope, workspace };
  }
}

export function parseCommandInput(spec: CommandSpec, argv: string[], command: string[]): CommandInput {
  const options = { ...spec.options, ...GLOBAL_OPTIONS };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([name, { type, short, multiple }]) => [
          name,
          // parseArgs refuses keys that are present but undefined.
          { type, ...(short && { short }), ...(multiple && { multiple }) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(parseErrorMessage(error), command);
  }
  checkArity(spec.args ?? [], parsed.positionals, command);
  return new CommandInput(parsed.positionals, parsed.values);
}

/** `--json` anywhere before `--`: the failure envelope then goes to stdout too. */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

/** `--help` anywhere before `--` wins over every other problem with the arguments. */
export function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

function checkArity(declared: string[], given: string[], command: string[]): void {
  const required = declared.filter((arg) => !arg.startsWith("["));
  const variadic = declared.some((arg) => arg.endsWith("..."));
  if (given.length < required.length) {
    throw new UsageError(`missing ${required.slice(given.length).join(" ")}`, command);
  }
  if (!variadic && given.length > declared.length) {
    throw new UsageError(`unexpected argument '${given[declared.length]}'`, command);
  }
}

function parseErrorMessage(error: unknown): string {
  // parseArgs explains itself well but adds advice about "--" that only suits some errors.
  const message = error instanceof Error ? error.message : String(error);
  return message
    .replace(/\. To specify a positional argument starting with a '-'.*$/s, "")
    .replace(/\.$/, "");
}

export function renderCommandHelp(spec: CommandSpec, command: string[]): string {
  const args = (spec.args ?? []).join(" ");
  const lines = [
    `Usage: capstan ${[...command, args].filter(Boolean).join(" ")} [options]`,
    "",
    spec.summary,
  ];
  if (spec.details) lines.push("", spec.details.trim());
  lines.push("", "Options:", ...renderOptions({ ...spec.options, ...GLOBAL_OPTIONS }));
  return `${lines.join("\n")}\n`;
}

function renderOptions(options: Record<string, OptionSpec>): string[] {
  const labels = Object.entries(options).map(([name, option]) => {
    const short = option.short ? `-${option.short}, ` : "    ";
    const value = option.type === "string" ? ` ${option.value ?? "VALUE"}` : "";
    return [`${short}--${name}${value}`, option.description];
  });
  const width = Math.max(...labels.map(([label]) => label.length));
  return labels.map(([label, description]) => `  ${label.padEnd(width)}  ${description}`);
}
