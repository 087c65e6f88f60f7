// Workspace secrets (SPEC §11): values encrypted at rest under the master keyring, written by
// contributors, listed as metadata by readers, and read in clear text only by a runtime's own
// token (or an owner) through `GET RT/secrets`, every read audited with names only.
//
// Values never reach a log, an audit record, an error message or a cache: the service decrypts a
// value only to hand it to the one response that carries it (or to compare it with a new one).

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ConfigError } from "../config.js";
import { isUniqueViolation } from "../db/driver-errors.js";
import { listJoinedBindings } from "../db/repositories/binding-repository.js";
import { findRuntimeInWorkspace } from "../db/repositories/runtime-repository.js";
import {
  countWorkspaceSecrets,
  deleteWorkspaceSecret,
  findWorkspaceSecret,
  findWorkspaceSecretsByName,
  insertWorkspaceSecret,
  listWorkspaceSecrets,
  replaceSecretCiphertext,
  type SecretListRow,
  type SecretRow,
  secretKeyIdsInUse,
  secretsNotUnderKey,
  updateWorkspaceSecretAtVersion,
} from "../db/repositories/secret-repository.js";
import { insertSettingUnlessPresent } from "../db/repositories/settings-repository.js";
import {
  replaceWebhookSecretCiphertext,
  webhookSecretsNotUnderKey,
} from "../db/repositories/webhook-repository.js";
import type { Db } from "../db/schema.js";
import { SECRET_VALUE_MAX_BYTES } from "../domain/names.js";
import { AppError, conflict, notFound, validationIssue } from "../errors.js";
import { newId } from "../lib/ids.js";
import {
  generateSecretsKeyring,
  openSecret,
  parseSecretsKeyring,
  type SecretsKeyring,
  sealSecret,
  secretAssociatedData,
  webhookSecretAssociatedData,
} from "../lib/secret-crypto.js";
import { requireInstanceAdmin, requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import { displayName, parseJsonObject } from "./binding-views.js";
import type { Actor, RequestScope, ServiceDeps } from "./deps.js";
import type { RuntimePath } from "./runtime-path.js";
import { requireRuntimeTokenRead } from "./runtime-token-service.js";
import { type DeclaredSecrets, mappedSecretName, type SecretMapping } from "./secret-views.js";
import { inTransaction } from "./transaction.js";
import { findWorkspace } from "./workspace-service.js";

/** A workspace holds at most this many secrets: the list is one unpaged response. */
export const MAX_SECRETS_PER_WORKSPACE = 1_000;
/** The file the embedded default keeps its generated key in (SPEC §11). */
export const SECRETS_KEY_FILE = "secrets.key";
/** Rows re-encrypted per batch during a rotation. */
const ROTATION_BATCH = 100;
const CONCURRENT_ATTEMPTS = 5;

const KEY_CHECK_SETTING = "secrets_key_check:";
const KEY_CHECK_PLAINTEXT = "capstan secrets key check";
const keyCheckData = (id: string): string => `capstan/secrets-key-check/v1\u0000${id}`;

/** The key ids whose key checks these `settings` rows hold (backups record them, never keys). */
export function keyCheckIds(settings: Array<{ key: string }>): string[] {
  return settings
    .filter((row) => row.key.startsWith(KEY_CHECK_SETTING))
    .map((row) => row.key.slice(KEY_CHECK_SETTING.length));
}

/**
 * The ids of the keyring's keys that do not open the key check stored for their id in these
 * `settings` rows: the key that a server started on that database would refuse (see below).
 */
export function keysFailingKeyCheck(
  keyring: SecretsKeyring,
  settings: Array<{ key: string; value: string }>,
): string[] {
  return keyring.keys
    .filter((key) => {
      const stored = settings.find((row) => row.key === `${KEY_CHECK_SETTING}${key.id}`);
      return (
        stored !== undefined && openSecret(key, stored.value, keyCheckData(key.id)) !== KEY_CHECK_PLAINTEXT
      );
    })
    .map((key) => key.id);
}

// --- the keyring at boot -------------------------------------------------------------------------

/**
 * The master keyring, checked against the database: CAPSTAN_SECRETS_KEY, or in the embedded default
 * the key generated once into `<DATA_DIR>/secrets.key` (mode 0600). Scale mode without the variable
 * is refused (instances could not share a generated key), and so is a key that is not the one the
 * database's values were encrypted with: each key id leaves a key-check value in `settings` the
 * first time it is used, which the same id must decrypt ever after, and every key id that
 * encrypted a stored value must be in the keyring. A ConfigError names CAPSTAN_SECRETS_KEY.
 */
export async function checkSecretsKeyring(deps: ServiceDeps): Promise<SecretsKeyring> {
  const keyring = deps.config.secretsKeyring ?? loadGeneratedKeyring(deps);
  for (const key of keyring.keys) {
    const setting = `${KEY_CHECK_SETTING}${key.id}`;
    const stored = await insertSettingUnlessPresent(
      deps.db,
      setting,
      sealSecret(key, KEY_CHECK_PLAINTEXT, keyCheckData(key.id)),
    );
    if (openSecret(key, stored, keyCheckData(key.id)) !== KEY_CHECK_PLAINTEXT) {
      throw new ConfigError(
        "CAPSTAN_SECRETS_KEY",
        `key '${key.id}' is not the key with that id that this database's secrets were encrypted with (its key check does not decrypt). Give the key this database was set up with${deps.config.secretsKeyring ? "" : ` (the embedded default reads it from ${path.join(deps.config.dataDir, SECRETS_KEY_FILE)})`}.`,
      );
    }
  }
  const unknown = (await secretKeyIdsInUse(deps.db)).filter((id) => keyring.find(id) === undefined);
  if (unknown.length > 0) {
    throw new ConfigError(
      "CAPSTAN_SECRETS_KEY",
      `this database holds secrets encrypted with key id(s) ${unknown.map((id) => `'${id}'`).join(", ")}, which the keyring (${keyring.ids.join(", ")}) does not contain; list every key still in use (id:base64, comma-separated, the encrypting one first).`,
    );
  }
  return keyring;
}

function loadGeneratedKeyring(deps: ServiceDeps): SecretsKeyring {
  if (deps.dialect === "postgres") {
    throw new ConfigError(
      "CAPSTAN_SECRETS_KEY",
      "is not set. On PostgreSQL (scale mode) every instance must decrypt the same secrets, so the key cannot be generated per instance: set CAPSTAN_SECRETS_KEY to 32 random bytes in base64 (openssl rand -base64 32), the same on every instance.",
    );
  }
  const file = path.join(deps.config.dataDir, SECRETS_KEY_FILE);
  let text: string;
  try {
    mkdirSync(deps.config.dataDir, { recursive: true });
    // `wx`: of two processes starting on one data directory, one writes and both read its key.
    writeFileSync(file, `${generateSecretsKeyring()}\n`, { flag: "wx", mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(
      "CAPSTAN_SECRETS_KEY",
      `is not set, and ${file} cannot be read (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  const keyring = parseSecretsKeyring(text);
  if (typeof keyring === "string") {
    throw new ConfigError("CAPSTAN_SECRETS_KEY", `is not set, and ${file} is not a key file: ${keyring}`);
  }
  return keyring;
}

// --- the service ---------------------------------------------------------------------------------

export interface SecretPutInput {
  value: string;
  description?: string | null;
}

export interface SecretWriteResult {
  secret: SecretListRow;
  created: boolean;
}

export interface RotationResult {
  key_id: string;
  /** Values re-encrypted: workspace secrets and webhook signing secrets. */
  reencrypted: number;
}

/** The place a value is bound to (its AAD). */
const aadOf = (row: Pick<SecretRow, "org_id" | "workspace_id" | "name">): string =>
  secretAssociatedData(row.org_id, row.workspace_id, row.name);

export class SecretService {
  private keyring: Promise<SecretsKeyring> | null = null;

  constructor(private readonly deps: ServiceDeps) {}

  /** The checked keyring, loaded once (serve() checks it at boot; a test app on first use). */
  ready(): Promise<SecretsKeyring> {
    this.keyring ??= checkSecretsKeyring(this.deps).catch((error) => {
      this.keyring = null;
      throw error;
    });
    return this.keyring;
  }

  async list(actor: Actor, orgKey: string, workspaceKey: string): Promise<SecretListRow[]> {
    const { org } = await requireOrgRole(this.deps, actor, orgKey, "reader");
    const workspace = await findWorkspace(this.deps.db, org.id, workspaceKey);
    return listWorkspaceSecrets(this.deps.db, workspace.id);
  }

  /**
   * `PUT WS/secrets/{name}`: creates (version 1) or changes (version + 1) the secret. Setting the
   * value and description it already has changes nothing, so a re-run of a script does not make
   * every runtime re-sync. Concurrent writers each apply to the latest state (or retry on it).
   */
  async put(
    scope: RequestScope,
    orgKey: string,
    workspaceKey: string,
    name: string,
    input: SecretPutInput,
  ): Promise<SecretWriteResult> {
    if (Buffer.byteLength(input.value, "utf8") > SECRET_VALUE_MAX_BYTES) {
      throw validationIssue(
        ["body", "value"],
        `value must be at most ${SECRET_VALUE_MAX_BYTES} bytes of UTF-8`,
        "secret.value",
      );
    }
    const { org } = await requireOrgRole(this.deps, scope.actor, orgKey, "contributor");
    const keyring = await this.ready();
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.putOnce(scope, org.id, workspaceKey, name, input, keyring);
        if (result.changed) this.deps.changes.publish({ kind: "secrets", orgId: org.id });
        return { secret: result.secret, created: result.created };
      } catch (error) {
        if (!(error instanceof ConcurrentSecretChange) || attempt >= CONCURRENT_ATTEMPTS) throw error;
      }
    }
  }

  private async putOnce(
    scope: RequestScope,
    orgId: string,
    workspaceKey: string,
    name: string,
    input: SecretPutInput,
    keyring: SecretsKeyring,
  ): Promise<SecretWriteResult & { changed: boolean }> {
    const at = this.deps.now().toISOString();
    return inTransaction(this.deps, async (trx) => {
      const workspace = await findWorkspace(trx, orgId, workspaceKey);
      const existing = await findWorkspaceSecret(trx, workspace.id, name);
      const place = { org_id: orgId, workspace_id: workspace.id, name };
      const ciphertext = sealSecret(keyring.current, input.value, aadOf(place));
      if (!existing) {
        if ((await countWorkspaceSecrets(trx, workspace.id)) >= MAX_SECRETS_PER_WORKSPACE) {
          throw conflict(
            `Workspace '${workspaceKey}' already holds ${MAX_SECRETS_PER_WORKSPACE} secrets, the most it may`,
          );
        }
        const row: SecretRow = {
          id: newId(),
          ...place,
          description: input.description ?? null,
          version: 1,
          key_id: keyring.current.id,
          ciphertext,
          created_at: at,
          updated_at: at,
          updated_by: scope.actor.userId,
        };
        try {
          await insertWorkspaceSecret(trx, row);
        } catch (error) {
          // Another writer created it first: plan again on its row.
          if (isUniqueViolation(error)) throw new ConcurrentSecretChange();
          throw error;
        }
        await this.audit(trx, scope, orgId, "secret.created", row, at);
        return { secret: await this.presentOne(trx, workspace.id, name), created: true, changed: true };
      }
      const description = input.description === undefined ? existing.description : input.description;
      const current = this.open(keyring, existing);
      if (current === input.value && description === existing.description) {
        return { secret: await this.presentOne(trx, workspace.id, name), created: false, changed: false };
      }
      const changed = await updateWorkspaceSecretAtVersion(trx, existing.id, existing.version, {
        description,
        version: existing.version + 1,
        key_id: keyring.current.id,
        ciphertext,
        updated_at: at,
        updated_by: scope.actor.userId,
      });
      if (!changed) throw new ConcurrentSecretChange();
      await this.audit(
        trx,
        scope,
        orgId,
        "secret.updated",
        { ...existing, version: existing.version + 1 },
        at,
      );
      return { secret: await this.presentOne(trx, workspace.id, name), created: false, changed: true };
    });
  }

  async remove(scope: RequestScope, orgKey: string, workspaceKey: string, name: string): Promise<void> {
    const { org } = await requireOrgRole(this.deps, scope.actor, orgKey, "contributor");
    const at = this.deps.now().toISOString();
    await inTransaction(this.deps, async (trx) => {
      const workspace = await findWorkspace(trx, org.id, workspaceKey);
      const existing = await findWorkspaceSecret(trx, workspace.id, name);
      if (!existing) throw notFound(`Secret '${name}'`);
      await deleteWorkspaceSecret(trx, existing.id);
      await this.audit(trx, scope, org.id, "secret.deleted", existing, at);
    });
    this.deps.changes.publish({ kind: "secrets", orgId: org.id });
  }

  /**
   * `GET RT/secrets`: the values of the enabled bindings' mapped secrets, by capability. A runtime
   * token reads its own runtime's if whoever created it is an owner now (a contributor can bind
   * and mint tokens, so otherwise a contributor could read every value); otherwise only an owner
   * of the org may. Audited every time.
   */
  async readForRuntime(
    scope: RequestScope,
    path: RuntimePath,
  ): Promise<{ values: Record<string, Record<string, string>> }> {
    const { actor } = scope;
    let orgId: string;
    if (actor.runtimeId !== null) {
      orgId = (await requireRuntimeTokenRead(this.deps, actor, { runtime: path }, "owner")).orgId;
    } else {
      orgId = (await requireOrgRole(this.deps, actor, path.org, "owner")).org.id;
    }
    const runtime = await findRuntimeInWorkspace(this.deps.db, orgId, path.workspace, path.runtimeId);
    if (!runtime) throw notFound("Runtime");
    const workspace = await findWorkspace(this.deps.db, orgId, path.workspace);
    const keyring = await this.ready();
    const rows = (await listJoinedBindings(this.deps.db, runtime.id)).filter((row) => row.enabled === 1);
    const wanted = new Map<string, Record<string, string>>();
    for (const row of rows) {
      const declared = parseJsonObject<DeclaredSecrets>(row.declared_secrets);
      const mapping = parseJsonObject<SecretMapping>(row.secrets);
      const names: Record<string, string> = {};
      for (const name of Object.keys(declared).sort()) names[name] = mappedSecretName(mapping, name);
      if (Object.keys(names).length > 0) {
        const own = row.capability_org_id === row.runtime_org_id;
        wanted.set(displayName(row.capability_name, row.owner_key, own), names);
      }
    }
    const secretNames = [...new Set([...wanted.values()].flatMap((names) => Object.values(names)))];
    const stored = new Map(
      (await findWorkspaceSecretsByName(this.deps.db, workspace.id, secretNames)).map((row) => [
        row.name,
        row,
      ]),
    );
    const values: Record<string, Record<string, string>> = {};
    const delivered: Record<string, Record<string, string>> = {};
    for (const capability of [...wanted.keys()].sort()) {
      values[capability] = {};
      delivered[capability] = {};
      for (const [name, secret] of Object.entries(wanted.get(capability) ?? {})) {
        const row = stored.get(secret);
        if (!row) continue;
        values[capability][name] = this.open(keyring, row);
        delivered[capability][name] = secret;
      }
    }
    const at = this.deps.now().toISOString();
    await appendAudit(
      this.deps.db,
      scope,
      {
        orgId,
        action: "secret.read",
        targetType: "runtime",
        targetId: runtime.id,
        // Names only: which declared name of which capability read which workspace secret.
        data: { runtime_id: runtime.id, secrets: delivered },
      },
      at,
    );
    return { values };
  }

  /**
   * Re-encrypts, in place, every value not yet under the keyring's first key (instance admin):
   * workspace secrets, then webhook signing secrets. Each
   * row is replaced only if it still holds what was read, so a concurrent PUT is never undone.
   */
  async rotate(scope: RequestScope): Promise<RotationResult> {
    await requireInstanceAdmin(this.deps, scope.actor);
    const keyring = await this.ready();
    const target = keyring.current;
    let reencrypted = 0;
    let after = "";
    for (;;) {
      const batch = await secretsNotUnderKey(this.deps.db, target.id, after, ROTATION_BATCH);
      if (batch.length === 0) break;
      for (const row of batch) {
        const value = this.open(keyring, row);
        const sealed = sealSecret(target, value, aadOf(row));
        if (await replaceSecretCiphertext(this.deps.db, row.id, row.ciphertext, target.id, sealed))
          reencrypted++;
      }
      after = batch[batch.length - 1].id;
    }
    // Webhook signing secrets are sealed under the same keyring (bound to their org and webhook).
    let webhookSecrets = 0;
    after = "";
    for (;;) {
      const batch = await webhookSecretsNotUnderKey(this.deps.db, target.id, after, ROTATION_BATCH);
      if (batch.length === 0) break;
      for (const row of batch) {
        const aad = webhookSecretAssociatedData(row.org_id, row.id);
        const key = keyring.find(row.secret_key_id);
        const value = key ? openSecret(key, row.secret_ciphertext, aad) : null;
        if (value === null) {
          throw new AppError("server_error", "A stored secret could not be decrypted", undefined, {
            cause: new Error(
              `webhook ${row.id}'s signing secret does not decrypt under key '${row.secret_key_id}'`,
            ),
          });
        }
        const sealed = sealSecret(target, value, aad);
        if (
          await replaceWebhookSecretCiphertext(this.deps.db, row.id, row.secret_ciphertext, target.id, sealed)
        )
          webhookSecrets++;
      }
      after = batch[batch.length - 1].id;
    }
    reencrypted += webhookSecrets;
    await appendAudit(
      this.deps.db,
      scope,
      {
        orgId: null,
        action: "secret.key_rotated",
        targetType: "instance",
        targetId: null,
        data: { key_id: target.id, reencrypted, webhook_secrets: webhookSecrets },
      },
      this.deps.now().toISOString(),
    );
    return { key_id: target.id, reencrypted };
  }

  private open(keyring: SecretsKeyring, row: SecretRow): string {
    const key = keyring.find(row.key_id);
    const value = key ? openSecret(key, row.ciphertext, aadOf(row)) : null;
    // Never garbage: a value that does not authenticate is an error, named without its content.
    if (value === null) {
      throw new AppError("server_error", "A stored secret could not be decrypted", undefined, {
        cause: new Error(`secret ${row.id} does not decrypt under key '${row.key_id}'`),
      });
    }
    return value;
  }

  private async presentOne(db: Db, workspaceId: string, name: string): Promise<SecretListRow> {
    const [row] = await listWorkspaceSecrets(db, workspaceId, name);
    if (!row) throw notFound(`Secret '${name}'`);
    return row;
  }

  private audit(
    trx: Db,
    scope: RequestScope,
    orgId: string,
    action: string,
    row: Pick<SecretRow, "id" | "name" | "workspace_id" | "version">,
    at: string,
  ): Promise<void> {
    return appendAudit(
      trx,
      scope,
      {
        orgId,
        action,
        targetType: "secret",
        targetId: row.id,
        data: { name: row.name, workspace_id: row.workspace_id, version: row.version },
      },
      at,
    );
  }
}

class ConcurrentSecretChange extends AppError {
  constructor() {
    super("conflict_error", "The secret was changed concurrently; try again");
  }
}
