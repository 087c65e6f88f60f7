// capability.yaml: safe YAML parsing and the semantic rules of SPEC §4.2. Pure: existence of the
// files a manifest points at is asked of the caller through callbacks.
import { type Document, isAlias, isScalar, Scalar } from "yaml";
import { type DocumentLimits, MANIFEST_LIMITS, parseBoundedYaml } from "./bounded-parse.js";
import {
  AuthorObjectSchema,
  CheckSchema,
  DependenciesSchema,
  FLAG_NAME_PATTERN,
  FlagSchema,
  FORBIDDEN_WORKER_ENV,
  InProcessWorkerSchema,
  keysOf,
  MANIFEST_FIELDS,
  MANIFEST_KEYS,
  MAX_DESCRIPTION_LENGTH,
  MAX_FLAGS,
  MAX_KEYWORD_LENGTH,
  MAX_KEYWORDS,
  MAX_NAME_LENGTH,
  MAX_REQUIRES,
  MAX_SECRETS,
  MAX_VERSION_LENGTH,
  McpAuthSchema,
  McpHeaderObjectSchema,
  McpHttpServerSchema,
  McpSchema,
  McpStdioServerSchema,
  NAME_PATTERN,
  REQUIRES_REFERENCE_PATTERN,
  RUNTIME_ENV_REFERENCES,
  SECRET_NAME_PATTERN,
  SecretDeclarationSchema,
  SubprocessWorkerSchema,
  WORKER_NAME_PATTERN,
} from "./manifest-schema.js";
import { CAPABILITY_REF_MAX_LENGTH } from "./names.js";
import { isSemverRange, parseSemver } from "./semver.js";
import type { FlagDefinition, Issue } from "./types.js";

export const MANIFEST_PATH = "capability.yaml";

const MAX_MANIFEST_BYTES = MANIFEST_LIMITS.maxBytes;

const INT_TAG = "tag:yaml.org,2002:int";
const STR_TAG = "tag:yaml.org,2002:str";
const FORBIDDEN_WORKER_ENV_NAMES = new Set(FORBIDDEN_WORKER_ENV);

export type McpHeader = string | { value: string; optional?: boolean };

interface McpServerCommon {
  init_timeout?: number;
  timeout?: number;
  when?: string[];
}

