// `capstan login`, `capstan logout` and `capstan whoami`: the profile the other commands connect with.
import { ApiClient, apiPath } from "../api-client.js";
import type { OrgView, UserView, WorkspacePageView, WorkspaceView } from "../api-types.js";
import { userAgent } from "../cli-version.js";
import type { CommandContext, CommandInput, CommandSpec } from "../command.js";
import {
  envOverrides,
  type Profile,
  readConfigFile,
  selectProfileName,
  writeConfigFile,
} from "../profile-store.js";

export const loginCommand: CommandSpec = {
  name: "login",
  summary: "Check an API key against a server and save it in a profile",
  options: {
    url: {
      type: "string",
      value: "URL",
      description: "The server, e.g. http://127.0.0.1:8080 (or $CAPSTAN_URL)",
    },
    token: { type: "string", value: "KEY", description: "An API key (or $CAPSTAN_TOKEN)" },
    "token-stdin": {
      type: "boolean",
      description: "Read the API key from stdin (keeps it out of the shell history)",
    },
    org: { type: "string", value: "ORG", description: "Organization to use (default: your only one)" },
    workspace: { type: "string", value: "WS", description: "Workspace to use (default: the org's default)" },
  },
  details: `The key is checked with GET /api/v1/user/me before anything is saved. The profile goes to
$CAPSTAN_CONFIG, else $XDG_CONFIG_HOME/capstan/config.json, else ~/.config/capstan/config.json
(mode 0600), and becomes the current profile. When CAPSTAN_URL, CAPSTAN_TOKEN, CAPSTAN_ORG or
CAPSTAN_WORKSPACE is set to something else, it overrides what was saved: login says so.

Examples:
  capstan login --url http://127.0.0.1:8080 --token cst_… --org default --workspace main
  printf '%s' "$KEY" | capstan login --url http://127.0.0.1:8080 --token-stdin`,
  run: login,
};

export const whoamiCommand: CommandSpec = {
  name: "whoami",
  summary: "Show the user, server, org and workspace the CLI acts as, and where each comes from",
  details: `Each setting's source is one of: env VARIABLE, profile NAME, not set. The profile's own
source is --profile, $CAPSTAN_PROFILE, the config file's current profile, or the default.`,
  run: whoami,
};

export const logoutCommand: CommandSpec = {
  name: "logout",
  summary: "Forget the profile's API key (the key itself stays valid: revoke it with 'capstan key revoke')",
  details: `Removes the current profile (or --profile NAME) from the config file. Nothing is sent to the
server. CAPSTAN_TOKEN, when set, still gives commands a key: logout says so.`,
  run: logout,
};

async function login(ctx: CommandContext, input: CommandInput): Promise<void> {
  const url = normaliseUrl(ctx, input.string("url") ?? ctx.io.env.CAPSTAN_URL);
  const token = await tokenOf(ctx, input);
  const api = new ApiClient({ baseUrl: url, token, userAgent: userAgent() });
  const user = (await api.get<UserView>("/user/me")).body;

  const config = await ctx.config();
  const profileName = selectProfileName(config, ctx.io.env, ctx.profileFlag);
  const org = await chooseOrg(api, input.string("org"));
  const workspace = org === null ? null : await chooseWorkspace(api, org, input.string("workspace"));
  const profile: Profile = { url, token, ...(org && { org }), ...(workspace && { workspace }) };
  await writeConfigFile(ctx.configPath, {
    current_profile: profileName,
    profiles: { ...config.profiles, [profileName]: profile },
  });

  // An exported variable wins over the profile just written: say so, or `whoami` contradicts login.
  const overridden = envOverrides(ctx.io.env, profile);
  for (const { setting, variable } of overridden) {
    ctx.out.note(
      `warning: ${variable} is set and overrides the ${setting} saved in profile "${profileName}"; unset it to use the profile.`,
    );
  }
  if (ctx.json) {
    ctx.out.data({
      profile: profileName,
      url,
      user,
      org,
      workspace,
      config_file: ctx.configPath,
      overridden_by: overridden.map(({ variable }) => variable),
    });
    return;
  }
  ctx.out.line(`Logged in to ${url} as ${user.email}.`);
  ctx.out.fields([
    ["profile", profileName],
    ["org", org ?? "(none: pass --org)"],
    ["workspace", workspace ?? "(none: pass --workspace)"],
    ["saved in", ctx.configPath],
  ]);
}

