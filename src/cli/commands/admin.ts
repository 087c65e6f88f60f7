// `capstan admin user list|create|key`: instance administration (SPEC §3, §16). Instance admins
// only: this is how a new person gets their first key.

import type { Config } from "../../config.js";
import { AppError } from "../../errors.js";
import type { ApiClient } from "../api-client.js";
import { apiPath } from "../api-client.js";
import type { AdminUserView, ApiKeyCreatedView } from "../api-types.js";
import { UUID } from "../choices.js";
import { CliError, UsageError } from "../cli-errors.js";
import type { CommandContext, CommandInput, CommandSpec, GroupSpec } from "../command.js";
import { KEY_CREATE_OPTIONS, keyCreateBody, printCreatedKey } from "../key-output.js";
import { formatTimestamp } from "../presenters.js";
import type { AdminUserPageView } from "../tenancy-types.js";
import { STORAGE_FLAGS } from "./serve.js";

const PAGE_SIZE = 100;

const list: CommandSpec = {
  name: "list",
  summary: "List every user of the instance, service accounts included (instance admin)",
  async run(ctx) {
    const users = await listUsers(await ctx.api());
    if (ctx.json) {
      ctx.out.data({ items: users });
      return;
    }
    ctx.out.table(
      ["EMAIL", "NAME", "ID", "KIND", "CREATED"],
      users.map((user) => [
        user.email,
        user.name,
        user.id,
        user.is_admin ? "admin" : user.service_org_id !== null ? "service account" : "user",
        formatTimestamp(user.created_at),
      ]),
    );
  },
};

const create: CommandSpec = {
  name: "create",
  summary: "Create a user (instance admin); then give them a key with 'admin user key'",
  args: ["EMAIL"],
  options: { name: { type: "string", value: "NAME", description: "Display name (required)" } },
  details: "Add them to an org with 'capstan member add EMAIL --role ROLE' (as that org's owner).",
  async run(ctx, input) {
    const [email] = input.args;
    const name = input.string("name");
    if (name === undefined) throw ctx.usageError("missing --name NAME");
    const api = await ctx.api();
    const user = (await api.post<AdminUserView>("/admin/users", { json: { email, name } })).body;
    if (ctx.json) {
      ctx.out.data(user);
      return;
    }
    ctx.out.line(`Created user ${user.email} (${user.id}).`);
    ctx.out.line(`Give them a key: capstan admin user key ${user.email}`);
  },
};

const key: CommandSpec = {
  name: "key",
  summary: "Mint an API key for a user and print its secret once (instance admin)",
  args: ["USER"],
  options: {
    name: { type: "string", value: "NAME", description: "The key's name (default: first-key)" },
    ...KEY_CREATE_OPTIONS,
  },
  details: "USER is an email or a user id. The secret goes alone to stdout; hand it over safely.",
  async run(ctx, input) {
    const api = await ctx.api();
    const user = await findUser(api, input.args[0]);
    const created = (
      await api.post<ApiKeyCreatedView>(apiPath`/admin/users/${user.id}/api-keys`, {
        json: keyCreateBody(ctx, input, input.string("name") ?? "first-key"),
      })
    ).body;
    printCreatedKey(ctx, created, user.email);
  },
};

const userGroup: GroupSpec = {
  name: "user",
  summary: "Users of the instance and their first keys",
  commands: [list, create, key],
};

const rotateSecrets: CommandSpec = {
  name: "rotate",
  summary: "Re-encrypt every workspace secret under the first key of the server's CAPSTAN_SECRETS_KEY",
  details: `Rotation: give every instance CAPSTAN_SECRETS_KEY=new:BASE64,old:BASE64 (the new key first),
restart them, run this, then drop the old key from the variable and restart again.`,
  async run(ctx) {
    const result = (
      await (await ctx.api()).post<{ key_id: string; reencrypted: number }>("/admin/secrets/rotate")
    ).body;
    if (ctx.json) ctx.out.data(result);
    else
      ctx.out.line(
        `Re-encrypted ${result.reencrypted} secret(s); every value is now under key '${result.key_id}'.`,
      );
  },
};

const secretsAdminGroup: GroupSpec = {
  name: "secrets",
  summary: "The master key of workspace secrets",
  commands: [rotateSecrets],
};

// --- backup, restore, verify: on this machine, against the data directory (as `capstan serve`) ----

const LOCAL_OPTIONS = Object.fromEntries(
  Object.entries(STORAGE_FLAGS).map(([name, flag]) => [name, flag.option]),
);

/** The server's configuration, from the same variables and flags as `capstan serve`. */
async function localConfig(ctx: CommandContext, input: CommandInput): Promise<Config> {
  const { ConfigError, loadConfig } = await import("../../config.js");
  const overrides: Record<string, string> = {};
  for (const [name, flag] of Object.entries(STORAGE_FLAGS)) {
    const value = input.string(name);
    if (value !== undefined) overrides[flag.variable] = value;
  }
  try {
    return loadConfig(ctx.io.env, overrides);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new UsageError(`invalid configuration: ${error.message}`, ctx.command);
    throw error;
  }
}

/** A refusal of the service layer (damaged backup, non-empty target, scale mode) as a CLI failure. */
async function locally<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError) throw new CliError(error.detail, error.errors ?? []);
    throw error;
  }
}

