// The tenancy and people commands (org, workspace, project, member, service-account, key, admin
// user), the profile commands (login --token-stdin, logout, whoami's sources, --version) and what
// every command shares (--json failures, --profile checks, CLI wording of server errors), run
// in-process against the real app over HTTP.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type CliRun, type FakeIoOptions, runCli } from "./helpers/cli-harness.js";
import { type LiveApp, startLiveApp } from "./helpers/live-app.js";

describe("capstan tenancy, people and profile commands", () => {
  let live: LiveApp;

  const cli = (argv: string[], options: FakeIoOptions = {}): Promise<CliRun> =>
    runCli(argv, { cwd: live.scratch, ...options, env: { ...live.env, ...options.env } });

  async function ok<T = Record<string, unknown>>(argv: string[], options: FakeIoOptions = {}): Promise<T> {
    const run = await cli([...argv, "--json"], options);
    assert.equal(run.code, 0, `capstan ${argv.join(" ")}: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  }

  const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

  before(async () => {
    live = await startLiveApp();
  });
  after(() => live.close());

  describe("org, workspace and project", () => {
    test("org create makes the caller owner; org list shows it under items", async () => {
      const key = unique("acme");
      const created = await ok<{ key: string; role: string }>(["org", "create", key, "--name", "Acme"]);
      assert.deepEqual([created.key, created.role], [key, "owner"]);
      const { items } = await ok<{ items: { key: string; role: string }[] }>(["org", "list"]);
      assert.ok(items.some((org) => org.key === key && org.role === "owner"));
      const table = await cli(["org", "list"]);
      assert.match(table.stdout, new RegExp(`^${key}\\s+Acme\\s+owner`, "m"));
      assert.match(table.stdout, /^default\s.*\(current\)$/m);
    });

    test("workspace create and list, project create and list in it", async () => {
      const ws = unique("ws");
      await ok(["workspace", "create", ws]);
      const { items: workspaces } = await ok<{ items: { key: string }[] }>(["workspace", "list"]);
      assert.ok(workspaces.some((item) => item.key === ws));
      const project = unique("proj");
      await ok(["project", "create", project, "--workspace", ws]);
      const { items: projects } = await ok<{ items: { key: string; is_default: boolean }[] }>([
        "project",
        "list",
        "--workspace",
        ws,
      ]);
      assert.deepEqual(projects.map((item) => item.key).sort(), ["default", project].sort());
    });
  });

  describe("members", () => {
    test("add, role and remove, by email; remove needs --yes without a terminal", async () => {
      const email = `${unique("bob")}@example.com`;
      const added = await ok<{ email: string; role: string }>(["member", "add", email, "--role", "reader"]);
      assert.deepEqual([added.email, added.role], [email, "reader"]);
      const changed = await ok<{ role: string }>(["member", "role", email, "contributor"]);
      assert.equal(changed.role, "contributor");
      const { items } = await ok<{ items: { email: string; role: string }[] }>(["member", "list"]);
      assert.equal(items.find((item) => item.email === email)?.role, "contributor");

      const unconfirmed = await cli(["member", "remove", email]);
      assert.equal(unconfirmed.code, 2);
      assert.match(unconfirmed.stderr, /not removing .* without confirmation/);
      assert.match(unconfirmed.stderr, /--yes/);
      const still = await ok<{ items: { email: string }[] }>(["member", "list"]);
      assert.ok(
        still.items.some((item) => item.email === email),
        "nothing removed without --yes",
      );

      await ok(["member", "remove", email, "--yes"]);
      const after = await ok<{ items: { email: string }[] }>(["member", "list"]);
      assert.ok(!after.items.some((item) => item.email === email));
    });

    test("a terminal is asked: anything but yes removes nothing", async () => {
      const email = `${unique("carol")}@example.com`;
      await ok(["member", "add", email]);
      const declined = await cli(["member", "remove", email], {
        stdinTty: true,
        stderrTty: true,
        input: "n\n",
      });
      assert.equal(declined.code, 1);
      assert.match(declined.stderr, /Remove .* from default\? \[y\/N\]/);
      const accepted = await cli(["member", "remove", email], {
        stdinTty: true,
        stderrTty: true,
        input: "y\n",
      });
      assert.equal(accepted.code, 0, accepted.stderr);
    });

    test("a role outside the list is a usage error naming the allowed roles, before any request", async () => {
      const run = await cli(["member", "add", "x@example.com", "--role", "admin"]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /--role must be one of owner, contributor, reader/);
      const role = await cli(["member", "role", "x@example.com", "boss"]);
      assert.equal(role.code, 2);
      assert.match(role.stderr, /role must be one of owner, contributor, reader/);
    });
  });

  describe("service accounts and keys", () => {
    test("a service account gets a key printed once, which works and is listed, then revoked", async () => {
      const name = unique("ci-bot");
      const account = await ok<{ user_id: string; role: string }>([
        "service-account",
        "create",
        name,
        "--role",
        "reader",
      ]);
      const { items: accounts } = await ok<{ items: { user_id: string }[] }>(["service-account", "list"]);
      assert.ok(accounts.some((item) => item.user_id === account.user_id));

      const created = await cli(["key", "create", "deploy", "--service-account", name]);
      assert.equal(created.code, 0, created.stderr);
      const secret = created.stdout.trim();
      assert.match(secret, /^cst_[a-z2-7]{12}_[A-Za-z0-9]{32,128}$/, "only the key on stdout");
      assert.match(created.stderr, /shown only once/);
      assert.ok(!created.stderr.includes(secret), "the secret is printed once");

      const whoami = await ok<{ user: { id: string } }>(["whoami"], { env: { CAPSTAN_TOKEN: secret } });
      assert.equal(whoami.user.id, account.user_id);

      const { items: keys } = await ok<{ items: { id: string; prefix: string; name: string }[] }>([
        "key",
        "list",
        "--service-account",
        account.user_id,
      ]);
      assert.deepEqual(
        keys.map((key) => key.name),
        ["deploy"],
      );
      assert.ok(!JSON.stringify(keys).includes(secret.split("_")[2]), "listings carry no secret");

      const refused = await cli(["key", "revoke", keys[0].prefix, "--service-account", name]);
      assert.equal(refused.code, 2);
      await ok(["key", "revoke", keys[0].prefix, "--service-account", name, "--yes"]);
      const rejected = await cli(["whoami"], { env: { CAPSTAN_TOKEN: secret } });
      assert.equal(rejected.code, 1);
      assert.match(rejected.stderr, /^authentication_error: /);
    });

    test("your own keys: create --read-only, list, revoke by id", async () => {
      const created = await ok<{ id: string; key: string; read_only: boolean }>([
        "key",
        "create",
        "laptop",
        "--read-only",
        "--expires-in-days",
        "30",
      ]);
      assert.equal(created.read_only, true);
      const { items } = await ok<{ items: { id: string }[] }>(["key", "list"]);
      assert.ok(items.some((key) => key.id === created.id));
      await ok(["key", "revoke", created.id, "--yes"]);
      const after = await ok<{ items: { id: string }[] }>(["key", "list"]);
      assert.ok(!after.items.some((key) => key.id === created.id));
    });

    test("--expires-in-days must be a positive integer", async () => {
      const run = await cli(["key", "create", "x", "--expires-in-days", "soon"]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /--expires-in-days must be a positive integer/);
    });
  });

  describe("admin user", () => {
    test("create a user, give them a key, and the key is theirs", async () => {
      const email = `${unique("dana")}@example.com`;
      const user = await ok<{ id: string; email: string }>([
        "admin",
        "user",
        "create",
        email,
        "--name",
        "Dana",
      ]);
      const { items } = await ok<{ items: { id: string }[] }>(["admin", "user", "list"]);
      assert.ok(items.some((item) => item.id === user.id));
      const minted = await cli(["admin", "user", "key", email, "--name", "first"]);
      assert.equal(minted.code, 0, minted.stderr);
      const me = await ok<{ user: { email: string } }>(["whoami"], {
        env: { CAPSTAN_TOKEN: minted.stdout.trim(), CAPSTAN_ORG: undefined, CAPSTAN_WORKSPACE: undefined },
      });
      assert.equal(me.user.email, email);
    });

    test("'capstan admin' and 'capstan admin user' list their commands; the overview has them", async () => {
      const group = await cli(["admin", "user", "--help"]);
      assert.equal(group.code, 0);
      assert.match(group.stdout, /Usage: capstan admin user <command>/);
      assert.match(group.stdout, /^ {2}key USER/m);
      const overview = await cli(["--help"]);
      for (const command of [
        "admin user list",
        "org create KEY",
        "member remove MEMBER",
        "key revoke KEY",
        "service-account create NAME",
        "workspace list",
        "project create KEY",
        "logout",
      ]) {
        assert.ok(overview.stdout.includes(`  ${command}`), `overview lists ${command}`);
      }
    });
  });

  describe("profiles", () => {
    test("login --token-stdin reads the key from stdin; logout forgets the profile", async () => {
      const configFile = path.join(live.scratch, "stdin", "config.json");
      const env = { CAPSTAN_CONFIG: configFile };
      const login = await runCli(["login", "--url", live.url, "--token-stdin"], {
        env,
        input: `${live.t.adminKey}\n`,
      });
      assert.equal(login.code, 0, login.stderr);
      const saved = JSON.parse(await readFile(configFile, "utf8"));
      assert.equal(saved.profiles.default.token, live.t.adminKey);
      assert.equal((await runCli(["whoami"], { env })).code, 0);

      const logout = await runCli(["logout"], { env });
      assert.equal(logout.code, 0, logout.stderr);
      assert.deepEqual(JSON.parse(await readFile(configFile, "utf8")).profiles, {});
      const after = await runCli(["whoami"], { env });
      assert.equal(after.code, 2);
      assert.match(after.stderr, /not logged in/);
    });

    test("login says when an environment variable overrides what it saved", async () => {
      const configFile = path.join(live.scratch, "override", "config.json");
      const other = await ok<{ key: string }>(["key", "create", "other"]);
      const run = await runCli(["login", "--url", live.url, "--token", other.key], {
        env: { CAPSTAN_CONFIG: configFile, CAPSTAN_TOKEN: live.t.adminKey },
      });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /CAPSTAN_TOKEN is set and overrides the token saved in profile "default"/);
      const quiet = await runCli(["login", "--url", live.url, "--token", other.key], {
        env: { CAPSTAN_CONFIG: configFile },
      });
      assert.doesNotMatch(quiet.stderr, /overrides/);
    });

    test("whoami says where each setting came from", async () => {
      const configFile = path.join(live.scratch, "sources", "config.json");
      const login = await runCli(
        ["login", "--url", live.url, "--token", live.t.adminKey, "--org", "default", "--profile", "work"],
        {
          env: { CAPSTAN_CONFIG: configFile },
        },
      );
      assert.equal(login.code, 0, login.stderr);
      const run = await runCli(["whoami", "--json"], {
        env: { CAPSTAN_CONFIG: configFile, CAPSTAN_ORG: "default" },
      });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout).sources, {
        profile: "config file (current_profile)",
        url: "profile work",
        token: "profile work",
        org: "env CAPSTAN_ORG",
        workspace: "profile work",
      });
      const human = await runCli(["whoami", "--profile", "work"], { env: { CAPSTAN_CONFIG: configFile } });
      assert.match(human.stdout, /^profile: +work \(flag --profile\)$/m);
      assert.match(human.stdout, /^server: +http:\/\/127\.0\.0\.1:\d+ \(profile work\)$/m);
      assert.ok(!human.stdout.includes(live.t.adminKey), "whoami never prints the secret");
    });

    test("--profile naming no profile is a usage error saying so", async () => {
      const run = await cli(["whoami", "--profile", "nope"]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /there is no profile 'nope' \(--profile\)/);
      const fromEnv = await cli(["runtime", "list"], { env: { CAPSTAN_PROFILE: "nope" } });
      assert.equal(fromEnv.code, 2);
      assert.match(fromEnv.stderr, /there is no profile 'nope' \(\$CAPSTAN_PROFILE\)/);
      assert.equal((await cli(["logout", "--profile", "nope"])).code, 2);
    });

    test("--help lists the whole config search order", async () => {
      const run = await cli(["--help"]);
      assert.match(
        run.stdout,
        /1\. \$CAPSTAN_CONFIG.*\n\s+2\. \$XDG_CONFIG_HOME\/capstan\/config\.json.*\n\s+3\. ~\/\.config\/capstan\/config\.json/,
      );
    });
  });

  describe("--version", () => {
    test("prints the CLI's and the configured server's version", async () => {
      const { version } = JSON.parse(await readFile("package.json", "utf8"));
      const run = await cli(["--version"]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `capstan-cli ${version}\nserver ${live.url}: ${version}\n`);
    });

    test("an unreachable server is reported, and the exit code stays 0", async () => {
      const closed: Server = createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const { port } = closed.address() as { port: number };
      await new Promise((resolve) => closed.close(resolve));
      const run = await cli(["--version", "--json"], { env: { CAPSTAN_URL: `http://127.0.0.1:${port}` } });
      assert.equal(run.code, 0, run.stderr);
      const parsed = JSON.parse(run.stdout);
      assert.equal(parsed.server.reachable, false);
      assert.equal(parsed.server.version, null);
    });

    test("without a configured server, only the CLI's version", async () => {
      const run = await runCli(["--version"], {
        env: { CAPSTAN_CONFIG: path.join(live.scratch, "none.json") },
      });
      assert.equal(run.code, 0);
      assert.match(run.stdout, /^capstan-cli \S+\n$/);
    });
  });

  describe("errors speak CLI", () => {
    test("--json failures print the envelope as the only document on stdout, exit 1", async () => {
      const run = await cli(["capability", "info", "no-such-capability", "--json"]);
      assert.equal(run.code, 1);
      const envelope = JSON.parse(run.stdout);
      assert.equal(envelope.code, 404);
      assert.equal(envelope.type, "not_found_error");
      assert.equal(typeof envelope.detail, "string");
    });

    test("--json usage errors are an envelope too, exit 2", async () => {
      const run = await cli(["runtime", "delete", "default", "--json"]);
      assert.equal(run.code, 2);
      assert.deepEqual(Object.keys(JSON.parse(run.stdout)).sort(), ["code", "detail", "hint", "type"]);
      assert.equal(JSON.parse(run.stdout).type, "usage_error");
    });

    test("an org you are not a member of: not found, or you are not a member of it", async () => {
      const run = await cli(["member", "list"], { env: { CAPSTAN_ORG: unique("elsewhere") } });
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /^not_found_error: Organization '.*' not found, or you are not a member of it$/m,
      );
    });

    test("--sort must be one of the fields the server sorts by", async () => {
      const run = await cli(["capability", "list", "--sort", "size"]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /--sort must be one of name, author_name, license, created_at, updated_at/);
    });
  });
});
