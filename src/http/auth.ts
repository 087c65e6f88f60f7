// Authentication: resolves the credential of every non-public request to an Actor, once, before
// the body is read. Keys are cached briefly by hash so hot reads do not hit the database; a
// revocation on this instance evicts at once, and the short TTL bounds staleness across instances.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { hashApiKey, parseApiKey } from "../lib/api-key-format.js";
import type { Actor, ServiceDeps } from "../services/deps.js";
import { checkClientVersion } from "./client-version.js";
import { AppError } from "./errors.js";
import type { RateLimiter } from "./rate-limit.js";

declare module "fastify" {
  interface FastifyRequest {
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    /** No credential needed (operational endpoints, signed blob downloads). */
    public?: boolean;
    /** Runtime tokens may call this route (SPEC §7.6); the handler checks the runtime. */
    runtimeToken?: boolean;
  }
}

const KEY_CACHE_TTL_MS = 2_000;
const LAST_USED_WRITE_INTERVAL_MS = 60_000;
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

interface CachedKey {
  id: string;
  userId: string;
  readOnly: boolean;
  runtimeId: string | null;
  expiresAt: string | null;
  revoked: boolean;
  fetchedAt: number;
}

export class KeyCache {
  private readonly byHash = new Map<string, CachedKey>();
  private readonly lastUsedWrites = new Map<string, number>();

  constructor(private readonly deps: ServiceDeps) {
    deps.changes.subscribe((event) => {
      if (event.kind === "api_key") this.evictKeyId(event.keyId);
      else if (event.kind === "all") this.clear();
    });
  }

  async lookup(hash: string): Promise<CachedKey | null> {
    const now = Date.now();
    const cached = this.byHash.get(hash);
    if (cached && now - cached.fetchedAt < KEY_CACHE_TTL_MS) return cached;
    const row = await this.deps.db
      .selectFrom("api_keys")
      .select(["id", "user_id", "read_only", "runtime_id", "expires_at", "revoked_at"])
      .where("key_hash", "=", hash)
      .executeTakeFirst();
    if (!row) {
      this.byHash.delete(hash);
      return null;
    }
    const entry: CachedKey = {
      id: row.id,
      userId: row.user_id,
      readOnly: row.read_only === 1,
      runtimeId: row.runtime_id,
      expiresAt: row.expires_at,
      revoked: row.revoked_at !== null,
      fetchedAt: now,
    };
    if (this.byHash.size > 10_000) this.byHash.clear();
    this.byHash.set(hash, entry);
    return entry;
  }

  /** Drops a key from the cache (after revocation, or when another instance says so). */
  evictKeyId(keyId: string): void {
    for (const [hash, entry] of this.byHash) if (entry.id === keyId) this.byHash.delete(hash);
  }

  clear(): void {
    this.byHash.clear();
  }

  /** `last_used_at` is written at most once a minute per key, never on every request. */
  touch(keyId: string): void {
    const now = Date.now();
    const last = this.lastUsedWrites.get(keyId) ?? 0;
    if (now - last < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWrites.set(keyId, now);
    this.deps.db
      .updateTable("api_keys")
      .set({ last_used_at: this.deps.now().toISOString() })
      .where("id", "=", keyId)
      .execute()
      .catch((error) => this.deps.logger.warn({ err: error }, "could not record key use"));
  }
}

function credentialOf(request: FastifyRequest): string | null {
  const authorization = request.headers.authorization;
  if (typeof authorization === "string" && authorization.length > 0) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (!match) throw new AppError("authentication_error", "Authorization must use the Bearer scheme");
    return match[1].trim();
  }
  const apiKey = request.headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey.length > 0) return apiKey.trim();
  return null;
}

export async function authenticate(
  request: FastifyRequest,
  deps: ServiceDeps,
  keys: KeyCache,
): Promise<Actor> {
  const credential = credentialOf(request);
  if (credential === null) throw new AppError("authentication_error", "An API key is required");
  if (parseApiKey(credential) === null) {
    throw new AppError("token_error", "The credential is not a Capstan API key (cst_<prefix>_<secret>)");
  }
  const key = await keys.lookup(hashApiKey(credential));
  if (!key || key.revoked) throw new AppError("authentication_error", "Unknown or revoked API key");
  if (key.expiresAt !== null && key.expiresAt <= deps.now().toISOString()) {
    throw new AppError("expired_token_error", "The API key has expired");
  }
  keys.touch(key.id);
  return { userId: key.userId, apiKeyId: key.id, readOnly: key.readOnly, runtimeId: key.runtimeId };
}

/**
 * The guards every request passes before its body is read: client version, credential, rate
 * limit, then the credential's own restrictions (runtime tokens, read-only keys).
 */
export function registerRequestGuards(
  app: FastifyInstance,
  deps: ServiceDeps,
  keys: KeyCache,
  limiter: RateLimiter,
): void {
  app.decorateRequest("actor", null);
  app.addHook("onRequest", async (request, reply) => {
    checkClientVersion(request, deps.config.minClientVersion);
    const config = request.routeOptions.config;
    // Unknown routes have no url; the not-found handler answers them without a key.
    if (config?.public || request.routeOptions.url === undefined) return;
    let actor: Actor;
    try {
      actor = await authenticate(request, deps, keys);
    } catch (error) {
      limiter.consumeAnonymous(request.ip, reply);
      throw error;
    }
    request.actor = actor;
    const mutating = MUTATING.has(request.method);
    limiter.consumeKey(actor.apiKeyId, mutating, reply);
    if (actor.runtimeId !== null && !config?.runtimeToken) {
      throw new AppError("forbidden_error", "A runtime token can only read its own runtime's capabilities");
    }
    if (actor.readOnly && mutating) throw new AppError("forbidden_error", "This API key is read-only");
  });
}

/** The authenticated actor of a non-public route. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new AppError("authentication_error", "An API key is required");
  return request.actor;
}
