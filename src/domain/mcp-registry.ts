// How an MCP server of a capability version appears in the MCP registry API (SPEC §13): its
// registry name, and the `packages` / `remotes` of the official `server.json` schema (version
// 2025-12-11, committed as openapi/mcp-registry/server.schema.json). Pure: the service feeds it the
// server definitions it read from capability.yaml or the bundle's MCP JSON files.

export const MCP_SERVER_SCHEMA_URL =
  "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";

/** The schema's `name` rule: one slash between a reverse-DNS namespace and the server part. */
const SERVER_NAME = /^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/;
const SERVER_NAME_MAX_LENGTH = 200;
const DESCRIPTION_MAX_LENGTH = 100;

/** `<namespace>.<org>/<capability>-<server>`; null when the result is not a valid registry name. */
export function registryServerName(namespace: string, org: string, capability: string, server: string) {
  const name = `${namespace}.${org}/${capability}-${server}`;
  return name.length <= SERVER_NAME_MAX_LENGTH && SERVER_NAME.test(name) ? name : null;
}

/**
 * The org and the `<capability>-<server>` part of a registry name under `namespace`, and the
 * capability names it could belong to, longest first (capability names contain hyphens too).
 */
export function parseRegistryServerName(
  namespace: string,
  name: string,
): { org: string; rest: string; capabilities: string[] } | null {
  if (!name.startsWith(`${namespace}.`) || name.length > SERVER_NAME_MAX_LENGTH || !SERVER_NAME.test(name)) {
    return null;
  }
  const [org, rest] = name.slice(namespace.length + 1).split("/");
  if (!org || !rest) return null;
  const capabilities: string[] = [];
  for (let i = rest.lastIndexOf("-"); i > 0; i = rest.lastIndexOf("-", i - 1))
    capabilities.push(rest.slice(0, i));
  return { org, rest, capabilities };
}

/** The schema allows 100 characters: white space collapsed, and cut with an ellipsis beyond that. */
export function registryDescription(description: string): string {
  const text = description.replace(/\s+/g, " ").trim();
  if (text.length <= DESCRIPTION_MAX_LENGTH) return text;
  return `${text.slice(0, DESCRIPTION_MAX_LENGTH - 1).trimEnd()}…`;
}

/** `https://github.com/o/r` → `{url, source: "github"}`; anything that is not an http(s) URL → null. */
export function registryRepository(repository: unknown): { url: string; source: string } | null {
  if (typeof repository !== "string") return null;
  let url: URL;
  try {
    url = new URL(repository.trim());
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  const host = url.hostname.toLowerCase();
  const known = ["github", "gitlab", "bitbucket"].find(
    (forge) => host === `${forge}.com` || host === `${forge}.org`,
  );
  return { url: url.toString(), source: known ?? host };
}

// --- packages and remotes ---------------------------------------------------------------------

export interface RegistryInput {
  description?: string;
  isRequired?: boolean;
  isSecret?: boolean;
  default?: string;
}

export interface TemplatedValue {
  value: string;
  variables?: Record<string, RegistryInput>;
}

export type RegistryArgument = { type: "positional" } & TemplatedValue;
export type RegistryKeyValue = { name: string; isRequired?: boolean; isSecret?: boolean } & TemplatedValue;

export interface RegistryPackage {
  registryType: "npm" | "pypi" | "oci";
  identifier: string;
  version?: string;
  runtimeHint: "npx" | "uvx" | "docker";
  transport: { type: "stdio" };
  runtimeArguments?: RegistryArgument[];
  packageArguments?: RegistryArgument[];
  environmentVariables?: RegistryKeyValue[];
}

export interface RegistryRemote {
  type: "streamable-http" | "sse";
  url: string;
  headers?: RegistryKeyValue[];
  variables?: Record<string, RegistryInput>;
}

/** Names of environment variables and headers whose values clients should treat as secrets. */
const SECRET_NAME = /authorization|token|secret|password|passwd|api[-_]?key|credential|cookie/i;
/** `${NAME}` or `${NAME:-default}`, as MCP client configurations write them. */
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * A configured value as the registry writes one: `${NAME}` placeholders become `{NAME}` with a
 * variable (required unless it has a default; secret when `secret`).
 */
export function templatedValue(raw: string, secret = false): TemplatedValue {
  const variables: Record<string, RegistryInput> = {};
  const value = raw.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
    const input: RegistryInput = { isRequired: fallback === undefined };
    if (fallback !== undefined) input.default = fallback;
    if (secret) input.isSecret = true;
    variables[name] = input;
    return `{${name}}`;
  });
  return Object.keys(variables).length > 0 ? { value, variables } : { value };
}

const positional = (arg: string): RegistryArgument => ({ type: "positional", ...templatedValue(arg) });

function environmentOf(env: unknown): RegistryKeyValue[] | undefined {
  if (!isRecord(env)) return undefined;
  const entries = Object.entries(env).filter(
    (entry): entry is [string, string] => typeof entry[1] === "string",
  );
  if (entries.length === 0) return undefined;
  return entries.map(([name, raw]) => {
    const secret = SECRET_NAME.test(name);
    return { name, ...templatedValue(raw, secret), ...(secret && { isSecret: true }) };
  });
}