export interface McpStdioServer extends McpServerCommon {
  command: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface McpHttpServer extends McpServerCommon {
  url: string;
  headers?: Record<string, McpHeader>;
  auth?: { type: "oauth"; scope?: string; client_name?: string };
}

export type McpServer = McpStdioServer | McpHttpServer;

export interface McpSection {
  /** Normalised bundle paths of MCP JSON files, in declaration order. */
  files: string[];
  servers: Record<string, McpServer>;
}

export type Worker =
  | { path: string; when?: string[] }
  | { command: string; args?: string[]; env?: Record<string, string>; when?: string[] };

export interface Dependencies {
  python: string[];
  packages: string[];
  scripts: string[];
}

export interface SecretDeclaration {
  description: string;
  required: boolean;
}

export interface Check {
  name: string;
  command: string;
}

/** Typed view of a valid capability.yaml. Paths are normalised (`./tools/` → `tools`). */
export interface Manifest {
  schema: 1;
  name: string;
  version: string;
  description: string;
  agents?: string[];
  tools?: string[];
  skills?: string[];
  hooks?: string[];
  policies?: string[];
  mcp?: McpSection;
  /** Every declared flag, `default` filled in. */
  flags: Record<string, FlagDefinition>;
  workers?: Record<string, Worker>;
  /** Declared secrets, `required` filled in (SPEC §11). */
  secrets?: Record<string, SecretDeclaration>;
  dependencies?: Dependencies;
  checks?: Check[];
  author_name: string | null;
  license: string | null;
  repository: string | null;
  keywords: string[];
  produces?: Record<string, unknown>;
  /** Other capabilities this one needs bound on the same runtime: reference → semver range (SPEC §13). */
  requires?: Record<string, string>;
  /** The parsed YAML as JSON, exactly as written. */
  raw: Record<string, unknown>;
}

export interface ManifestResult {
  manifest: Manifest | null;
  errors: Issue[];
  warnings: Issue[];
}

export interface ParseManifestOptions {
  /** Accept `1.2.3-rc.1` / `1.2.3+build` (the CLI's offline check); publish refuses them. */
  allowPrerelease?: boolean;
  /** Whether a regular file exists at this normalised bundle path. Pass with `dirExists`. */
  fileExists?: (path: string) => boolean;
  /** Whether any file exists below this normalised bundle path. */
  dirExists?: (path: string) => boolean;
}

type Loc = (string | number)[];
type Json = Record<string, unknown>;

interface Ctx {
  errors: Issue[];
  options: ParseManifestOptions;
  declaredFlags: ReadonlySet<string>;
}

export function parseManifest(source: string | Buffer, options: ParseManifestOptions = {}): ManifestResult {
  const bytes = typeof source === "string" ? Buffer.byteLength(source) : source.length;
  if (bytes > MAX_MANIFEST_BYTES) {
    return yamlFailure(`capability.yaml is ${bytes} bytes; the limit is ${MAX_MANIFEST_BYTES}`);
  }
  const text = typeof source === "string" ? source : decodeUtf8(source);
  if (text === null) return yamlFailure("capability.yaml is not valid UTF-8");
  const parsed = safeYaml(text, MANIFEST_LIMITS);
  if (!parsed.ok) return yamlFailure(parsed.error);
  if (!isMap(parsed.value)) return yamlFailure("capability.yaml must be a YAML mapping");

  const raw = parsed.value;
  const ctx: Ctx = {
    errors: [],
    options,
    declaredFlags: new Set(isMap(raw.flags) ? Object.keys(raw.flags) : []),
  };
  const manifest = readManifest(raw, parsed.document, ctx);
  const warnings = Object.keys(raw)
    .filter((key) => !MANIFEST_KEYS.has(key))
    .map((key) => manifestIssue("manifest.unknown_key", [key], `unknown top-level key "${key}" is ignored`));
  return { manifest: ctx.errors.length === 0 ? manifest : null, errors: ctx.errors, warnings };
}

export type SafeYamlResult = { ok: true; value: unknown; document: Document } | { ok: false; error: string };

/**
 * The manifest's YAML hardening (bounded-parse.ts: one document, unique scalar keys, only core tags,
 * at most 100 aliases, no alias-driven expansion) for other YAML, such as the CLI's apply files.
 * Their caps are those of a JSON request body (1 MiB), not capability.yaml's.
 */
export function parseSafeYaml(text: string): SafeYamlResult {
  return safeYaml(text, { ...MANIFEST_LIMITS, maxBytes: 1024 * 1024, maxTokens: 1_000_000 });
}

function safeYaml(text: string, limits: DocumentLimits): SafeYamlResult {
  const parsed = parseBoundedYaml(text, limits);
  if (!parsed.ok) return { ok: false, error: parsed.error };
  return { ok: true, value: parsed.value, document: parsed.document as Document };
}

/**
 * Resolves a manifest-relative path to its normalised bundle path, or explains why it cannot
 * point inside the bundle. `a/../b` is fine; anything that climbs above the root is not.
 */
export function normaliseBundlePath(path: string): { ok: true; path: string } | { ok: false; error: string } {
  if (path.trim() === "") return { ok: false, error: "must be a non-empty path" };
  if (/[\u0000-\u001f\u007f]/.test(path)) return { ok: false, error: "must not contain control characters" };
  if (path.includes("\\")) return { ok: false, error: "must use / as the separator" };
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return { ok: false, error: "must be relative" };
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment !== "..") segments.push(segment);
    else if (segments.pop() === undefined) return { ok: false, error: "must stay inside the bundle" };
  }
  if (segments.length === 0)
    return { ok: false, error: "must name something inside the bundle, not its root" };
  return { ok: true, path: segments.join("/") };
}

function readManifest(raw: Json, document: Document, ctx: Ctx): Manifest {
  // Fields are read in the order of the SPEC table so that errors come out in a stable order.
  checkSchema(raw.schema, scalarTag(document, "schema"), ctx);
  const name = readName(raw.name, ctx) ?? "";
  const version = readVersion(raw.version, ctx) ?? "";
  const description = readDescription(raw.description, ctx) ?? "";
  return {
    schema: 1,
    name,
    version,
    description,
    ...optional("agents", readComponentPaths(raw, "agents", ctx)),
    ...optional("tools", readComponentPaths(raw, "tools", ctx)),
    ...optional("skills", readComponentPaths(raw, "skills", ctx)),
    ...optional("hooks", readComponentPaths(raw, "hooks", ctx)),
    ...optional("policies", readComponentPaths(raw, "policies", ctx)),
    ...optional("mcp", readMcp(raw, ctx)),
    flags: readFlags(raw.flags, ctx),
    ...optional("workers", readWorkers(raw.workers, ctx)),
    ...optional("secrets", readSecrets(raw, ctx)),
    ...optional("dependencies", readDependencies(raw.dependencies, ctx)),
    ...optional("checks", readChecks(raw.checks, ctx)),
    author_name: readAuthor(raw.author, ctx),
    license: readOptionalString(raw.license, "license", ctx),
    repository: readOptionalString(raw.repository, "repository", ctx),
    keywords: readKeywords(raw.keywords, ctx),
    ...optional("produces", readProduces(raw.produces, ctx)),
    ...optional("requires", readRequires(raw.requires, ctx)),
    raw,
  };
}

// --- identity --------------------------------------------------------------------------------------

/** `tag` is the YAML one: `1.0` and `1e0` are floats that become the same JS number as `1`. */
function checkSchema(value: unknown, tag: string | undefined, ctx: Ctx): void {
  if (isAbsent(value)) fail(ctx, MANIFEST_FIELDS.schema.errorType, ["schema"], "schema is required (use 1)");
  else if (value !== 1 || tag !== INT_TAG)
    fail(ctx, MANIFEST_FIELDS.schema.errorType, ["schema"], "schema must be the integer 1");
}

