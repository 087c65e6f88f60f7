// What `capstan capability pack`/`push` put into a bundle: built-in ignore rules and .capstanignore,
// the list of what was left out, loud warnings for secret-looking files, `pack --dry-run`, `push` of
// an already packed file, and `push --public` on an existing private name. The CLI runs in-process
// against the real app listening on a port.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { packBundle } from "../../src/cli/bundle-pack.js";
import { bundleLimitsFor, readBundle } from "../../src/domain/bundle-reader.js";
import { type CliRun, runCli } from "./helpers/cli-harness.js";
import { type LiveApp, startLiveApp, writeCapability } from "./helpers/live-app.js";

const LIMITS = bundleLimitsFor(50 * 1024 * 1024);

async function bundlePaths(archive: Buffer): Promise<string[]> {
  return (await readBundle(archive, LIMITS)).files.map((file) => file.path).sort();
}

describe("capstan capability pack and push: what goes into a bundle", () => {
  let live: LiveApp;
  let scratch: string;
  const cli = (argv: string[]): Promise<CliRun> => runCli(argv, { cwd: scratch, env: live.env });

  /** A capability directory littered the way a real one gets. */
  async function litteredCapability(name: string): Promise<string> {
    const dir = await writeCapability(scratch, name, "1.0.0", {
      ".env": "API_KEY=cst_abcdefghijkl_0123456789abcdefghijklmnopqrstuv\n",
      ".env.local": "X=1\n",
      "tools/__pycache__/fetch.cpython-312.pyc": "\u0000compiled",
      "tools/stale.pyc": "\u0000compiled",
      ".DS_Store": "\u0000\u0000",
      "agents/.DS_Store": "\u0000",
      ".git/HEAD": "ref: refs/heads/main\n",
      "node_modules/left-pad/index.js": "module.exports = 1;\n",
      "notes/draft.md": "not for the bundle\n",
      "notes/keep.md": "for the bundle\n",
      ".capstanignore": "# my own rules\nnotes/*\n!notes/keep.md\n",
    });
    return dir;
  }

  before(async () => {
    live = await startLiveApp();
    scratch = live.scratch;
  });
  after(() => live.close());

  test("pack leaves out the built-in patterns and .capstanignore's, and lists what it left out", async () => {
    const dir = await litteredCapability("littered");
    const output = path.join(scratch, "littered.tar.gz");
    const run = await cli(["capability", "pack", dir, "-o", output]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await bundlePaths(await readFile(output)), [
      ".capstanignore",
      "agents/helper.md",
      "capability.yaml",
      "notes/keep.md",
    ]);
    for (const line of [
      'left out: .env (built-in ".env*")',
      'left out: .env.local (built-in ".env*")',
      'left out: .git/ (built-in ".git/")',
      'left out: node_modules/ (built-in "node_modules/")',
      'left out: tools/__pycache__/ (built-in "__pycache__/")',
      'left out: tools/stale.pyc (built-in "*.pyc")',
      'left out: .DS_Store (built-in ".DS_Store")',
      'left out: agents/.DS_Store (built-in ".DS_Store")',
      'left out: notes/draft.md (.capstanignore:2 "notes/*")',
    ]) {
      assert.ok(run.stderr.includes(line), `${line}\n--- stderr:\n${run.stderr}`);
    }
  });

  test("pack --dry-run lists the files with their sizes and what is left out, and writes nothing", async () => {
    const dir = await litteredCapability("dry");
    const before = await readdir(scratch);
    const run = await cli(["capability", "pack", dir, "--dry-run"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Would pack dry@1\.0\.0 .* 4 files/);
    assert.match(run.stdout, /\d+ B\s+capability\.yaml/);
    assert.match(run.stdout, /15 B\s+notes\/keep\.md/);
    assert.doesNotMatch(run.stdout, /\.env|draft/);
    assert.match(run.stderr, /left out: \.env /);
    assert.deepEqual(await readdir(scratch), before);

    const json = await cli(["capability", "pack", dir, "--dry-run", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const body = JSON.parse(json.stdout);
    assert.equal(body.dry_run, true);
    assert.deepEqual(
      body.files.find((file: { path: string }) => file.path === "notes/keep.md"),
      { path: "notes/keep.md", size_bytes: 15 },
    );
    assert.ok(body.excluded.some((item: { path: string }) => item.path === "node_modules/"));
    assert.deepEqual(await readdir(scratch), before);
  });

  test("a secret-looking file that is still included is warned about on stderr, also with --json", async () => {
    const dir = await writeCapability(scratch, "leaky", "1.0.0", {
      "keys/id_rsa": "not really\n",
      "tools/embedded.py": "KEY = '-----BEGIN RSA PRIVATE KEY-----\\nMIIE'\n",
      ".npmrc": "//registry.npmjs.org/:_authToken=abc\n",
    });
    for (const flags of [[], ["--json"]]) {
      const run = await cli(["capability", "pack", dir, "-o", path.join(scratch, "leaky.tar.gz"), ...flags]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /WARNING: keys\/id_rsa looks like a secret \(an SSH private key\)/);
      assert.match(
        run.stderr,
        /WARNING: tools\/embedded\.py looks like a secret \(it contains a private key\)/,
      );
      assert.match(run.stderr, /WARNING: \.npmrc looks like a secret/);
      assert.match(run.stderr, /\.capstanignore to leave it out/);
    }
  });

  test("the archive being written inside the directory is never packed into itself", async () => {
    const dir = await writeCapability(scratch, "selfish", "1.0.0");
    const first = await cli(["capability", "pack", dir, "-o", path.join(dir, "out.tar.gz"), "--json"]);
    assert.equal(first.code, 0, first.stderr);
    const second = await cli(["capability", "pack", dir, "-o", path.join(dir, "out.tar.gz"), "--json"]);
    assert.equal(JSON.parse(second.stdout).artifact_sha256, JSON.parse(first.stdout).artifact_sha256);
    // An earlier pack with the default name, from inside the directory, is left out as well.
    const other = await writeCapability(scratch, "tidy", "1.0.0");
    const inside = await runCli(["capability", "pack", ".", "--json"], { cwd: other, env: live.env });
    assert.equal(inside.code, 0, inside.stderr);
    assert.deepEqual((await readdir(other)).sort(), ["agents", "capability.yaml", "tidy-1.0.0.tar.gz"]);
    const again = await cli(["capability", "pack", other, "-o", path.join(scratch, "tidy.tar.gz"), "--json"]);
    assert.equal(JSON.parse(again.stdout).artifact_sha256, JSON.parse(inside.stdout).artifact_sha256);
  });

  test("push FILE.tar.gz publishes an already packed bundle as it is", async () => {
    const name = `packed-${randomUUID().slice(0, 6)}`;
    const dir = await writeCapability(scratch, name, "1.0.0");
    const file = path.join(scratch, `${name}.tar.gz`);
    const packed = await cli(["capability", "pack", dir, "-o", file, "--json"]);
    assert.equal(packed.code, 0, packed.stderr);
    const run = await cli(["capability", "push", file, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const body = JSON.parse(run.stdout);
    assert.equal(body.created, true);
    assert.equal(body.name, name);
    assert.equal(body.artifact_sha256, JSON.parse(packed.stdout).artifact_sha256);
  });

  test("push of a file that is not an archive says what it expects", async () => {
    const file = path.join(scratch, "notes.txt");
    await writeFile(file, "hello\n");
    const run = await cli(["capability", "push", file]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /neither a capability directory nor a packed \.tar\.gz/);
  });

  test("push --public on an existing private capability says visibility did not change, and how to change it", async () => {
    const name = `private-${randomUUID().slice(0, 6)}`;
    const first = await cli(["capability", "push", await writeCapability(scratch, name, "1.0.0")]);
    assert.equal(first.code, 0, first.stderr);
    const run = await cli(["capability", "push", await writeCapability(scratch, name, "1.1.0"), "--public"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /visibility:\s+private/);
    assert.ok(
      run.stderr.includes(`${name} stays private`) &&
        run.stderr.includes(`capstan capability visibility ${name} --public`),
      run.stderr,
    );
    const fresh = `public-${randomUUID().slice(0, 6)}`;
    const created = await cli([
      "capability",
      "push",
      await writeCapability(scratch, fresh, "1.0.0"),
      "--public",
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.doesNotMatch(created.stderr, /stays private/);
  });

  test("the server warns about the files pack would have left out when another tool packed them", async () => {
    const name = `foreign-${randomUUID().slice(0, 6)}`;
    const files = new Map<string, Buffer>([
      [
        "capability.yaml",
        Buffer.from(`schema: 1\nname: ${name}\nversion: 1.0.0\ndescription: packed elsewhere\n`),
      ],
      ["agents/helper.md", Buffer.from("---\nname: helper\n---\nHelp.\n")],
      [".env", Buffer.from("API_KEY=secret\n")],
      ["__pycache__/x.pyc", Buffer.from("\u0000")],
      ["deploy.pem", Buffer.from("x")],
    ]);
    const { archive } = await packBundle(files);
    const response = await fetch(`${live.url}/api/v1/org/default/capabilities`, {
      method: "POST",
      headers: { authorization: `Bearer ${live.t.adminKey}`, "content-type": "application/gzip" },
      body: archive,
    });
    assert.equal(response.status, 201, await response.clone().text());
    const body = (await response.json()) as { warnings: { type: string; loc: string[] }[] };
    assert.deepEqual(
      body.warnings.map((item) => [item.type, item.loc[1]]),
      [
        ["bundle.ignored_file", ".env"],
        ["bundle.ignored_file", "__pycache__/"],
        ["bundle.secret_file", "deploy.pem"],
      ],
    );
  });
});
