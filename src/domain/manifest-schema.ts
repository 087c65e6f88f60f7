// Every rule of capability.yaml (SPEC §4.2), declared once. The validator (manifest.ts) takes its
// patterns, limits and key sets from here and adds what a schema cannot say (files that must
// exist, `when` naming declared flags, YAML tags, error locations and messages); the JSON Schema
// editors use (GET /schemas/capability.schema.json) is this same declaration, serialised.
import { type TSchema, Type } from "typebox";
import * as names from "./names.js";

// --- the rules -------------------------------------------------------------------------------------

// Identifier patterns and their limits come from names.ts, shared with the contract and the CLI.
export const NAME_PATTERN = new RegExp(names.CAPABILITY_NAME_PATTERN);
export const MAX_NAME_LENGTH = names.CAPABILITY_NAME_MAX_LENGTH;
/** What can be published: MAJOR.MINOR.PATCH, no leading zeros, an optional prerelease, no build suffix. */
export const RELEASE_VERSION_PATTERN = new RegExp(names.VERSION_PATTERN);
// npm's limit: a version ends up in URLs, table cells and database keys.
export const MAX_VERSION_LENGTH = names.VERSION_MAX_LENGTH;
export const MAX_DESCRIPTION_LENGTH = 4000;
export const MAX_FLAGS = 16;
export const FLAG_NAME_PATTERN = new RegExp(names.FLAG_NAME_PATTERN);
export const WORKER_NAME_PATTERN = new RegExp(names.WORKER_NAME_PATTERN);
export const MAX_KEYWORDS = 64;
export const MAX_SECRETS = 64;
export const SECRET_NAME_PATTERN = new RegExp(names.SECRET_NAME_PATTERN);
/**
 * Variables the runtime or the process environment provides: a `${NAME}` reference to one of them
 * in an `env` value is not a secret reference and needs no declaration.
 */
export const RUNTIME_ENV_REFERENCES: readonly string[] = [
  "CAPABILITY_ROOT",
  "HOME",
  "LANG",
  "PATH",
  "PWD",
  "TMPDIR",
  "USER",
];
/** Requirements per capability: each is checked on every install, so the list stays short. */
export const MAX_REQUIRES = 32;
export const REQUIRES_REFERENCE_PATTERN = new RegExp(names.CAPABILITY_REF_PATTERN);
export const MAX_KEYWORD_LENGTH = 64;
/** Set by the runtime for every worker; a manifest may not override them. */
export const FORBIDDEN_WORKER_ENV: readonly string[] = [
  "DREADNODE_RUNTIME_URL",
  "DREADNODE_RUNTIME_TOKEN",
  "DREADNODE_RUNTIME_ID",
];

// --- building blocks -------------------------------------------------------------------------------

/** A string with something other than white space in it (the validator trims). */
const nonEmpty = (description: string, examples?: string[]) =>
  Type.String({ pattern: "\\S", description, ...(examples ? { examples } : {}) });

/**
 * A path inside the bundle, relative to capability.yaml. The schema catches what it can see in the
 * text (absolute, drive letter, backslash, control characters, a leading `..`, the root itself);
 * the validator also resolves `a/../..` and checks that the path exists.
 */
const PATH_START = "^(?!/)(?![A-Za-z]:)(?!\\.\\.(?:/|$))(?!(?:\\./*)*$)";
const PATH_CHARACTER = "[^\\u0000-\\u001f\\u007f\\\\]";
const BundlePath = (description: string, examples?: string[]) =>
  Type.String({
    pattern: `${PATH_START}${PATH_CHARACTER}+$`,
    description,
    ...(examples ? { examples } : {}),
  });

const StringList = (description: string) => Type.Array(Type.String(), { description });
const NonEmptyStringList = (description: string, examples?: string[][]) =>
  Type.Array(nonEmpty("one entry"), { description, ...(examples ? { examples } : {}) });
const StringMap = (description: string) =>
  Type.Object({}, { additionalProperties: Type.String(), description });
