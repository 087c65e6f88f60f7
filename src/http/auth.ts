// Authentication: resolves the credential of every non-public request to an Actor, once, before
// the body is read. Keys are cached briefly so hot reads neither hit the database nor hash the key
// again, and refreshed in the background while in use; a revocation on this instance evicts at
// once, and the short TTL (plus the change feed in scale mode) bounds staleness across instances. A cache hit is answered synchronously: the hot
// path (a runtime polling its bindings) then costs no promise and no SHA-256.
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { findKeyForAuthentication, recordKeyUse } from "../db/repositories/api-key-repository.js";
import { AppError } from "../errors.js";
import { hashApiKey, parseApiKey } from "../lib/api-key-format.js";
import type { Actor, ServiceDeps } from "../services/deps.js";
import { RefreshAheadCache } from "../services/refresh-ahead-cache.js";
import { checkClientVersion } from "./client-version.js";
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
    /**
     * Anonymous callers are served (rate-limited per address); a presented credential is still
     * checked as everywhere else, so a bad key is refused rather than silently read as anonymous.
     */
    optionalKey?: boolean;
  }
}

/** How long a cached key is trusted without reading it again (the bound on cross-instance staleness). */
const KEY_CACHE_TTL_MS = 2_000;
/** A key in use is read again in the background once its cached copy is this old. */
const KEY_REFRESH_AFTER_MS = 1_000;
const MAX_CACHED_KEYS = 10_000;
const LAST_USED_WRITE_INTERVAL_MS = 60_000;
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

interface CachedKey {
  id: string;
  userId: string;
  readOnly: boolean;
  runtimeId: string | null;
  orgId: string | null;
  expiresAt: string | null;
  revoked: boolean;
}

export class KeyCache {
  /**
   * Keyed by the presented credential itself, so a hit needs no hashing. The credential is in this
   * process's memory for every request anyway; only its SHA-256 is ever stored or logged.
   */
  private readonly byCredential: RefreshAheadCache<CachedKey>;
  private readonly lastUsedWrites = new Map<string, number>();

  constructor(private readonly deps: ServiceDeps) {
    this.byCredential = new RefreshAheadCache({
      load: (credential) => this.read(credential),
      ttlMs: KEY_CACHE_TTL_MS,
      refreshAfterMs: KEY_REFRESH_AFTER_MS,
      maxEntries: MAX_CACHED_KEYS,
      now: () => deps.now().getTime(),
      onRefreshError: (error) => deps.logger.warn({ err: error }, "could not refresh a cached API key"),
    });
    deps.changes.subscribe((event) => {
      if (event.kind === "api_key") this.evictKeyId(event.keyId);
      else if (event.kind === "all") this.clear();
    });
  }

  /** The cached key when it is fresh enough to trust, without waiting. */
  peek(credential: string): CachedKey | undefined {
    return this.byCredential.peek(credential);
  }

  async lookup(credential: string): Promise<CachedKey | null> {
    return (await this.byCredential.get(credential)) ?? null;
  }

  private async read(credential: string): Promise<CachedKey | undefined> {
    const row = await findKeyForAuthentication(this.deps.db, hashApiKey(credential));
    if (!row) return undefined;
    return {
      id: row.id,
      userId: row.user_id,
      readOnly: row.read_only === 1,
      runtimeId: row.runtime_id,
      orgId: row.org_id,
      expiresAt: row.expires_at,
      revoked: row.revoked_at !== null,
    };
  }

  /** Drops a key from the cache (after revocation, or when another instance says so). */
  evictKeyId(keyId: string): void {
    this.byCredential.evict((key) => key.id === keyId);
  }

  clear(): void {
    this.byCredential.clear();
  }

  /** `last_used_at` is written at most once a minute per key, never on every request. */
  touch(keyId: string): void {
    const now = Date.now();
    const last = this.lastUsedWrites.get(keyId) ?? 0;
    if (now - last < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWrites.set(keyId, now);
    recordKeyUse(this.deps.db, keyId, this.deps.now().toISOString()).catch((error) =>
      this.deps.logger.warn({ err: error }, "could not record key use"),
    );
  }
}

/**
 * The credential the headers carry: `undefined` when there is none, `null` when Authorization is
 * present but not a Bearer credential.
 */
export function credentialIn(headers: IncomingHttpHeaders): string | null | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === "string" && authorization.length > 0) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return match ? match[1].trim() : null;
  }
  const apiKey = headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey.length > 0) return apiKey.trim();
  return undefined;
}