/** --token, else one line of stdin with --token-stdin, else $CAPSTAN_TOKEN. */
async function tokenOf(ctx: CommandContext, input: CommandInput): Promise<string> {
  const flag = input.string("token");
  if (input.boolean("token-stdin")) {
    if (flag !== undefined) throw ctx.usageError("pass either --token or --token-stdin, not both");
    const text = (await readAll(ctx.io.stdin)).trim();
    if (text === "") throw ctx.usageError("--token-stdin: stdin held no key");
    if (/\s/.test(text)) throw ctx.usageError("--token-stdin: stdin must hold one key and nothing else");
    return text;
  }
  const token = flag ?? ctx.io.env.CAPSTAN_TOKEN;
  if (!token) throw ctx.usageError("missing --token (or --token-stdin, or $CAPSTAN_TOKEN)");
  return token;
}

const MAX_STDIN_KEY_BYTES = 64 * 1024;

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_STDIN_KEY_BYTES) throw new Error("stdin is too large to hold an API key");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function logout(ctx: CommandContext): Promise<void> {
  // A profile named by --profile or $CAPSTAN_PROFILE that does not exist is a usage error (exit 2).
  await ctx.connection();
  const config = await readConfigFile(ctx.configPath);
  const name = selectProfileName(config, ctx.io.env, ctx.profileFlag);
  const existed = Object.hasOwn(config.profiles, name);
  if (existed) {
    const { [name]: _removed, ...rest } = config.profiles;
    await writeConfigFile(ctx.configPath, {
      ...(config.current_profile !== undefined && config.current_profile !== name
        ? { current_profile: config.current_profile }
        : {}),
      profiles: rest,
    });
  }
  const tokenVariable = ctx.io.env.CAPSTAN_TOKEN ? "CAPSTAN_TOKEN" : null;
  if (tokenVariable !== null) {
    ctx.out.note(`warning: ${tokenVariable} is still set: commands keep using that key until you unset it.`);
  }
  if (ctx.json) {
    ctx.out.data({ profile: name, removed: existed, config_file: ctx.configPath });
    return;
  }
  ctx.out.line(
    existed
      ? `Logged out: removed profile "${name}" from ${ctx.configPath}.`
      : `No profile "${name}" in ${ctx.configPath}: nothing to do.`,
  );
}

async function whoami(ctx: CommandContext): Promise<void> {
  const api = await ctx.api();
  const connection = await ctx.connection();
  const user = (await api.get<UserView>("/user/me")).body;
  const { profile, url, org, workspace, sources } = connection;
  if (ctx.json) {
    ctx.out.data({ user, profile, url, org, workspace, sources, config_file: ctx.configPath });
    return;
  }
  const from = (source: string) => ctx.out.palette.dim(`(${source})`);
  ctx.out.fields([
    ["user", `${user.name} <${user.email}>`],
    ["user id", user.id],
    ["server", `${url} ${from(sources.url)}`],
    ["token", `${maskToken(connection.token)} ${from(sources.token)}`],
    ["profile", `${profile} ${from(sources.profile)}`],
    ["org", `${org ?? "(none)"} ${from(sources.org)}`],
    ["workspace", `${workspace ?? "(none)"} ${from(sources.workspace)}`],
    ["config file", ctx.configPath],
  ]);
}

/** `cst_abcdefghijkl_…`: the prefix tells keys apart (SPEC §2.2); the secret is never shown. */
function maskToken(token: string | null): string {
  if (token === null) return "(none)";
  const match = /^(cst_[a-z2-7]{12})_/.exec(token);
  return match ? `${match[1]}_…` : "(not in the cst_ format)";
}

function normaliseUrl(ctx: CommandContext, value: string | undefined): string {
  if (!value) throw ctx.usageError("missing --url (or $CAPSTAN_URL)");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw ctx.usageError(`--url '${value}' is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw ctx.usageError("--url must be http:// or https://");
  return url.toString().replace(/\/+$/, "");
}

/** The named org after checking membership, else the caller's only org; null when that is ambiguous. */
async function chooseOrg(api: ApiClient, named: string | undefined): Promise<string | null> {
  if (named !== undefined) {
    await api.get<OrgView>(apiPath`/org/${named}`);
    return named;
  }
  const orgs = (await api.get<OrgView[]>("/user/organizations")).body;
  return orgs.length === 1 ? orgs[0].key : null;
}

async function chooseWorkspace(
  api: ApiClient,
  org: string,
  named: string | undefined,
): Promise<string | null> {
  if (named !== undefined) {
    await api.get<WorkspaceView>(apiPath`/org/${org}/ws/${named}`);
    return named;
  }
  const page = (await api.get<WorkspacePageView>(apiPath`/org/${org}/ws`, { query: { page_size: 100 } }))
    .body;
  return page.workspaces.find((workspace) => workspace.is_default)?.key ?? null;
}