/** npm package names, optionally scoped. */
const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
/** PyPI project names (PEP 508 names, without extras). */
const PYPI_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
/** An OCI reference: [registry/]namespace/image[:tag][@digest]; placeholders are not references. */
const OCI_REFERENCE = /^[a-z0-9][a-z0-9._/:-]*(?:@sha256:[a-f0-9]{64})?$/i;
/** An exact version a registry would resolve (a range, a tag or `latest` is left out). */
const EXACT_VERSION = /^v?\d+(?:\.\d+)*(?:[-.+][0-9A-Za-z.-]+)?$/;
/** npx options that only quiet or confirm the download; any other option leaves a command unmapped. */
const NPX_QUIET_OPTIONS = new Set(["-y", "--yes", "-q", "--quiet"]);
/** `docker run` options that take the next word as their value. */
const DOCKER_VALUE_OPTIONS = new Set([
  "-e",
  "--env",
  "--env-file",
  "-v",
  "--volume",
  "--mount",
  "-p",
  "--publish",
  "--name",
  "-w",
  "--workdir",
  "--network",
  "--net",
  "-u",
  "--user",
  "--entrypoint",
  "--platform",
  "-l",
  "--label",
  "-m",
  "--memory",
  "--cpus",
  "--add-host",
  "-h",
  "--hostname",
  "--pull",
]);

/**
 * The registry package a stdio server's command installs: `npx <pkg>` (npm), `uvx <pkg>` (PyPI) or
 * `docker run … <image>` (OCI). Null for any other command (`node`, `python3`, `uv run`…), whose
 * program ships inside the capability bundle and has no package to point at.
 */
export function packageOfCommand(command: string, args: string[], env: unknown): RegistryPackage | null {
  const environmentVariables = environmentOf(env);
  const extras = (rest: string[]) => ({
    ...(rest.length > 0 && { packageArguments: rest.map(positional) }),
    ...(environmentVariables && { environmentVariables }),
  });
  if (command === "npx") {
    let i = 0;
    while (i < args.length && NPX_QUIET_OPTIONS.has(args[i])) i += 1;
    const spec = args[i];
    if (spec === undefined || spec.startsWith("-")) return null;
    const at = spec.indexOf("@", spec.startsWith("@") ? 1 : 0);
    const identifier = at > 0 ? spec.slice(0, at) : spec;
    const version = at > 0 ? spec.slice(at + 1) : undefined;
    if (!NPM_NAME.test(identifier)) return null;
    return {
      registryType: "npm",
      identifier,
      ...(version !== undefined && EXACT_VERSION.test(version) && { version }),
      runtimeHint: "npx",
      transport: { type: "stdio" },
      ...extras(args.slice(i + 1)),
    };
  }
  if (command === "uvx") {
    const spec = args[0];
    if (spec === undefined || spec.startsWith("-")) return null;
    const match = /^([^=@<>~!\s]+)(?:==|@)?(.*)$/.exec(spec);
    const identifier = match?.[1] ?? "";
    const version = match?.[2] ?? "";
    if (!PYPI_NAME.test(identifier)) return null;
    if (version !== "" && !EXACT_VERSION.test(version)) return null;
    return {
      registryType: "pypi",
      identifier,
      ...(version !== "" && { version }),
      runtimeHint: "uvx",
      transport: { type: "stdio" },
      ...extras(args.slice(1)),
    };
  }
  if (command === "docker" && args[0] === "run") {
    let i = 1;
    const options: string[] = [];
    while (i < args.length && args[i].startsWith("-")) {
      const option = args[i];
      options.push(option);
      i += 1;
      if (!option.includes("=") && DOCKER_VALUE_OPTIONS.has(option) && i < args.length) {
        options.push(args[i]);
        i += 1;
      }
    }
    const image = args[i];
    if (image === undefined || !OCI_REFERENCE.test(image)) return null;
    return {
      registryType: "oci",
      identifier: image,
      runtimeHint: "docker",
      transport: { type: "stdio" },
      ...(options.length > 0 && { runtimeArguments: options.map(positional) }),
      ...extras(args.slice(i + 1)),
    };
  }
  return null;
}

/** The URL patterns the schema gives both remote transports. */
const REMOTE_URL = /^https?:\/\/[^\s]+$/;

/**
 * The remote an HTTP server is: SSE when its definition says `type: "sse"`, streamable HTTP
 * otherwise. Headers are a string or `{value, optional?}`; placeholders become variables. Null when
 * the URL (after placeholders) is not the http(s) URL the schema requires.
 */
export function remoteOfUrl(url: string, headers: unknown, type: unknown): RegistryRemote | null {
  const target = templatedValue(url);
  if (!REMOTE_URL.test(target.value)) return null;
  const remoteHeaders: RegistryKeyValue[] = [];
  if (isRecord(headers)) {
    for (const [name, header] of Object.entries(headers)) {
      const raw = typeof header === "string" ? header : isRecord(header) ? header.value : undefined;
      if (typeof raw !== "string") continue;
      const optional = isRecord(header) && header.optional === true;
      const secret = SECRET_NAME.test(name);
      remoteHeaders.push({
        name,
        ...templatedValue(raw, secret),
        isRequired: !optional,
        ...(secret && { isSecret: true }),
      });
    }
  }
  return {
    type: type === "sse" ? "sse" : "streamable-http",
    url: target.value,
    ...(remoteHeaders.length > 0 && { headers: remoteHeaders }),
    ...(target.variables && { variables: target.variables }),
  };
}

/** `packages` and `remotes` of one server definition (`{command, args?, env?}` or `{url, headers?}`). */
export function distributionOf(definition: Record<string, unknown>): {
  packages?: RegistryPackage[];
  remotes?: RegistryRemote[];
} {
  if (typeof definition.url === "string") {
    const remote = remoteOfUrl(definition.url, definition.headers, definition.type);
    return remote ? { remotes: [remote] } : {};
  }
  if (typeof definition.command === "string") {
    const args = Array.isArray(definition.args) ? definition.args.filter((a) => typeof a === "string") : [];
    const pkg = packageOfCommand(definition.command, args, definition.env);
    return pkg ? { packages: [pkg] } : {};
  }
  return {};
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