/** The well-formed credential of a request; throws when it is missing or not in the key format. */
function requireCredential(request: FastifyRequest): string {
  const credential = credentialIn(request.headers);
  if (credential === null)
    throw new AppError("authentication_error", "Authorization must use the Bearer scheme");
  if (credential === undefined) throw new AppError("authentication_error", "An API key is required");
  if (parseApiKey(credential) === null) {
    throw new AppError("token_error", "The credential is not a Capstan API key (cst_<prefix>_<secret>)");
  }
  return credential;
}

const isExpired = (key: CachedKey, deps: ServiceDeps): boolean =>
  key.expiresAt !== null && key.expiresAt <= deps.now().toISOString();

const actorOfKey = (key: CachedKey): Actor => ({
  userId: key.userId,
  apiKeyId: key.id,
  readOnly: key.readOnly,
  runtimeId: key.runtimeId,
  keyOrgId: key.orgId,
});

function actorFromKey(key: CachedKey | null, deps: ServiceDeps, keys: KeyCache): Actor {
  if (!key || key.revoked) throw new AppError("authentication_error", "Unknown or revoked API key");
  if (isExpired(key, deps)) throw new AppError("expired_token_error", "The API key has expired");
  keys.touch(key.id);
  return actorOfKey(key);
}

/**
 * The actor of a credential whose key is cached, fresh, unrevoked and unexpired, without waiting
 * and without throwing; undefined for anything else (the full pipeline then decides, and refuses).
 */
export function cachedActor(credential: string, deps: ServiceDeps, keys: KeyCache): Actor | undefined {
  const key = keys.peek(credential);
  if (!key || key.revoked || isExpired(key, deps)) return undefined;
  keys.touch(key.id);
  return actorOfKey(key);
}

/**
 * The guards every request passes before its body is read: client version, credential, rate
 * limit, then the credential's own restrictions (runtime tokens, read-only keys). Written as a
 * callback hook with a synchronous path for cached keys: it runs on every request.
 */
export function registerRequestGuards(
  app: FastifyInstance,
  deps: ServiceDeps,
  keys: KeyCache,
  limiter: RateLimiter,
): void {
  app.decorateRequest("actor", null);

  const admit = (request: FastifyRequest, reply: FastifyReply, actor: Actor): void => {
    request.actor = actor;
    const mutating = MUTATING.has(request.method);
    limiter.consumeKey(actor.apiKeyId, mutating, reply);
    if (actor.runtimeId !== null && !request.routeOptions.config?.runtimeToken) {
      throw new AppError("forbidden_error", "A runtime token can only read its own runtime's capabilities");
    }
    if (actor.readOnly && mutating) throw new AppError("forbidden_error", "This API key is read-only");
  };
  // Failed logins count against the caller's IP (SPEC §2.6); over that limit the 429 wins.
  const refuse = (request: FastifyRequest, reply: FastifyReply, error: unknown): unknown => {
    try {
      limiter.consumeAnonymous(request.ip, reply);
    } catch (limited) {
      return limited;
    }
    return error;
  };

  const settle = (
    request: FastifyRequest,
    reply: FastifyReply,
    key: CachedKey | null,
    done: (error?: Error) => void,
  ): void => {
    let outcome: Error | undefined;
    try {
      const actor = actorFromKey(key, deps, keys);
      try {
        admit(request, reply, actor);
      } catch (error) {
        outcome = error as Error;
      }
    } catch (error) {
      outcome = refuse(request, reply, error) as Error;
    }
    done(outcome);
  };

  const anonymous = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void => {
    try {
      limiter.consumeAnonymous(request.ip, reply);
    } catch (limited) {
      done(limited as Error);
      return;
    }
    done();
  };

  app.addHook("onRequest", (request, reply, done) => {
    let credential: string;
    try {
      checkClientVersion(request.headers, deps.config.minClientVersion);
      const options = request.routeOptions;
      // Unknown routes have no url; the not-found handler answers them without a key.
      if (options.config?.public || options.url === undefined) return done();
      if (options.config?.optionalKey && credentialIn(request.headers) === undefined) {
        return anonymous(request, reply, done);
      }
      credential = requireCredential(request);
    } catch (error) {
      const upgradeRequired = error instanceof AppError && error.type === "upgrade_required_error";
      return done((upgradeRequired ? error : refuse(request, reply, error)) as Error);
    }
    const cached = keys.peek(credential);
    if (cached) return settle(request, reply, cached, done);
    keys.lookup(credential).then(
      (key) => settle(request, reply, key, done),
      (error) => done(error),
    );
  });
}

/** The authenticated actor of a non-public route. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new AppError("authentication_error", "An API key is required");
  return request.actor;
}