/** Written but empty (`license:`): the same as leaving the key out. */
const orNull = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const When = Type.Array(Type.String(), {
  minItems: 1,
  description: "Declared flag names; the component is active when any of them is true.",
  examples: [["burp"]],
});
const Seconds = (description: string) => Type.Number({ exclusiveMinimum: 0, description });

// --- MCP servers -----------------------------------------------------------------------------------

const serverCommon = {
  init_timeout: Type.Optional(Seconds("Seconds to wait for the server to start.")),
  timeout: Type.Optional(Seconds("Seconds to wait for one request.")),
  when: Type.Optional(When),
};

export const McpStdioServerSchema = Type.Object(
  {
    command: nonEmpty("The program to start (stdio transport).", ["npx", "uv"]),
    args: Type.Optional(StringList("Its arguments.")),
    env: Type.Optional(StringMap("Environment variables; placeholders are left for the runtime to fill in.")),
    cwd: Type.Optional(nonEmpty("Working directory.")),
    ...serverCommon,
  },
  { additionalProperties: false, title: "stdio MCP server" },
);

export const McpHeaderObjectSchema = Type.Object(
  { value: Type.String(), optional: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
const Header = Type.Union([Type.String(), McpHeaderObjectSchema]);

export const McpAuthSchema = Type.Object(
  {
    type: Type.Literal("oauth"),
    scope: Type.Optional(nonEmpty("OAuth scope to ask for.")),
    client_name: Type.Optional(nonEmpty("Client name shown to the user.")),
  },
  { additionalProperties: false, description: "Only with url." },
);

export const McpHttpServerSchema = Type.Object(
  {
    url: Type.String({
      // An absolute http(s) URL, or one with a ${VAR} placeholder the runtime resolves.
      pattern: "^(?:[Hh][Tt][Tt][Pp][Ss]?://\\S+|.*\\$\\{.*)$",
      description: "The server's URL (streamable HTTP transport).",
      examples: ["https://mcp.example.com/v1/mcp"],
    }),
    headers: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: Header,
          description: "Request headers: a string, or {value, optional} for one the runtime may leave out.",
        },
      ),
    ),
    auth: Type.Optional(McpAuthSchema),
    ...serverCommon,
  },
  { additionalProperties: false, title: "HTTP MCP server" },
);

export const McpSchema = Type.Object(
  {
    files: Type.Optional(
      Type.Array(BundlePath('An MCP JSON file ({"mcpServers": {…}}).'), {
        description: "MCP JSON files to read, in order; an earlier file wins a name.",
      }),
    ),
    servers: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: Type.Union([McpStdioServerSchema, McpHttpServerSchema]),
          description: "Inline servers by name; they win over a file's server of the same name.",
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      "Present: exactly these files and servers; {} disables MCP. Omitted: .mcp.json, then mcp.json, at the root.",
  },
);

// --- flags and workers -----------------------------------------------------------------------------

export const FlagSchema = Type.Object(
  {
    description: nonEmpty("What switching the flag on does."),
    default: Type.Optional(Type.Boolean({ description: "Value when no runtime overrides it (false)." })),
  },
  { additionalProperties: false },
);

const FlagsSchema = Type.Object(
  {},
  {
    additionalProperties: FlagSchema,
    maxProperties: MAX_FLAGS,
    propertyNames: { pattern: FLAG_NAME_PATTERN.source },
    description: `Up to ${MAX_FLAGS} boolean switches a runtime can override.`,
  },
);

export const InProcessWorkerSchema = Type.Object(
  {
    path: Type.String({
      pattern: `${PATH_START}${PATH_CHARACTER}*\\.py$`,
      description: "A Python file in the bundle, run in the runtime's process.",
      examples: ["workers/journal.py"],
    }),
    when: Type.Optional(When),
  },
  { additionalProperties: false, title: "in-process worker" },
);

