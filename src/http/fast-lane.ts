// The fast lane: the two reads every runtime polls — its binding list (SPEC §7.1) and its resolved
// set with If-None-Match (§7.6) — answered straight from node:http, before Fastify, when all the
// answer needs is already in memory: a cached, valid key, the caller's cached role and the
// runtime's cached view. Any other request, and any doubt about this one (no cached key, a query
// string, HEAD, an outdated CLI, a rate limit reached, a view being refilled, a server closing),
// falls through to Fastify, which answers it as it answers everything else, errors included.
//
// Only answers Fastify would give as a 200 or 304 are made here, with the same status, headers
// and body, the same rate-limit accounting, metrics and request log lines: the caches it reads are
// the ones the routes read, invalidated by the same change feed. test/http/fast-lane.test.ts holds
// both paths to the same answers over real HTTP. Why it exists (Fastify's per-request pipeline cost
// more than the answer itself): docs/decisions.md, "The fast lane".
import { createServer, type IncomingMessage, type ServerOptions, type ServerResponse } from "node:http";
import type { FastifyBaseLogger, FastifyServerFactory, RawServerDefault } from "fastify";
import type { Logger } from "pino";
import { SLUG_PATTERN, UUID_PATTERN, unanchored } from "../domain/names.js";
import type { SerializedBody } from "../services/binding-cache.js";
import type { Actor, ServiceDeps } from "../services/deps.js";
import type { ResolvedResponse } from "../services/resolved-service.js";
import type { RuntimePath } from "../services/runtime-path.js";
import { cachedActor, credentialIn, type KeyCache } from "./auth.js";
import { clientOf, type ProxyTrust } from "./client-address.js";
import { outdatedClientVersion } from "./client-version.js";
import { answerConnect } from "./error-handler.js";
import type { RequestTallies } from "./metrics.js";
import type { RateLimiter } from "./rate-limit.js";
import { newRequestId } from "./request-id.js";
import { lazyRequestLogger } from "./request-logger.js";

/** What the binding routes answer from memory; each returns undefined whenever it is not sure. */
export interface RuntimeReads {
  /** The route templates, as Fastify labels them in metrics. */
  listRoute: string;
  resolvedRoute: string;
  cachedList(actor: Actor, path: RuntimePath): SerializedBody | undefined;
  cachedResolved(
    actor: Actor,
    path: RuntimePath,
    ifNoneMatch: string | undefined,
  ): ResolvedResponse | undefined;
}

/** What the lane checks a request with: the same objects the request guards use. */
export interface LaneGuards {
  deps: ServiceDeps;
  keys: KeyCache;
  limiter: RateLimiter;
  tallies: RequestTallies;
  /** Fastify's logger (the parent of every request's logger, with its serializers): a pino logger. */
  log: Logger;
  /** The proxies whose X-Forwarded-* headers Fastify takes (CAPSTAN_TRUST_PROXY). */
  trust: ProxyTrust | false;
}

const SLUG = unanchored(SLUG_PATTERN);
/**
 * Exactly the paths the two routes match with parameters their schemas accept. Anything Fastify
 * would first normalise (a trailing slash, percent-encoding, a query string) is left to Fastify.
 */
const RUNTIME_READ = new RegExp(
  `^/api/v1/org/(${SLUG})/ws/(${SLUG})/runtimes/(${unanchored(UUID_PATTERN)})/capabilities(/resolved)?$`,
);
/** The content type of every JSON answer of the two routes, as they send it. */
export const JSON_UTF8 = "application/json; charset=utf-8";
/** The resolved set's Cache-Control, as its route sends it. */
export const RESOLVED_CACHE_CONTROL = "private, no-cache";

/** The options Fastify hands its serverFactory, with its defaults applied, that shape the server. */
interface ServerSettings {
  http?: ServerOptions;
  keepAliveTimeout: number;
  requestTimeout: number;
  connectionTimeout: number;
  maxRequestsPerSocket?: number | null;
}

