// First start against an empty database (SPEC §1): admin (the first instance admin), org `default`, workspace `main`, project
// `default`, runtime `default`, and the admin's API key. Never again once a user exists.
import { generateApiKey, hashApiKey, parseApiKey } from "../lib/api-key-format.js";
import { newId } from "../lib/ids.js";
import { appendAudit } from "./audit.js";
import type { ServiceDeps } from "./deps.js";

export interface BootstrapResult {
  /** The plaintext key, only when it was generated here (so it must be shown once). */
  generatedKey: string | null;
  runtimeId: string;
}

export async function bootstrapIfEmpty(deps: ServiceDeps): Promise<BootstrapResult | null> {
  const { db, config } = deps;
  return db.transaction().execute(async (trx) => {
    const anyUser = await trx.selectFrom("users").select("id").limit(1).executeTakeFirst();
    if (anyUser) return null;

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

    await trx
      .insertInto("users")
      .values({ id: userId, email: "admin@localhost", name: "admin", is_admin: 1, created_at: at })
      .execute();
    await trx
      .insertInto("orgs")
      .values({
        id: orgId,
        key: "default",
        name: "Default",
        description: null,
        created_at: at,
        updated_at: at,
      })
      .execute();
    await trx
      .insertInto("memberships")
      .values({ org_id: orgId, user_id: userId, role: "owner", created_at: at })
      .execute();
    await trx
      .insertInto("workspaces")
      .values({
        id: workspaceId,
        org_id: orgId,
        key: "main",
        name: "Main",
        description: null,
        is_default: 1,
        created_at: at,
        updated_at: at,
      })
      .execute();
    await trx
      .insertInto("projects")
      .values({
        id: projectId,
        org_id: orgId,
        workspace_id: workspaceId,
        key: "default",
        name: "Default",
        description: null,
        is_default: 1,
        created_at: at,
        updated_at: at,
      })
      .execute();
    await trx
      .insertInto("runtimes")
      .values({
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
      })
      .execute();
    const apiKeyId = newId();
    await trx
      .insertInto("api_keys")
      .values({
        id: apiKeyId,
        user_id: userId,
        name: "bootstrap",
        prefix: key.prefix,
        key_hash: key.hash,
        read_only: 0,
        runtime_id: null,
        expires_at: null,
        revoked_at: null,
        last_used_at: null,
        created_at: at,
      })
      .execute();
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