export const SubprocessWorkerSchema = Type.Object(
  {
    command: nonEmpty("The program to run as a subprocess."),
    args: Type.Optional(StringList("Its arguments.")),
    env: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: Type.String(),
          propertyNames: { not: { enum: [...FORBIDDEN_WORKER_ENV] } },
          description: `Environment variables (not ${FORBIDDEN_WORKER_ENV.join(", ")}: the runtime sets them).`,
        },
      ),
    ),
    when: Type.Optional(When),
  },
  { additionalProperties: false, title: "subprocess worker" },
);

const WorkersSchema = Type.Object(
  {},
  {
    additionalProperties: Type.Union([InProcessWorkerSchema, SubprocessWorkerSchema]),
    propertyNames: { pattern: WORKER_NAME_PATTERN.source },
    description: "Background workers by name: exactly one of path (in-process) or command (subprocess).",
  },
);

// --- secrets -------------------------------------------------------------------------------------

export const SecretDeclarationSchema = Type.Object(
  {
    description: nonEmpty("What the secret is (shown to whoever sets it)."),
    required: Type.Optional(
      Type.Boolean({ description: "Whether the capability cannot run without it (true)." }),
    ),
  },
  { additionalProperties: false },
);

const SecretsSchema = Type.Object(
  {},
  {
    additionalProperties: SecretDeclarationSchema,
    maxProperties: MAX_SECRETS,
    propertyNames: { pattern: SECRET_NAME_PATTERN.source },
    description:
      "Secrets the capability needs at run time, by name; MCP servers' and workers' env values reference them as $" +
      "{NAME}.",
  },
);

// --- dependencies, checks, catalog metadata --------------------------------------------------------

export const DependenciesSchema = Type.Object(
  {
    python: Type.Optional(NonEmptyStringList("Python requirements.", [["httpx>=0.27"]])),
    packages: Type.Optional(NonEmptyStringList("System packages.", [["jq"]])),
    scripts: Type.Optional(Type.Array(BundlePath("A setup script in the bundle."))),
  },
  { additionalProperties: false, description: "What the runtime must install before use." },
);

export const CheckSchema = Type.Object(
  { name: nonEmpty("The check's name."), command: nonEmpty("A shell command; exit 0 means healthy.") },
  { additionalProperties: false },
);

export const AuthorObjectSchema = Type.Object(
  {
    name: nonEmpty("Author name (shown as author_name)."),
    url: Type.Optional(nonEmpty("Author URL.")),
    email: Type.Optional(nonEmpty("Author e-mail.")),
  },
  { additionalProperties: false },
);

const ComponentPaths = (kind: string, directory: string | null) =>
  Type.Array(BundlePath("A file or directory in the bundle."), {
    description:
      directory === null
        ? `${kind[0].toUpperCase()}${kind.slice(1)} files.`
        : `Omitted: ${directory}/ is searched. A list: ${directory}/ plus these paths. []: no ${kind}s.`,
  });

// --- the table -------------------------------------------------------------------------------------

export interface ManifestField {
  schema: TSchema;
  /** `errors[].type` of a problem with this field. */
  errorType: string;
  required?: boolean;
  /** `key:` with no value is the same as leaving it out. */
  nullable?: boolean;
}