function readName(value: unknown, ctx: Ctx): string | undefined {
  const loc = ["name"];
  if (isAbsent(value)) return fail(ctx, MANIFEST_FIELDS.name.errorType, loc, "name is required");
  if (typeof value !== "string")
    return fail(ctx, MANIFEST_FIELDS.name.errorType, loc, "name must be a string");
  if (!NAME_PATTERN.test(value) || value.length > MAX_NAME_LENGTH) {
    return fail(
      ctx,
      MANIFEST_FIELDS.name.errorType,
      loc,
      `name must match ${NAME_PATTERN.source} and be at most ${MAX_NAME_LENGTH} characters`,
    );
  }
  return value;
}

function readVersion(value: unknown, ctx: Ctx): string | undefined {
  const loc = ["version"];
  if (isAbsent(value)) return fail(ctx, MANIFEST_FIELDS.version.errorType, loc, "version is required");
  if (typeof value !== "string") {
    return fail(ctx, MANIFEST_FIELDS.version.errorType, loc, 'version must be a string; quote it ("1.0.0")');
  }
  if (value.length > MAX_VERSION_LENGTH || parseSemver(value) === null) {
    return fail(
      ctx,
      MANIFEST_FIELDS.version.errorType,
      loc,
      "version must be semver MAJOR.MINOR.PATCH without leading zeros",
    );
  }
  // Prereleases are published (SPEC §13) and never become "latest"; build metadata is refused
  // because precedence ignores it, so `1.0.0+a` and `1.0.0+b` could not be told apart.
  if (parseSemver(value)?.build.length !== 0 && !ctx.options.allowPrerelease) {
    return fail(ctx, MANIFEST_FIELDS.version.errorType, loc, "a build suffix (+…) cannot be published");
  }
  return value;
}

/** Trimmed: a folded YAML block (`description: >`) always ends in a newline nobody means. */
function readDescription(value: unknown, ctx: Ctx): string | undefined {
  const loc = ["description"];
  if (isAbsent(value))
    return fail(ctx, MANIFEST_FIELDS.description.errorType, loc, "description is required");
  const description = typeof value === "string" ? value.trim() : "";
  if (description === "")
    return fail(ctx, MANIFEST_FIELDS.description.errorType, loc, "description must be a non-empty string");
  if ([...description].length > MAX_DESCRIPTION_LENGTH) {
    const msg = `description must be at most ${MAX_DESCRIPTION_LENGTH} characters`;
    return fail(ctx, MANIFEST_FIELDS.description.errorType, loc, msg);
  }
  return description;
}

// --- paths -----------------------------------------------------------------------------------------

type PathKind = "file" | "file_or_dir";

// Omitted means "the conventional directory" and [] means "none" for these, so a bare `agents:`
// (null) is refused rather than guessed at. For hooks and policies, null simply means none.
const KINDS_WITH_DEFAULT_DIRECTORY = new Set(["agents", "tools", "skills"]);

function readComponentPaths(raw: Json, key: string, ctx: Ctx): string[] | undefined {
  const value = raw[key];
  if (value === undefined || (value === null && !KINDS_WITH_DEFAULT_DIRECTORY.has(key))) return undefined;
  return readPathList(value, [key], fieldErrorType(key), "file_or_dir", ctx);
}

function readPathList(
  value: unknown,
  loc: Loc,
  type: string,
  kind: PathKind,
  ctx: Ctx,
): string[] | undefined {
  if (!Array.isArray(value)) return fail(ctx, type, loc, `${describe(loc)} must be a list of paths`);
  const paths = value.map((item, index) => readPath(item, [...loc, index], type, kind, ctx));
  return paths.every((path) => path !== undefined) ? paths : undefined;
}

function readPath(value: unknown, loc: Loc, type: string, kind: PathKind, ctx: Ctx): string | undefined {
  if (typeof value !== "string") return fail(ctx, type, loc, "path must be a string");
  const normalised = normaliseBundlePath(value);
  if (!normalised.ok) return fail(ctx, type, loc, `path "${value}" ${normalised.error}`);
  const exists = pathExists(normalised.path, kind, ctx.options);
  if (exists === false) {
    const what = kind === "file" ? "file" : "file or directory";
    return fail(ctx, type, loc, `path "${value}" names no ${what} in the bundle`);
  }
  return normalised.path;
}

/** `undefined` when the caller gave no way to tell. */
function pathExists(path: string, kind: PathKind, options: ParseManifestOptions): boolean | undefined {
  const { fileExists, dirExists } = options;
  if (kind === "file") return fileExists?.(path);
  if (!fileExists && !dirExists) return undefined;
  return Boolean(fileExists?.(path) || dirExists?.(path));
}

// --- mcp -------------------------------------------------------------------------------------------

const COMMON_SERVER_KEYS = new Set(
  [...keysOf(McpStdioServerSchema)].filter((key) => keysOf(McpHttpServerSchema).has(key)),
);
const STDIO_KEYS = new Set([...keysOf(McpStdioServerSchema)].filter((key) => !COMMON_SERVER_KEYS.has(key)));
const HTTP_KEYS = new Set([...keysOf(McpHttpServerSchema)].filter((key) => !COMMON_SERVER_KEYS.has(key)));

