// `capstan secret list|set|delete` (SPEC §11) and `capstan runtime secrets`: workspace secrets and
// which of them a capability on a runtime reads. A value is read from stdin or a prompt that does
// not echo, never from an argument: arguments end up in shell histories and process listings.
import type { Static } from "typebox";
import type { Secret } from "../../contract/secrets.js";
import { SECRET_NAME_PATTERN } from "../../domain/names.js";
import { apiPath } from "../api-client.js";
import type { Binding } from "../api-types.js";
import { CliError } from "../cli-errors.js";
import { type CliIo, isInteractive } from "../cli-io.js";
import type { CommandContext, CommandSpec, GroupSpec } from "../command.js";
import { confirm, YES_OPTION } from "../confirm.js";
import { formatTimestamp, truncate } from "../presenters.js";
import { findBinding, resolveRuntime, workspacePath } from "../runtime-lookup.js";

type SecretView = Static<typeof Secret>;

const SECRET_NAME = new RegExp(SECRET_NAME_PATTERN);
/** The server's limit, plus room for a final newline that is dropped. */
const MAX_VALUE_BYTES = 65_536 + 2;

const list: CommandSpec = {
  name: "list",
  summary: "List the workspace's secrets (names and versions, never values)",
  async run(ctx) {
    const scope = await ctx.workspaceScope();
    const { items } = (await scope.api.get<{ items: SecretView[] }>(`${workspacePath(scope)}/secrets`)).body;
    if (ctx.json) {
      ctx.out.data({ items });
      return;
    }
    if (items.length === 0) {
      ctx.out.line(`No secrets in ${scope.org}/${scope.workspace}. Add one with 'capstan secret set NAME'.`);
      return;
    }
    ctx.out.table(
      ["NAME", "VERSION", "DESCRIPTION", "UPDATED", "BY"],
      items.map((item) => [
        item.name,
        String(item.version),
        truncate(item.description, 40),
        formatTimestamp(item.updated_at),
        item.updated_by ?? "-",
      ]),
    );
  },
};

const set: CommandSpec = {
  name: "set",
  summary: "Create or change a secret; the value comes from stdin or a hidden prompt",
  args: ["NAME"],
  options: {
    description: { type: "string", value: "TEXT", description: "What the secret is" },
  },
  details: `The value is never an argument. Pipe it in (one final newline is dropped):
  printf %s "$TOKEN" | capstan secret set GITHUB_TOKEN
or type it at the prompt, which does not echo.`,
  async run(ctx, input) {
    const [name] = input.args;
    if (!SECRET_NAME.test(name))
      throw ctx.usageError(`secret names match ${SECRET_NAME_PATTERN}: '${name}' does not`);
    const value = await readSecretValue(ctx.io, name);
    if (value === "") throw ctx.usageError("the value is empty: nothing was changed");
    const scope = await ctx.workspaceScope();
    const response = await scope.api.put<SecretView>(`${workspacePath(scope)}${apiPath`/secrets/${name}`}`, {
      json: { value, description: input.string("description") },
    });
    const secret = response.body;
    if (ctx.json) {
      ctx.out.data(secret);
      return;
    }
    ctx.out.line(
      response.status === 201
        ? `Created secret ${secret.name} in ${scope.org}/${scope.workspace} (version 1).`
        : `Secret ${secret.name} is at version ${secret.version}.`,
    );
  },
};

const remove: CommandSpec = {
  name: "delete",
  summary: "Delete a secret (runtimes that read it then miss it)",
  args: ["NAME"],
  options: { ...YES_OPTION },
  async run(ctx, input) {
    const [name] = input.args;
    if (!SECRET_NAME.test(name))
      throw ctx.usageError(`secret names match ${SECRET_NAME_PATTERN}: '${name}' does not`);
    const scope = await ctx.workspaceScope();
    await confirm(ctx, input, {
      question: `Delete secret ${name} of ${scope.org}/${scope.workspace}?`,
      refusal: "not deleting a secret",
    });
    await scope.api.delete(`${workspacePath(scope)}${apiPath`/secrets/${name}`}`);
    if (ctx.json) ctx.out.data({ deleted: name });
    else ctx.out.line(`Deleted secret ${name}.`);
  },
};

export const secretGroup: GroupSpec = {
  name: "secret",
  summary: "Secrets of the workspace, for the capabilities its runtimes run",
  commands: [list, set, remove],
};

/** `capstan runtime secrets RT CAP NAME=SECRET…`: which workspace secret each declared one reads. */
export const runtimeSecretsCommand: CommandSpec = {
  name: "secrets",
  summary: "Map a capability's declared secrets to workspace secrets on a runtime",
  args: ["RT", "CAP", "NAME=SECRET..."],
  details: `SECRET is a workspace secret's name, or default (read the secret of the same name).
Example: capstan runtime secrets prod tracker API_TOKEN=TRACKER_PROD_TOKEN`,
  async run(ctx, input) {
    const [, name, ...assignments] = input.args;
    const secrets = parseMappings(ctx, assignments);
    const runtime = await resolveRuntime(await ctx.workspaceScope(), input.args[0]);
    const binding = await findBinding(runtime, name);
    const updated = (
      await runtime.api.patch<Binding>(`${runtime.path}${apiPath`/capabilities/${binding.id}`}`, {
        json: { secrets },
      })
    ).body;
    if (ctx.json) {
      ctx.out.data(updated);
      return;
    }
    const mapped = Object.entries(updated.secrets)
      .map(([declared, secret]) => `${declared}=${secret}`)
      .join(", ");
    ctx.out.line(
      `Secrets of ${name} on ${runtime.label}: ${mapped === "" ? "all by their own names" : mapped}`,
    );
    if (updated.missing_secrets.length > 0) {
      ctx.out.line(
        `Missing in the workspace: ${updated.missing_secrets.join(", ")} (capstan secret set NAME).`,
      );
    }
  },
};

function parseMappings(ctx: CommandContext, assignments: string[]): Record<string, string | null> {
  const mappings: Record<string, string | null> = {};
  for (const assignment of assignments) {
    const [name, secret, ...rest] = assignment.split("=");
    const valid =
      rest.length === 0 && SECRET_NAME.test(name) && (secret === "default" || SECRET_NAME.test(secret ?? ""));
    if (!valid)
      throw ctx.usageError(
        `'${assignment}' is not NAME=SECRET (names match ${SECRET_NAME_PATTERN}, or SECRET=default)`,
      );
    mappings[name] = secret === "default" ? null : secret;
  }
  return mappings;
}

/** Reads the value: without echo on a terminal, else all of stdin (one final newline dropped). */
export async function readSecretValue(io: CliIo, name: string): Promise<string> {
  if (isInteractive(io)) return promptHidden(io, `Value of ${name} (not shown): `);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += bytes.length;
    if (size > MAX_VALUE_BYTES)
      throw new CliError("the value on stdin is longer than 65,536 bytes: nothing was changed");
    chunks.push(bytes);
  }
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

function promptHidden(io: CliIo, question: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  io.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = (error?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.stderr.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === "\r" || char === "\n" || char === "\u0004") return finish();
        if (char === "\u0003") return finish(new CliError("cancelled: nothing was changed"));
        if (char === "\u007f" || char === "\b") value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.on("data", onData);
  });
}