const backup: CommandSpec = {
  name: "backup",
  summary: "Write a consistent backup of the data directory into DIR, while the server keeps serving",
  options: {
    to: { type: "string", value: "DIR", description: "A new (or empty) directory for the backup" },
    ...LOCAL_OPTIONS,
  },
  details: `Runs on the server's machine, against its data directory (the same CAPSTAN_DATA_DIR, or
--data-dir, as 'capstan serve'): the database through SQLite's online backup API, every blob it
names, and manifest.json with each file's size and sha256. The secrets master key is not in it:
keep CAPSTAN_SECRETS_KEY or <DATA_DIR>/secrets.key safe separately. An instance admin can also
ask a running server for one: POST /api/v1/admin/backups. In scale mode (PostgreSQL) this refuses
and names the pg_dump procedure.`,
  async run(ctx, input) {
    const to = input.string("to");
    if (to === undefined) throw ctx.usageError("missing --to DIR");
    const config = await localConfig(ctx, input);
    const { backupDataDir } = await import("../../maintenance.js");
    const summary = await locally(() => backupDataDir(config, to));
    if (ctx.json) {
      ctx.out.data(summary);
      return;
    }
    ctx.out.line(
      `Backed up ${summary.versions} version(s) and ${summary.blob_count} blob(s) (${summary.database_bytes + summary.blob_bytes} bytes) into ${summary.dir}.`,
    );
    ctx.out.note("The secrets master key is not in the backup: keep it safe separately.");
  },
};

const restore: CommandSpec = {
  name: "restore",
  summary: "Restore a backup into a new, empty data directory (the server not running on it)",
  options: {
    from: { type: "string", value: "DIR", description: "The backup directory" },
    ...LOCAL_OPTIONS,
  },
  details: `Checks every file of the backup against its manifest first and refuses a damaged backup
or a data directory that is not empty (a secrets.key put there beforehand is allowed). Then give
the server the secrets master key the backup was made with (CAPSTAN_SECRETS_KEY, or the original
secrets.key in the data directory) and start it: it migrates an older backup on boot.`,
  async run(ctx, input) {
    const from = input.string("from");
    if (from === undefined) throw ctx.usageError("missing --from DIR");
    const config = await localConfig(ctx, input);
    const { restoreDataDir } = await import("../../maintenance.js");
    const result = await locally(() => restoreDataDir(config, from));
    for (const warning of result.warnings) ctx.out.note(`warning: ${warning}`);
    if (ctx.json) {
      ctx.out.data({
        database: result.databasePath,
        blobs: result.blobDir,
        created_at: result.manifest.created_at,
        migration: result.manifest.migration,
        versions: result.manifest.versions,
        files: result.manifest.files.length,
        warnings: result.warnings,
      });
      return;
    }
    ctx.out.line(
      `Restored the backup of ${result.manifest.created_at} (${result.manifest.versions} version(s), ${result.manifest.files.length - 1} blob(s)) into ${result.databasePath}.`,
    );
  },
};

const verify: CommandSpec = {
  name: "verify",
  summary:
    "Check a data directory (or scale-mode database): blobs, bindings, tags, audit chains; exit 1 on problems",
  options: LOCAL_OPTIONS,
  details: `Read-only; safe while the server runs. Errors: a version without its blobs, a binding or tag
pointing at a deleted or missing version, a damaged SQLite file, a broken audit chain (the instance's or
an org's; the first broken link of each is named). Warnings (exit 0): blobs nothing
names that the collector has not removed yet.`,
  async run(ctx, input) {
    const config = await localConfig(ctx, input);
    const { verifyDataDir } = await import("../../maintenance.js");
    const report = await locally(() => verifyDataDir(config));
    const errors = report.problems.filter((problem) => problem.severity === "error");
    if (ctx.json && report.ok) {
      ctx.out.data(report);
      return;
    }
    if (!ctx.json) {
      for (const problem of report.problems)
        ctx.out.line(`${problem.severity} ${problem.kind}: ${problem.detail}`);
      if (report.truncated) ctx.out.line("… more problems not listed");
    }
    if (!report.ok) {
      throw new CliError(
        `verify found ${errors.length}${report.truncated ? "+" : ""} problem(s)`,
        // Listed above already, unless the output is JSON (then they are its `errors`).
        ctx.json
          ? report.problems.map((problem) => ({
              loc: [problem.kind],
              msg: problem.detail,
              type: problem.severity,
            }))
          : [],
      );
    }
    const counted = Object.entries(report.checked)
      .map(([name, n]) => `${n} ${name.replace(/_/g, " ")}`)
      .join(", ");
    ctx.out.line(`OK: ${counted || "nothing to check"}.`);
  },
};

export const adminGroup: GroupSpec = {
  name: "admin",
  summary: "Instance administration (instance admins only)",
  commands: [backup, restore, verify],
  groups: [userGroup, secretsAdminGroup],
};

async function listUsers(api: ApiClient): Promise<AdminUserView[]> {
  const users: AdminUserView[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  do {
    const page: AdminUserPageView = (
      await api.get<AdminUserPageView>("/admin/users", { query: { limit: PAGE_SIZE, cursor } })
    ).body;
    users.push(...page.items);
    if (page.next_cursor !== null && (seen.has(page.next_cursor) || page.items.length === 0)) {
      throw new CliError("the server's user list does not advance; giving up");
    }
    cursor = page.next_cursor;
    if (cursor !== null) seen.add(cursor);
  } while (cursor !== null);
  return users;
}

async function findUser(api: ApiClient, ref: string): Promise<AdminUserView> {
  const wanted = ref.toLowerCase();
  const user = (await listUsers(api)).find((item) =>
    UUID.test(ref) ? item.id === wanted : item.email.toLowerCase() === wanted,
  );
  if (user === undefined) throw new CliError(`no user '${ref}'`, [], "See 'capstan admin user list'.");
  return user;
}
