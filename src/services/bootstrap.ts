// First start against an empty database (SPEC §1): admin (the first instance admin), org `default`, workspace `main`, project
// `default`, runtime `default`, and the admin's API key. Never again once a user exists.
import { insertApiKey, isUnrevokedKeyHash, newApiKeyRow } from "../db/repositories/api-key-repository.js";
import { insertMembership } from "../db/repositories/member-repository.js";
import { insertOrg } from "../db/repositories/org-repository.js";
import { insertRuntime } from "../db/repositories/runtime-repository.js";
import { anyUserExists, insertUser } from "../db/repositories/user-repository.js";
import { insertWorkspaceWithDefaultProject } from "../db/repositories/workspace-repository.js";
import { generateApiKey, hashApiKey, parseApiKey } from "../lib/api-key-format.js";
import { newId } from "../lib/ids.js";
import { appendAudit } from "./audit.js";
import type { ServiceDeps } from "./deps.js";
import { inTransaction } from "./transaction.js";

export interface BootstrapResult {
  /** The plaintext key, only when it was generated here (so it must be shown once). */
  generatedKey: string | null;
  runtimeId: string;
}

export async function bootstrapIfEmpty(deps: ServiceDeps): Promise<BootstrapResult | null> {
  const { config } = deps;
  return inTransaction(deps, async (trx) => {
    if (await anyUserExists(trx)) return null;

    const at = deps.now().toISOString();
    const userId = newId();
    const orgId = newId();
    const workspaceId = newId();
    const projectId = newId();
    const runtimeId = newId();
    const provided = config.bootstrapToken;
    const key = provided
      ? { key: provided, prefix: parseApiKey(provided)!.prefix, hash: hashApiKey(provided) }
      : generateApiKey();

    await insertUser(trx, {
      id: userId,
      email: "admin@localhost",
      name: "admin",
      is_admin: 1,
      created_at: at,
    });
    await insertOrg(trx, {
      id: orgId,
      key: "default",
      name: "Default",
      description: null,
      created_at: at,
      updated_at: at,
    });
    await insertMembership(trx, orgId, userId, "owner", at);
    await insertWorkspaceWithDefaultProject(trx, orgId, {
      workspaceId,
      projectId,
      key: "main",
      name: "Main",
      isDefault: true,
      at,
    });
    await insertRuntime(trx, {
      id: runtimeId,
      org_id: orgId,
      workspace_id: workspaceId,
      project_id: projectId,
      key: "default",
      name: "Default runtime",
      description: null,
      status: "idle",
      config: JSON.stringify({ version: "v2" }),
      created_at: at,
      updated_at: at,
    });
    await insertApiKey(
      trx,
      newApiKeyRow({
        id: newId(),
        userId,
        name: "bootstrap",
        key,
        readOnly: false,
        runtimeId: null,
        orgId: null,
        expiresAt: null,
        at,
      }),
    );
    await appendAudit(
      trx,
      null,
      {
        orgId,
        action: "system.bootstrapped",
        targetType: "org",
        targetId: orgId,
        data: { runtime_id: runtimeId },
      },
      at,
    );
    return { generatedKey: provided ? null : key.key, runtimeId };
  });
}

/**
 * CAPSTAN_BOOTSTRAP_TOKEN only counts on the first start. Given to a server whose database already
 * has users it used to be ignored without a word, and a newcomer following the README (whose first
 * `npm start` had already bootstrapped with a generated key) was left with a key that did not work.
 * Quiet when the token is already a working key: then setting it again is harmless.
 */
export async function warnIfBootstrapTokenIgnored(deps: ServiceDeps, bootstrapped: boolean): Promise<void> {
  const token = deps.config.bootstrapToken;
  if (bootstrapped || !token) return;
  if (await isUnrevokedKeyHash(deps.db, hashApiKey(token))) return;
  deps.logger.warn(
    "CAPSTAN_BOOTSTRAP_TOKEN is ignored: it only applies on the first start, against an empty database, and this database already has users (it is not one of their keys). Use the API key printed on the first start (or one an admin creates for you), or start from an empty database: point CAPSTAN_DATA_DIR (or CAPSTAN_DATABASE_URL) somewhere new. Unset CAPSTAN_BOOTSTRAP_TOKEN to silence this warning.",
  );
}
