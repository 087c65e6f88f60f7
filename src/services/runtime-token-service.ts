// Runtime tokens (SPEC §7.6): API keys bound to one runtime, read-only, that may call only the
// routes marked `runtimeToken` (its binding list and resolved set) and fetch the bound versions'
// bundles and files. They are ordinary api_keys rows, so listing and revoking keys covers them.
import { findRuntimeInWorkspace } from "../db/repositories/binding-repository.js";
import { notFound } from "../http/errors.js";
import { generateApiKey } from "../lib/api-key-format.js";
import { newId } from "../lib/ids.js";
import { requireOrgRole } from "./access.js";
import { appendAudit } from "./audit.js";
import type { RuntimePath } from "./binding-service.js";
import type { RequestScope, ServiceDeps } from "./deps.js";

export const DEFAULT_RUNTIME_TOKEN_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface RuntimeTokenInput {
  name?: string;
  expires_in_days?: number;
}

export interface CreatedRuntimeToken {
  id: string;
  token: string;
  expires_at: string;
}

export async function createRuntimeToken(
  deps: ServiceDeps,
  scope: RequestScope,
  path: RuntimePath,
  input: RuntimeTokenInput,
): Promise<CreatedRuntimeToken> {
  const { org } = await requireOrgRole(deps, scope.actor, path.org, "contributor");
  const now = deps.now();
  const at = now.toISOString();
  const expiresAt = new Date(
    now.getTime() + (input.expires_in_days ?? DEFAULT_RUNTIME_TOKEN_DAYS) * DAY_MS,
  ).toISOString();
  const key = generateApiKey();
  const id = newId();
  await deps.db.transaction().execute(async (trx) => {
    const runtime = await findRuntimeInWorkspace(trx, org.id, path.workspace, path.runtimeId);
    if (!runtime) throw notFound("Runtime");
    const name = input.name ?? `runtime ${runtime.key}`;
    await trx
      .insertInto("api_keys")
      .values({
        id,
        user_id: scope.actor.userId,
        name,
        prefix: key.prefix,
        key_hash: key.hash,
        read_only: 1,
        runtime_id: runtime.id,
        expires_at: expiresAt,
        revoked_at: null,
        last_used_at: null,
        created_at: at,
      })
      .execute();
    await appendAudit(
      trx,
      scope,
      {
        orgId: org.id,
        action: "runtime.token.created",
        targetType: "api_key",
        targetId: id,
        data: { runtime_id: runtime.id, name, prefix: key.prefix, expires_at: expiresAt },
      },
      at,
    );
  });
  return { id, token: key.key, expires_at: expiresAt };
}