function readMcp(raw: Json, ctx: Ctx): McpSection | undefined {
  const value = raw.mcp;
  if (value === undefined) return undefined;
  const type = MANIFEST_FIELDS.mcp.errorType;
  if (!isMap(value))
    return fail(ctx, type, ["mcp"], "mcp must be a map {files?, servers?}; use {} to disable MCP");
  rejectUnknownKeys(value, keysOf(McpSchema), ["mcp"], type, ctx);
  const files =
    value.files === undefined ? [] : readPathList(value.files, ["mcp", "files"], type, "file", ctx);
  const servers = value.servers === undefined ? {} : readMcpServers(value.servers, ctx);
  return files && servers ? { files, servers } : undefined;
}

function readMcpServers(value: unknown, ctx: Ctx): Record<string, McpServer> | undefined {
  const loc = ["mcp", "servers"];
  if (!isMap(value))
    return fail(ctx, MANIFEST_FIELDS.mcp.errorType, loc, "mcp.servers must be a map of name → server");
  return readNamedEntries(value, (name, server) => readMcpServer(server, [...loc, name], ctx));
}

function readMcpServer(value: unknown, loc: Loc, ctx: Ctx): McpServer | undefined {
  const type = MANIFEST_FIELDS.mcp.errorType;
  if (!isMap(value)) return fail(ctx, type, loc, "an MCP server must be a map");
  const hasUrl = value.url !== undefined;
  if ((value.command !== undefined) === hasUrl) {
    return fail(ctx, type, loc, "an MCP server needs exactly one of command (stdio) or url (HTTP)");
  }
  const errorsBefore = ctx.errors.length;
  const ownKeys = hasUrl ? HTTP_KEYS : STDIO_KEYS;
  for (const key of Object.keys(value)) {
    if (!STDIO_KEYS.has(key) && !HTTP_KEYS.has(key) && !COMMON_SERVER_KEYS.has(key)) {
      fail(ctx, type, [...loc, key], `unknown MCP server key "${key}"`);
    } else if (!COMMON_SERVER_KEYS.has(key) && !ownKeys.has(key)) {
      fail(
        ctx,
        type,
        [...loc, key],
        `${key} may only be used with ${hasUrl ? "command (stdio)" : "url (HTTP)"}`,
      );
    }
  }
  const common: McpServerCommon = {
    ...optional("init_timeout", readTimeout(value.init_timeout, [...loc, "init_timeout"], ctx)),
    ...optional("timeout", readTimeout(value.timeout, [...loc, "timeout"], ctx)),
    ...optional("when", readWhen(value.when, [...loc, "when"], type, ctx)),
  };
  const server = hasUrl ? readHttpServer(value, loc, common, ctx) : readStdioServer(value, loc, common, ctx);
  return ctx.errors.length === errorsBefore ? server : undefined;
}

function readStdioServer(value: Json, loc: Loc, common: McpServerCommon, ctx: Ctx): McpStdioServer {
  const type = MANIFEST_FIELDS.mcp.errorType;
  return {
    command: readNonEmptyString(value.command, [...loc, "command"], type, ctx) ?? "",
    ...optional("args", readStringList(value.args, [...loc, "args"], type, ctx)),
    ...optional("env", readStringMap(value.env, [...loc, "env"], type, ctx)),
    ...optional("cwd", readNonEmptyString(value.cwd, [...loc, "cwd"], type, ctx, true)),
    ...common,
  };
}

function readHttpServer(value: Json, loc: Loc, common: McpServerCommon, ctx: Ctx): McpHttpServer {
  return {
    url: readUrl(value.url, [...loc, "url"], ctx) ?? "",
    ...optional("headers", readHeaders(value.headers, [...loc, "headers"], ctx)),
    ...optional("auth", readAuth(value.auth, [...loc, "auth"], ctx)),
    ...common,
  };
}

/** `${VAR}` placeholders are resolved by the runtime, so only a literal URL can be checked here. */
function readUrl(value: unknown, loc: Loc, ctx: Ctx): string | undefined {
  const url = readNonEmptyString(value, loc, MANIFEST_FIELDS.mcp.errorType, ctx);
  if (url === undefined || url.includes("${")) return url;
  if (!URL.canParse(url) || !["http:", "https:"].includes(new URL(url).protocol)) {
    return fail(ctx, MANIFEST_FIELDS.mcp.errorType, loc, "url must be an absolute http(s) URL");
  }
  return url;
}

function readHeaders(value: unknown, loc: Loc, ctx: Ctx): Record<string, McpHeader> | undefined {
  if (value === undefined) return undefined;
  if (!isMap(value))
    return fail(ctx, MANIFEST_FIELDS.mcp.errorType, loc, "headers must be a map of name → value");
  return readNamedEntries(value, (name, header) => readHeader(header, [...loc, name], ctx));
}