interface Answer {
  route: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export class FastLane {
  private guards: LaneGuards | null = null;
  private reads: RuntimeReads | null = null;
  private closing = false;

  /** The objects the request guards use; until then every request goes to Fastify. */
  attach(guards: LaneGuards): void {
    this.guards = guards;
  }

  /** Registered by the binding routes, which own the caches. */
  serveRuntimeReads(reads: RuntimeReads): void {
    this.reads = reads;
  }

  /** From the moment the server starts closing, Fastify answers (with `Connection: close`). */
  close(): void {
    this.closing = true;
  }

  /**
   * Fastify's `serverFactory`: the HTTP server Fastify would create itself (lib/server.js), with
   * the lane in front of Fastify's handler. `app.inject` calls that handler directly, so injected
   * requests never take the lane; real sockets do.
   */
  readonly serverFactory: FastifyServerFactory<RawServerDefault> = (handler, options) => {
    const settings = options as unknown as ServerSettings;
    const onRequest = (request: IncomingMessage, response: ServerResponse) => {
      if (!this.serve(request, response)) handler(request, response);
    };
    const server = createServer(settings.http ?? {}, onRequest);
    // An `Expect` other than 100-continue: Node would answer a bare 417, a status the contract does
    // not have. RFC 9110 lets a server ignore the expectation; the request is answered as any other.
    server.on("checkExpectation", onRequest);
    server.on("connect", answerConnect);
    server.keepAliveTimeout = settings.keepAliveTimeout;
    server.requestTimeout = settings.requestTimeout;
    server.setTimeout(settings.connectionTimeout);
    if (settings.maxRequestsPerSocket) server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
    return server;
  };

  /** Answers the request and returns true, or returns false having written and counted nothing. */
  serve(request: IncomingMessage, response: ServerResponse): boolean {
    const guards = this.guards;
    if (guards === null || this.reads === null || this.closing || request.method !== "GET") return false;
    const match = RUNTIME_READ.exec(request.url ?? "");
    if (match === null) return false;
    const started = performance.now();
    let answer: Answer | undefined;
    try {
      answer = this.answer(guards, this.reads, request, match);
    } catch (error) {
      // A bug here must cost the lane, not the request: Fastify answers it (and logs its own errors).
      guards.log.error({ err: error }, "fast lane failed; the request goes to the full pipeline");
      return false;
    }
    if (answer === undefined) return false;
    const reqId = answer.headers["x-request-id"];
    const log = guards.log.isLevelEnabled("info")
      ? lazyRequestLogger(guards.log as FastifyBaseLogger, { reqId }, {})
      : undefined;
    // The same lines, with the same serializers, as Fastify's request logging.
    log?.info({ req: fastifyLikeRequest(request, guards.trust) }, "incoming request");
    response.writeHead(answer.status, answer.headers).end(answer.body);
    const elapsedMs = performance.now() - started;
    guards.tallies.record(answer.route, "GET", answer.status, elapsedMs / 1000);
    log?.info({ res: { statusCode: answer.status }, responseTime: elapsedMs }, "request completed");
    return true;
  }

  /** The guards of an authenticated GET, then the cached answer; undefined as soon as one says no. */
  private answer(
    guards: LaneGuards,
    reads: RuntimeReads,
    request: IncomingMessage,
    match: RegExpExecArray,
  ): Answer | undefined {
    const { deps, keys, limiter } = guards;
    const headers = request.headers;
    if (outdatedClientVersion(headers, deps.config.minClientVersion) !== null) return undefined;
    const credential = credentialIn(headers);
    if (!credential) return undefined;
    const actor = cachedActor(credential, deps, keys);
    if (actor === undefined) return undefined;
    // Path UUIDs arrive in any letter case (SPEC §2.1).
    const path: RuntimePath = { org: match[1], workspace: match[2], runtimeId: match[3].toLowerCase() };

    let route: string;
    let content: SerializedBody | undefined;
    let resolved: ResolvedResponse | undefined;
    if (match[4] === undefined) {
      route = reads.listRoute;
      content = reads.cachedList(actor, path);
      if (content === undefined) return undefined;
    } else {
      route = reads.resolvedRoute;
      // A watch (`Prefer: wait=N`) may be held: the route holds it.
      if (headers.prefer !== undefined) return undefined;
      resolved = reads.cachedResolved(actor, path, headers["if-none-match"]);
      if (resolved === undefined) return undefined;
      if (resolved.body !== null) content = resolved;
    }

    // Headers in the order Fastify sets them: request id, rate limit, the route's own, content.
    const outgoing: Record<string, string> = { "x-request-id": newRequestId(request) };
    // Counted last: a request the lane passes on is counted once, by Fastify.
    if (!limiter.admitRead(actor.apiKeyId, outgoing)) return undefined;
    if (resolved !== undefined) {
      outgoing.etag = resolved.etag;
      outgoing["cache-control"] = RESOLVED_CACHE_CONTROL;
    }
    if (content === undefined) return { route, status: 304, headers: outgoing, body: undefined };
    outgoing["content-type"] = JSON_UTF8;
    outgoing["content-length"] = content.contentLength;
    return { route, status: 200, headers: outgoing, body: content.body };
  }
}

/** What Fastify's `req` log serializer reads off its request object. */
function fastifyLikeRequest(request: IncomingMessage, trust: ProxyTrust | false) {
  const { ip, host } = clientOf(request, trust);
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    host,
    ip,
    socket: request.socket,
  };
}
