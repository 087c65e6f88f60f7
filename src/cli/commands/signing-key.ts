// `capstan signing-key generate|register|list|revoke` (SPEC §14, §16). Signing keys are not API
// keys: they never authenticate anything, they vouch for bundles. The private key stays on the
// machine that generated it (mode 0600); the server only ever sees the public half.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { SigningKey } from "../../contract/signing.js";
import { keyFingerprint } from "../../domain/dsse.js";
import { apiPath } from "../api-client.js";
import { UUID } from "../choices.js";
import { CliError } from "../cli-errors.js";
import type { CommandContext, CommandSpec, GroupSpec } from "../command.js";
import { confirm, YES_OPTION } from "../confirm.js";

const generate: CommandSpec = {
  name: "generate",
  summary: "Create an Ed25519 key pair: the private key in FILE (mode 0600), the public key beside it",
  args: ["FILE"],
  options: {
    force: { type: "boolean", description: "Overwrite FILE if it exists" },
  },
  details: `Writes FILE (PKCS#8 PEM, readable by you alone) and FILE.pub (SPKI PEM), and prints the
public key. Register it with 'capstan signing-key register NAME FILE.pub', then sign with
'capstan capability push DIR --sign FILE'.`,
  async run(ctx, input) {
    const file = path.resolve(ctx.io.cwd, input.args[0]);
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const privatePem = String(privateKey.export({ type: "pkcs8", format: "pem" }));
    const publicPem = String(publicKey.export({ type: "spki", format: "pem" }));
    // `wx` refuses to follow or replace an existing file: a key is never silently overwritten.
    const flag = input.boolean("force") ? "w" : "wx";
    try {
      await writeFile(file, privatePem, { mode: 0o600, flag });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") {
        throw new CliError(`${file} already exists`, [], "Pass --force to replace it.");
      }
      throw error;
    }
    await writeFile(`${file}.pub`, publicPem, { mode: 0o644, flag: "w" });
    const fingerprint = keyFingerprint(publicKey);
    if (ctx.json) {
      ctx.out.data({
        private_key_file: file,
        public_key_file: `${file}.pub`,
        public_key: publicPem,
        fingerprint,
      });
      return;
    }
    ctx.out.note(
      `Private key: ${file} (keep it secret). Public key: ${file}.pub, fingerprint ${fingerprint}`,
    );
    ctx.io.stdout.write(publicPem);
  },
};

const register: CommandSpec = {
  name: "register",
  summary: "Register a public key (PEM file, or a private key file's public half) with the org (owner)",
  args: ["NAME", "FILE"],
  async run(ctx, input) {
    const [name, file] = input.args;
    const publicPem = await publicPemOf(path.resolve(ctx.io.cwd, file));
    const { api, org } = await ctx.orgScope();
    const key = (
      await api.post<SigningKey>(apiPath`/org/${org}/signing-keys`, { json: { name, public_key: publicPem } })
    ).body;
    if (ctx.json) ctx.out.data(key);
    else
      ctx.out.line(
        `Registered signing key '${key.name}' (${key.id}, fingerprint ${key.fingerprint}) in ${org}.`,
      );
  },
};

const list: CommandSpec = {
  name: "list",
  summary: "List the org's signing keys, revoked ones included",
  async run(ctx) {
    const keys = await listKeys(ctx);
    if (ctx.json) {
      ctx.out.data({ items: keys });
      return;
    }
    ctx.out.table(
      ["ID", "NAME", "FINGERPRINT", "CREATED", "REVOKED"],
      keys.map((key) => [
        key.id,
        key.name,
        key.fingerprint.slice(0, 16),
        key.created_at,
        key.revoked_at ?? "-",
      ]),
    );
  },
};

const revoke: CommandSpec = {
  name: "revoke",
  summary: "Revoke a signing key: its signatures stop counting from now on (owner)",
  args: ["KEY"],
  options: YES_OPTION,
  details: "KEY is the key's id, name or fingerprint (as 'capstan signing-key list' shows them).",
  async run(ctx, input) {
    const ref = input.args[0];
    const keys = (await listKeys(ctx)).filter((key) => key.revoked_at === null);
    const key = UUID.test(ref)
      ? keys.find((item) => item.id === ref.toLowerCase())
      : keys.find((item) => item.name === ref || (ref.length >= 8 && item.fingerprint.startsWith(ref)));
    if (!key) throw new CliError(`no current signing key '${ref}'`, [], "See 'capstan signing-key list'.");
    await confirm(ctx, input, {
      question: `Revoke signing key '${key.name}'? Versions signed only by it count as unsigned from now on.`,
      refusal: `not revoking signing key '${key.name}'`,
    });
    const { api, org } = await ctx.orgScope();
    await api.delete(apiPath`/org/${org}/signing-keys/${key.id}`);
    if (ctx.json) ctx.out.data({ revoked: true, key });
    else ctx.out.line(`Revoked signing key '${key.name}' in ${org}.`);
  },
};

export const signingKeyGroup: GroupSpec = {
  name: "signing-key",
  summary: "Keys that sign capability bundles (not API keys)",
  commands: [generate, register, list, revoke],
};

async function listKeys(ctx: CommandContext): Promise<SigningKey[]> {
  const { api, org } = await ctx.orgScope();
  return (await api.get<{ items: SigningKey[] }>(apiPath`/org/${org}/signing-keys`)).body.items;
}

/** The public PEM in `file`; from a private key file, its public half (the secret is never sent). */
async function publicPemOf(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => {
    throw new CliError(`cannot read ${file}`);
  });
  if (!text.includes("PRIVATE KEY")) return text;
  return String(createPublicKey(readPrivateKey(text, file)).export({ type: "spki", format: "pem" }));
}

/** An Ed25519 private key from PEM text; a CliError naming the file otherwise. */
export function readPrivateKey(text: string, file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: "pem" });
  } catch {
    throw new CliError(
      `${file} is not a PEM private key`,
      [],
      "Make one with 'capstan signing-key generate FILE'.",
    );
  }
  if (key.asymmetricKeyType !== "ed25519") throw new CliError(`${file} is not an Ed25519 key`);
  return key;
}

export async function loadPrivateKey(file: string): Promise<KeyObject> {
  const text = await readFile(file, "utf8").catch(() => {
    throw new CliError(`cannot read the signing key ${file}`);
  });
  return readPrivateKey(text, file);
}