function readHeader(value: unknown, loc: Loc, ctx: Ctx): McpHeader | undefined {
  if (typeof value === "string") return value;
  const shape = "a header must be a string or {value: string, optional?: boolean}";
  if (!isMap(value)) return fail(ctx, MANIFEST_FIELDS.mcp.errorType, loc, shape);
  const errorsBefore = ctx.errors.length;
  rejectUnknownKeys(value, keysOf(McpHeaderObjectSchema), loc, MANIFEST_FIELDS.mcp.errorType, ctx);
  if (typeof value.value !== "string") fail(ctx, MANIFEST_FIELDS.mcp.errorType, [...loc, "value"], shape);
  const isOptional = readBoolean(value.optional, [...loc, "optional"], MANIFEST_FIELDS.mcp.errorType, ctx);
  if (ctx.errors.length > errorsBefore) return undefined;
  return { value: value.value as string, ...optional("optional", isOptional) };
}

function readAuth(value: unknown, loc: Loc, ctx: Ctx): McpHttpServer["auth"] {
  if (value === undefined) return undefined;
  const type = MANIFEST_FIELDS.mcp.errorType;
  if (!isMap(value)) return fail(ctx, type, loc, 'auth must be a map {type: "oauth", scope?, client_name?}');
  const errorsBefore = ctx.errors.length;
  rejectUnknownKeys(value, keysOf(McpAuthSchema), loc, type, ctx);
  if (value.type !== "oauth") fail(ctx, type, [...loc, "type"], 'auth.type must be "oauth"');
  const scope = readNonEmptyString(value.scope, [...loc, "scope"], type, ctx, true);
  const clientName = readNonEmptyString(value.client_name, [...loc, "client_name"], type, ctx, true);
  if (ctx.errors.length > errorsBefore) return undefined;
  return { type: "oauth", ...optional("scope", scope), ...optional("client_name", clientName) };
}

function readTimeout(value: unknown, loc: Loc, ctx: Ctx): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    return fail(
      ctx,
      MANIFEST_FIELDS.mcp.errorType,
      loc,
      `${describe(loc)} must be a positive number of seconds`,
    );
  }
  return value;
}

// --- flags and gating ------------------------------------------------------------------------------

function readFlags(value: unknown, ctx: Ctx): Record<string, FlagDefinition> {
  const flags: Record<string, FlagDefinition> = {};
  // A bare `flags:` (null) is refused like `agents:` and `mcp:`: omitting the key or `{}` already
  // says "no flags", so a key without a value is more likely a section left unfinished.
  if (value === undefined) return flags;
  const type = MANIFEST_FIELDS.flags.errorType;
  if (!isMap(value)) {
    fail(ctx, type, ["flags"], "flags must be a map of name → {description, default?}");
    return flags;
  }
  if (Object.keys(value).length > MAX_FLAGS)
    fail(ctx, type, ["flags"], `at most ${MAX_FLAGS} flags are allowed`);
  for (const [name, definition] of Object.entries(value)) {
    const flag = readFlag(name, definition, ctx);
    if (flag) flags[name] = flag;
  }
  return flags;
}

function readFlag(name: string, value: unknown, ctx: Ctx): FlagDefinition | undefined {
  const type = MANIFEST_FIELDS.flags.errorType;
  const loc = ["flags", name];
  const errorsBefore = ctx.errors.length;
  // A bad name does not stop the checks of the definition: each problem gets its own error item.
  if (!FLAG_NAME_PATTERN.test(name)) fail(ctx, type, loc, `flag name must match ${FLAG_NAME_PATTERN.source}`);
  if (!isMap(value)) return fail(ctx, type, loc, "a flag must be a map {description, default?}");
  rejectUnknownKeys(value, keysOf(FlagSchema), loc, type, ctx);
  const description = readNonEmptyString(value.description, [...loc, "description"], type, ctx);
  if (value.default !== undefined && typeof value.default !== "boolean") {
    fail(ctx, type, [...loc, "default"], "default must be true or false");
  }
  if (ctx.errors.length > errorsBefore || description === undefined) return undefined;
  return { description, default: value.default === true };
}

function readWhen(value: unknown, loc: Loc, type: string, ctx: Ctx): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    return fail(ctx, type, loc, "when must be a non-empty list of declared flag names");
  }
  const errorsBefore = ctx.errors.length;
  value.forEach((flag, index) => {
    if (typeof flag !== "string" || !ctx.declaredFlags.has(flag)) {
      fail(ctx, type, [...loc, index], `when names an undeclared flag: ${JSON.stringify(flag)}`);
    }
  });
  return ctx.errors.length === errorsBefore ? (value as string[]) : undefined;
}

// --- workers ---------------------------------------------------------------------------------------

const WORKER_KEYS = new Set([...keysOf(InProcessWorkerSchema), ...keysOf(SubprocessWorkerSchema)]);

function readWorkers(value: unknown, ctx: Ctx): Record<string, Worker> | undefined {
  if (isAbsent(value)) return undefined;
  if (!isMap(value))
    return fail(
      ctx,
      MANIFEST_FIELDS.workers.errorType,
      ["workers"],
      "workers must be a map of name → worker",
    );
  return readNamedEntries(value, (name, worker) => readWorker(name, worker, ctx));
}