/** Every top-level key of capability.yaml, in the order of SPEC §4.2. Anything else is a warning. */
export const MANIFEST_FIELDS = {
  schema: {
    schema: Type.Integer({ const: 1, description: "The manifest format; always 1." }),
    errorType: "manifest.schema",
    required: true,
  },
  name: {
    schema: Type.String({
      pattern: NAME_PATTERN.source,
      maxLength: MAX_NAME_LENGTH,
      description: "The capability's name within its organization.",
      examples: ["web-recon"],
    }),
    errorType: "manifest.name",
    required: true,
  },
  version: {
    schema: Type.String({
      pattern: RELEASE_VERSION_PATTERN.source,
      maxLength: MAX_VERSION_LENGTH,
      description:
        'Semantic version MAJOR.MINOR.PATCH with an optional prerelease; quote it ("1.0.0", "1.1.0-beta.1").',
      examples: ["1.0.0", "1.1.0-beta.1"],
    }),
    errorType: "manifest.version",
    required: true,
  },
  description: {
    schema: Type.String({
      pattern: "\\S",
      maxLength: MAX_DESCRIPTION_LENGTH,
      description: "What the capability adds to an agent.",
    }),
    errorType: "manifest.description",
    required: true,
  },
  agents: { schema: ComponentPaths("agent", "agents"), errorType: "manifest.paths" },
  tools: { schema: ComponentPaths("tool", "tools"), errorType: "manifest.paths" },
  skills: { schema: ComponentPaths("skill", "skills"), errorType: "manifest.paths" },
  hooks: { schema: ComponentPaths("hook", null), errorType: "manifest.paths", nullable: true },
  policies: { schema: ComponentPaths("policy", null), errorType: "manifest.paths", nullable: true },
  mcp: { schema: McpSchema, errorType: "manifest.mcp" },
  flags: { schema: FlagsSchema, errorType: "manifest.flags" },
  workers: { schema: WorkersSchema, errorType: "manifest.workers", nullable: true },
  dependencies: { schema: DependenciesSchema, errorType: "manifest.dependencies", nullable: true },
  secrets: { schema: SecretsSchema, errorType: "manifest.secrets", nullable: true },
  checks: {
    schema: Type.Array(CheckSchema, { description: "Health checks a runtime may run." }),
    errorType: "manifest.checks",
    nullable: true,
  },
  author: {
    schema: Type.Union([nonEmpty("Author name."), AuthorObjectSchema]),
    errorType: "manifest.author",
    nullable: true,
  },
  license: {
    schema: nonEmpty("SPDX license identifier.", ["MIT"]),
    errorType: "manifest.license",
    nullable: true,
  },
  repository: {
    schema: nonEmpty("Source repository URL."),
    errorType: "manifest.repository",
    nullable: true,
  },
  keywords: {
    schema: Type.Array(Type.String({ pattern: "\\S", maxLength: MAX_KEYWORD_LENGTH }), {
      maxItems: MAX_KEYWORDS,
      description: "Search keywords.",
      examples: [["recon", "web"]],
    }),
    errorType: "manifest.keywords",
    nullable: true,
  },
  produces: {
    schema: Type.Object(
      {},
      { additionalProperties: true, description: "Free-form; stored and returned as is." },
    ),
    errorType: "manifest.produces",
    nullable: true,
  },
  requires: {
    schema: Type.Object(
      {},
      {
        additionalProperties: Type.String({ description: 'A semver range, e.g. "^1.2.0"' }),
        maxProperties: MAX_REQUIRES,
        description:
          "Capabilities that must be bound on the same runtime: `name` or `owner/name` → semver range.",
        examples: [{ "web-fetch": "^1.2.0" }],
      },
    ),
    errorType: "manifest.requires",
    nullable: true,
  },
} satisfies Record<string, ManifestField>;

export type ManifestKey = keyof typeof MANIFEST_FIELDS;

/** The top-level keys capability.yaml knows. */
export const MANIFEST_KEYS: ReadonlySet<string> = new Set(Object.keys(MANIFEST_FIELDS));

/** The keys a JSON-Schema object declares (its `properties`). */
export function keysOf(schema: TSchema): ReadonlySet<string> {
  return new Set(Object.keys((schema as { properties?: object }).properties ?? {}));
}

/**
 * The JSON Schema of capability.yaml (draft-07, which editors' YAML support reads best). Unknown
 * top-level keys stay allowed, as in the validator, which only warns about them.
 */
export function capabilityJsonSchema(): Record<string, unknown> {
  const fields = Object.entries(MANIFEST_FIELDS) as [string, ManifestField][];
  const properties = Object.fromEntries(
    fields.map(([key, field]) => [key, field.nullable ? orNull(field.schema) : field.schema]),
  );
  const schema = Type.Object(properties, {
    additionalProperties: true,
    title: "capability.yaml",
    description: "A Capstan capability manifest (the capability format reference documents every field).",
  });
  const required = fields.filter(([, field]) => field.required).map(([key]) => key);
  // Plain JSON, without TypeBox's own symbols.
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    ...JSON.parse(JSON.stringify(schema)),
    required,
  };
}
