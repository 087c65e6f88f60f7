// Signing from the CLI (SPEC §14, §16) against the real app on a port: `signing-key generate|
// register|list|revoke`, `capability push --sign`, `capability verify`, and `runtime sync`, which
// verifies every signature itself: through a proxy that tampers with the resolved set, or drops
// the signatures of a runtime that requires them, the sync refuses and leaves its directory alone.
import assert from "node:assert/strict";
import { readdir, readFile, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { callApi } from "../helpers/api.js";
import { bindingsUrl, runtimeUrl } from "../helpers/bindings.js";
import type { TestApp } from "../helpers/test-app.js";
import { type CliRun, type FakeIoOptions, runCli } from "./helpers/cli-harness.js";
import { type LiveApp, startLiveApp, writeCapability } from "./helpers/live-app.js";

async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[])).sort();
}

describe("signing from the CLI", () => {
  let live: LiveApp;
  let t: TestApp;
  let scratch: string;
  let env: Record<string, string>;
  let proxy: Server;
  let proxyUrl: string;
  /** Rewrites the resolved set on its way through the proxy. */
  let tamper: (body: Record<string, unknown>) => Record<string, unknown> = (body) => body;

  const cli = (argv: string[], options: FakeIoOptions = {}): Promise<CliRun> =>
    runCli(argv, { cwd: scratch, ...options, env: { ...env, ...options.env } });
  async function ok<T = Record<string, unknown>>(...argv: string[]): Promise<T> {
    const run = await cli([...argv, "--json"]);
    assert.equal(run.code, 0, `capstan ${argv.join(" ")}: ${run.stderr}${run.stdout}`);
    return JSON.parse(run.stdout) as T;
  }

  before(async () => {
    live = await startLiveApp();
    ({ t, scratch, env } = live);
    proxy = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const headers = { ...request.headers } as Record<string, string>;
      delete headers["if-none-match"];
      const upstream = await fetch(`${live.url}${request.url}`, {
        method: request.method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      let body = Buffer.from(await upstream.arrayBuffer());
      if (request.url?.endsWith("/capabilities/resolved") && upstream.status === 200) {
        body = Buffer.from(JSON.stringify(tamper(JSON.parse(body.toString("utf8")))));
      }
      response.writeHead(upstream.status, {
        "content-type": upstream.headers.get("content-type") ?? "application/json",
        ...(upstream.headers.get("etag") ? { etag: upstream.headers.get("etag") as string } : {}),
      });
      response.end(body);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => proxy.close(resolve));
    await live.close();
  });

  test("generate, register, push --sign, verify; an unsigned version does not verify", async () => {
    const keyFile = path.join(scratch, "release.key");
    const generated = await cli(["signing-key", "generate", keyFile]);
    assert.equal(generated.code, 0, generated.stderr);
    assert.match(generated.stdout, /^-----BEGIN PUBLIC KEY-----/);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    assert.match(await readFile(keyFile, "utf8"), /BEGIN PRIVATE KEY/);
    assert.equal(await readFile(`${keyFile}.pub`, "utf8"), generated.stdout);
    // A second generate does not overwrite the key.
    assert.equal((await cli(["signing-key", "generate", keyFile])).code, 1);

    const registered = await ok<{ id: string; name: string }>(
      "signing-key",
      "register",
      "release",
      `${keyFile}.pub`,
    );
    assert.equal(registered.name, "release");
    const keys = await ok<{ items: { id: string }[] }>("signing-key", "list");
    assert.deepEqual(
      keys.items.map((k) => k.id),
      [registered.id],
    );

    const pushed = await ok<{ signatures: { key_name: string }[] }>(
      "capability",
      "push",
      await writeCapability(scratch, "inked", "1.0.0"),
      "--sign",
      keyFile,
    );
    assert.deepEqual(
      pushed.signatures.map((s) => s.key_name),
      ["release"],
    );
    const verified = await ok<{ verified: boolean }>("capability", "verify", "inked@1.0.0");
    assert.equal(verified.verified, true);

    await ok("capability", "push", await writeCapability(scratch, "bare", "1.0.0"));
    const unsigned = await cli(["capability", "verify", "bare@1.0.0"]);
    assert.equal(unsigned.code, 1, unsigned.stdout);
    assert.match(unsigned.stderr, /no signature that verifies/);
  });

  test("runtime sync verifies signatures itself and refuses tampered or missing ones", async () => {
    const created = await callApi(t, "POST", "/api/v1/org/default/ws/main/runtimes", t.adminKey, {
      key: "strict-sync",
      name: "strict",
      config: { version: "v2", policy: { require_signed: true }, capabilities: [{ name: "inked" }] },
    });
    assert.equal(created.statusCode, 201, created.body);
    const dir = path.join(scratch, "sync-strict");
    const viaProxy = { env: { CAPSTAN_URL: proxyUrl } };

    const first = await cli(["runtime", "sync", "strict-sync", "--dir", dir, "--json"], viaProxy);
    assert.equal(first.code, 0, first.stderr);
    const synced = await listing(dir);
    assert.ok(synced.includes(path.join("inked", "capability.yaml")), synced.join(","));

    type Entry = { signatures: { payload: string; signatures: { sig: string }[] }[] };
    const refusals: [string, (body: Record<string, unknown>) => Record<string, unknown>, RegExp][] = [
      [
        "a payload changed after signing",
        (body) => {
          const [entry] = body.capabilities as Entry[];
          const statement = Buffer.from(entry.signatures[0].payload, "base64").toString("utf8");
          entry.signatures[0].payload = Buffer.from(
            statement.replace(/"sha256":"[0-9a-f]/, '"sha256":"0'),
          ).toString("base64");
          return body;
        },
        /refusing inked@1\.1\.0: signature 0 does not verify/,
      ],
      [
        "a signature with a flipped bit",
        (body) => {
          const [entry] = body.capabilities as Entry[];
          const sig = Buffer.from(entry.signatures[0].signatures[0].sig, "base64");
          sig[0] ^= 1;
          entry.signatures[0].signatures[0].sig = sig.toString("base64");
          return body;
        },
        /does not verify/,
      ],
      ["the trusted keys withheld", (body) => ({ ...body, trusted_keys: [] }), /no registered signing key/],
      [
        "the signatures dropped from a runtime that requires them",
        (body) => {
          for (const entry of body.capabilities as Entry[]) entry.signatures = [];
          return body;
        },
        /not signed, and this runtime's policy requires signed versions/,
      ],
    ];
    // A new version makes the sync download again, so each refusal happens before unpacking.
    await ok(
      "capability",
      "push",
      await writeCapability(scratch, "inked", "1.1.0"),
      "--sign",
      path.join(scratch, "release.key"),
    );
    const [binding] = (
      await callApi(t, "GET", bindingsUrl(JSON.parse(first.stdout).runtime_id), t.adminKey)
    ).json().items;
    const moved = await callApi(
      t,
      "PATCH",
      `${bindingsUrl(JSON.parse(first.stdout).runtime_id)}/${binding.id}`,
      t.adminKey,
      {
        version: "1.1.0",
      },
    );
    assert.equal(moved.statusCode, 200, moved.body);
    for (const [label, rewrite, message] of refusals) {
      tamper = rewrite;
      const run = await cli(["runtime", "sync", "strict-sync", "--dir", dir], viaProxy);
      assert.equal(run.code, 1, `${label}: ${run.stdout}`);
      assert.match(run.stderr, message, label);
      assert.deepEqual(await listing(dir), synced, `${label}: the directory is left as it was`);
      assert.match(await readFile(path.join(dir, "inked", "agents", "helper.md"), "utf8"), /inked 1\.0\.0/);
    }
    tamper = (body) => body;
    const last = await cli(["runtime", "sync", "strict-sync", "--dir", dir, "--json"], viaProxy);
    assert.equal(last.code, 0, last.stderr);
    assert.match(await readFile(path.join(dir, "inked", "agents", "helper.md"), "utf8"), /inked 1\.1\.0/);
    void runtimeUrl;
  });

  test("revoke from the CLI: the version counts as unsigned from then on", async () => {
    const revoked = await cli(["signing-key", "revoke", "release", "--yes"]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const detail = await callApi(t, "GET", "/api/v1/org/default/capabilities/inked/1.0.0", t.adminKey);
    assert.deepEqual(detail.json().signatures, []);
    const run = await cli(["capability", "verify", "inked@1.0.0"]);
    assert.equal(run.code, 1);
  });
});