function readWorker(name: string, value: unknown, ctx: Ctx): Worker | undefined {
  const type = MANIFEST_FIELDS.workers.errorType;
  const loc = ["workers", name];
  const errorsBefore = ctx.errors.length;
  // As with flags, a bad name does not stop the checks of the definition.
  if (!WORKER_NAME_PATTERN.test(name))
    fail(ctx, type, loc, `worker name must match ${WORKER_NAME_PATTERN.source}`);
  if (!isMap(value)) return fail(ctx, type, loc, "a worker must be a map");
  const hasPath = value.path !== undefined;
  if (hasPath === (value.command !== undefined)) {
    return fail(ctx, type, loc, "a worker needs exactly one of path (in-process) or command (subprocess)");
  }
  rejectUnknownKeys(value, WORKER_KEYS, loc, type, ctx);
  const when = readWhen(value.when, [...loc, "when"], type, ctx);
  const worker = hasPath ? readInProcessWorker(value, loc, ctx) : readSubprocessWorker(value, loc, ctx);
  if (ctx.errors.length > errorsBefore) return undefined;
  return { ...worker, ...optional("when", when) } as Worker;
}

function readInProcessWorker(value: Json, loc: Loc, ctx: Ctx): { path: string } {
  const type = MANIFEST_FIELDS.workers.errorType;
  for (const key of ["args", "env"]) {
    if (value[key] !== undefined) fail(ctx, type, [...loc, key], `${key} may only be used with command`);
  }
  const path = readPath(value.path, [...loc, "path"], type, "file", ctx);
  if (path !== undefined && !path.endsWith(".py")) {
    fail(ctx, type, [...loc, "path"], "an in-process worker path must be a Python (.py) file");
  }
  return { path: path ?? "" };
}

function readSubprocessWorker(value: Json, loc: Loc, ctx: Ctx): Worker {
  const type = MANIFEST_FIELDS.workers.errorType;
  const env = readStringMap(value.env, [...loc, "env"], type, ctx);
  for (const key of Object.keys(env ?? {})) {
    if (FORBIDDEN_WORKER_ENV_NAMES.has(key))
      fail(ctx, type, [...loc, "env", key], `${key} is set by the runtime`);
  }
  return {
    command: readNonEmptyString(value.command, [...loc, "command"], type, ctx) ?? "",
    ...optional("args", readStringList(value.args, [...loc, "args"], type, ctx)),
    ...optional("env", env),
  };
}

// --- secrets ---------------------------------------------------------------------------------------

const SECRET_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const RUNTIME_ENV_NAMES = new Set([...RUNTIME_ENV_REFERENCES, ...FORBIDDEN_WORKER_ENV]);

/**
 * The declared secrets, and a check of every `${NAME}` in the inline MCP servers' and the workers'
 * `env` values: a reference must name a declared secret (or a variable the runtime provides).
 */
function readSecrets(raw: Json, ctx: Ctx): Record<string, SecretDeclaration> | undefined {
  const value = raw.secrets;
  const type = MANIFEST_FIELDS.secrets.errorType;
  let declared: Record<string, SecretDeclaration> | undefined;
  if (!isAbsent(value)) {
    if (!isMap(value)) {
      fail(ctx, type, ["secrets"], "secrets must be a map of NAME → {description, required?}");
    } else {
      if (Object.keys(value).length > MAX_SECRETS)
        fail(ctx, type, ["secrets"], `at most ${MAX_SECRETS} secrets are allowed`);
      declared = readNamedEntries(value, (name, item) => readSecretDeclaration(name, item, ctx));
    }
  }
  const names = new Set(Object.keys(declared ?? (isMap(value) ? value : {})));
  for (const [loc, env] of envMaps(raw)) {
    for (const [key, text] of Object.entries(env)) {
      if (typeof text !== "string") continue;
      for (const match of text.matchAll(SECRET_REFERENCE)) {
        const name = match[1];
        if (names.has(name) || RUNTIME_ENV_NAMES.has(name)) continue;
        fail(
          ctx,
          type,
          [...loc, key],
          SECRET_NAME_PATTERN.test(name)
            ? `\${${name}} references a secret the manifest does not declare under secrets`
            : `\${${name}} is not a secret name (${SECRET_NAME_PATTERN.source}) nor a variable the runtime provides`,
        );
      }
    }
  }
  return declared;
}

function readSecretDeclaration(name: string, value: unknown, ctx: Ctx): SecretDeclaration | undefined {
  const type = MANIFEST_FIELDS.secrets.errorType;
  const loc = ["secrets", name];
  const errorsBefore = ctx.errors.length;
  if (!SECRET_NAME_PATTERN.test(name))
    fail(ctx, type, loc, `secret name must match ${SECRET_NAME_PATTERN.source}`);
  if (!isMap(value)) return fail(ctx, type, loc, "a secret must be a map {description, required?}");
  rejectUnknownKeys(value, keysOf(SecretDeclarationSchema), loc, type, ctx);
  const description = readNonEmptyString(value.description, [...loc, "description"], type, ctx);
  const required = readBoolean(value.required, [...loc, "required"], type, ctx);
  if (ctx.errors.length > errorsBefore || description === undefined) return undefined;
  return { description, required: required !== false };
}

