// `capstan login` and `capstan whoami`: the profile the other commands connect with.
import { ApiClient, apiPath } from "../api-client.js";
import type { OrgView, UserView, WorkspacePageView, WorkspaceView } from "../api-types.js";
import { userAgent } from "../cli-version.js";
import type { CommandContext, CommandInput, CommandSpec } from "../command.js";
import { type Profile, selectProfileName, writeConfigFile } from "../profile-store.js";

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
    org: { type: "string", value: "ORG", description: "Organization to use (default: your only one)" },
    workspace: { type: "string", value: "WS", description: "Workspace to use (default: the org's default)" },
  },
  details: `The key is checked with GET /api/v1/user/me before anything is saved. The profile goes to
$CAPSTAN_CONFIG, else $XDG_CONFIG_HOME/capstan/config.json, else ~/.config/capstan/config.json
(mode 0600), and becomes the current profile.

Example:
  capstan login --url http://127.0.0.1:8080 --token cst_… --org default --workspace main`,
  run: login,
};

export const whoamiCommand: CommandSpec = {
  name: "whoami",
  summary: "Show the user, server, org and workspace the CLI acts as",
  run: whoami,
};

async function login(ctx: CommandContext, input: CommandInput): Promise<void> {
  const url = normaliseUrl(ctx, input.string("url") ?? ctx.io.env.CAPSTAN_URL);
  const token = input.string("token") ?? ctx.io.env.CAPSTAN_TOKEN;
  if (!token) throw ctx.usageError("missing --token (or $CAPSTAN_TOKEN)");
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

  if (ctx.json) {
    ctx.out.data({ profile: profileName, url, user, org, workspace, config_file: ctx.configPath });
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

async function whoami(ctx: CommandContext): Promise<void> {
  const api = await ctx.api();
  const connection = await ctx.connection();
  const user = (await api.get<UserView>("/user/me")).body;
  if (ctx.json) {
    const { profile, url, org, workspace } = connection;
    ctx.out.data({ user, profile, url, org, workspace });
    return;
  }
  ctx.out.fields([
    ["user", `${user.name} <${user.email}>`],
    ["user id", user.id],
    ["server", connection.url],
    ["profile", connection.profile],
    ["org", connection.org ?? "(none)"],
    ["workspace", connection.workspace ?? "(none)"],
  ]);
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