/** The `env` maps of the inline MCP servers and the workers, with where each is. */
function envMaps(raw: Json): [Loc, Json][] {
  const found: [Loc, Json][] = [];
  const servers = isMap(raw.mcp) && isMap(raw.mcp.servers) ? raw.mcp.servers : {};
  for (const [name, server] of Object.entries(servers)) {
    if (isMap(server) && isMap(server.env)) found.push([["mcp", "servers", name, "env"], server.env]);
  }
  const workers = isMap(raw.workers) ? raw.workers : {};
  for (const [name, worker] of Object.entries(workers)) {
    if (isMap(worker) && isMap(worker.env)) found.push([["workers", name, "env"], worker.env]);
  }
  return found;
}

// --- dependencies and checks -----------------------------------------------------------------------

function readDependencies(value: unknown, ctx: Ctx): Dependencies | undefined {
  if (isAbsent(value)) return undefined;
  const type = MANIFEST_FIELDS.dependencies.errorType;
  if (!isMap(value))
    return fail(ctx, type, ["dependencies"], "dependencies must be a map {python?, packages?, scripts?}");
  rejectUnknownKeys(value, keysOf(DependenciesSchema), ["dependencies"], type, ctx);
  const list = (key: string) => readStringList(value[key], ["dependencies", key], type, ctx, true) ?? [];
  const scripts =
    value.scripts === undefined
      ? []
      : readPathList(value.scripts, ["dependencies", "scripts"], type, "file", ctx);
  return { python: list("python"), packages: list("packages"), scripts: scripts ?? [] };
}

function readChecks(value: unknown, ctx: Ctx): Check[] | undefined {
  if (isAbsent(value)) return undefined;
  const type = MANIFEST_FIELDS.checks.errorType;
  if (!Array.isArray(value)) return fail(ctx, type, ["checks"], "checks must be a list of {name, command}");
  return value.flatMap((check, index) => {
    const loc = ["checks", index];
    if (!isMap(check)) return fail(ctx, type, loc, "a check must be a map {name, command}") ?? [];
    rejectUnknownKeys(check, keysOf(CheckSchema), loc, type, ctx);
    const name = readNonEmptyString(check.name, [...loc, "name"], type, ctx);
    const command = readNonEmptyString(check.command, [...loc, "command"], type, ctx);
    return name !== undefined && command !== undefined ? [{ name, command }] : [];
  });
}

// --- catalog metadata ------------------------------------------------------------------------------

function readAuthor(value: unknown, ctx: Ctx): string | null {
  const type = MANIFEST_FIELDS.author.errorType;
  if (isAbsent(value)) return null;
  if (typeof value === "string") return readNonEmptyString(value, ["author"], type, ctx) ?? null;
  if (!isMap(value))
    return fail(ctx, type, ["author"], "author must be a string or {name, url?, email?}") ?? null;
  rejectUnknownKeys(value, keysOf(AuthorObjectSchema), ["author"], type, ctx);
  readNonEmptyString(value.url, ["author", "url"], type, ctx, true);
  readNonEmptyString(value.email, ["author", "email"], type, ctx, true);
  return readNonEmptyString(value.name, ["author", "name"], type, ctx) ?? null;
}

function readOptionalString(value: unknown, key: "license" | "repository", ctx: Ctx): string | null {
  if (isAbsent(value)) return null;
  return readNonEmptyString(value, [key], MANIFEST_FIELDS[key].errorType, ctx) ?? null;
}

function readKeywords(value: unknown, ctx: Ctx): string[] {
  const type = MANIFEST_FIELDS.keywords.errorType;
  if (isAbsent(value)) return [];
  const keywords = readStringList(value, ["keywords"], type, ctx) ?? [];
  if (keywords.length > MAX_KEYWORDS)
    fail(ctx, type, ["keywords"], `at most ${MAX_KEYWORDS} keywords are allowed`);
  keywords.forEach((keyword, index) => {
    if (keyword.trim() === "" || [...keyword].length > MAX_KEYWORD_LENGTH) {
      fail(ctx, type, ["keywords", index], `a keyword must be 1 to ${MAX_KEYWORD_LENGTH} characters`);
    }
  });
  return keywords;
}

function readProduces(value: unknown, ctx: Ctx): Record<string, unknown> | undefined {
  if (isAbsent(value)) return undefined;
  if (!isMap(value))
    return fail(ctx, MANIFEST_FIELDS.produces.errorType, ["produces"], "produces must be a map");
  return value;
}

function readRequires(value: unknown, ctx: Ctx): Record<string, string> | undefined {
  const type = MANIFEST_FIELDS.requires.errorType;
  if (isAbsent(value)) return undefined;
  if (!isMap(value)) return fail(ctx, type, ["requires"], "requires must be a map of name → semver range");
  const requires: Record<string, string> = {};
  const entries = Object.entries(value);
  if (entries.length > MAX_REQUIRES)
    return fail(ctx, type, ["requires"], `at most ${MAX_REQUIRES} requirements`);
  for (const [reference, range] of entries) {
    if (!REQUIRES_REFERENCE_PATTERN.test(reference) || reference.length > CAPABILITY_REF_MAX_LENGTH) {
      fail(ctx, type, ["requires", reference], "must be a capability name or owner/name");
    } else if (typeof range !== "string" || !isSemverRange(range)) {
      fail(ctx, type, ["requires", reference], 'must be a semver range such as "^1.2.0"');
    } else {
      requires[reference] = range.trim();
    }
  }
  return requires;
}

// --- small readers ---------------------------------------------------------------------------------

function readNonEmptyString(
  value: unknown,
  loc: Loc,
  type: string,
  ctx: Ctx,
  isOptional = false,
): string | undefined {
  if (value === undefined && isOptional) return undefined;
  if (typeof value !== "string" || value.trim() === "") {
    return fail(ctx, type, loc, `${describe(loc)} must be a non-empty string`);
  }
  return value;
}

function readStringList(
  value: unknown,
  loc: Loc,
  type: string,
  ctx: Ctx,
  nonEmptyItems = false,
): string[] | undefined {
  if (value === undefined) return undefined;
  const valid = (item: unknown) => typeof item === "string" && (!nonEmptyItems || item.trim() !== "");
  if (!Array.isArray(value)) return fail(ctx, type, loc, `${describe(loc)} must be a list of strings`);
  const errorsBefore = ctx.errors.length;
  value.forEach((item, index) => {
    if (!valid(item)) fail(ctx, type, [...loc, index], `${describe(loc)} items must be non-empty strings`);
  });
  return ctx.errors.length === errorsBefore ? (value as string[]) : undefined;
}

function readStringMap(value: unknown, loc: Loc, type: string, ctx: Ctx): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isMap(value)) return fail(ctx, type, loc, `${describe(loc)} must be a map of name → string`);
  return readNamedEntries(value, (key, item) =>
    typeof item === "string" ? item : fail(ctx, type, [...loc, key], `${key} must be a string; quote it`),
  );
}

function readBoolean(value: unknown, loc: Loc, type: string, ctx: Ctx): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  return fail(ctx, type, loc, `${describe(loc)} must be true or false`);
}

/** Reads every entry (so each problem is reported) and keeps the map only if all are valid. */
function readNamedEntries<T>(
  value: Json,
  read: (name: string, item: unknown) => T | undefined,
): Record<string, T> | undefined {
  const entries = Object.entries(value).map(([name, item]) => [name, read(name, item)] as const);
  if (entries.some(([, item]) => item === undefined)) return undefined;
  return Object.fromEntries(entries) as Record<string, T>;
}

function rejectUnknownKeys(
  value: Json,
  allowed: ReadonlySet<string>,
  loc: Loc,
  type: string,
  ctx: Ctx,
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) fail(ctx, type, [...loc, key], `unknown key "${key}"`);
  }
}

// --- helpers ---------------------------------------------------------------------------------------

function fieldErrorType(key: string): string {
  return (MANIFEST_FIELDS as Record<string, { errorType: string }>)[key].errorType;
}

function fail(ctx: Ctx, type: string, loc: Loc, msg: string): undefined {
  ctx.errors.push(manifestIssue(type, loc, msg));
  return undefined;
}

function manifestIssue(type: string, loc: Loc, msg: string): Issue {
  return { loc: ["bundle", MANIFEST_PATH, ...loc], msg, type };
}

function yamlFailure(msg: string): ManifestResult {
  return {
    manifest: null,
    errors: [{ loc: ["bundle", MANIFEST_PATH], msg, type: "manifest.yaml" }],
    warnings: [],
  };
}

/** `{key: value}` when value is defined, else `{}`: keeps optional keys absent rather than undefined. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function isMap(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A key written without a value (`license:`) means the same as leaving it out. */
function isAbsent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

function describe(loc: Loc): string {
  return loc.filter((part) => typeof part === "string").join(".");
}

/**
 * The tag YAML resolved a top-level scalar to: explicit (`!!int 1`) or, for a plain scalar, the
 * first default tag of the schema whose test matches its source, which is how yaml itself
 * resolves it (the parsed node keeps only explicit tags). Undefined when the key is absent or
 * not a scalar.
 */
function scalarTag(document: Document, key: string): string | undefined {
  const found = document.get(key, true);
  const node = isAlias(found) ? found.resolve(document) : found;
  if (!isScalar(node)) return undefined;
  if (node.tag) return node.tag;
  if (node.type !== Scalar.PLAIN || node.source === undefined) return STR_TAG;
  const source = node.source;
  const tag = document.schema.tags.find(
    (candidate) => candidate.default === true && candidate.test?.test(source),
  );
  return tag?.tag ?? STR_TAG;
}

function decodeUtf8(bytes: Buffer): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}
