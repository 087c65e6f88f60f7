// buildApp(deps): the whole HTTP app without listening. The server, the tests, the benches and the
// OpenAPI script all start here, with the dependencies from createDeps (src/composition.ts).
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger } from "fastify";
import type { Logger } from "pino";
import { ErrorEnvelope } from "./contract/common.js";
import { AppError } from "./errors.js";
import { KeyCache, registerRequestGuards } from "./http/auth.js";
import { proxyTrust } from "./http/client-address.js";
import { guardConnections } from "./http/connection-guard.js";
import { findConsoleDir, registerConsole } from "./http/console.js";
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandling } from "./http/error-handler.js";
import { FastLane } from "./http/fast-lane.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "./http/json-body.js";
import { registerMetrics } from "./http/metrics.js";
import { openapiOptions } from "./http/openapi.js";
import { joinOwnerAndName } from "./http/owner-name-path.js";
import { RateLimiter } from "./http/rate-limit.js";
import { newRequestId, registerRequestId } from "./http/request-id.js";
import { lazyRequestLogger } from "./http/request-logger.js";
import { serializerCompiler } from "./http/serialization.js";
import { validatorCompiler } from "./http/validation.js";
import { registerRoutes } from "./routes/index.js";
import type { RouteApp } from "./routes/route-app.js";
import type { ServiceDeps } from "./services/deps.js";
import { createServices, type ServiceOptions, type Services } from "./services/index.js";

declare module "fastify" {
  interface FastifyInstance {
    deps: ServiceDeps;
    services: Services;
    keyCache: KeyCache;
    fastLane: FastLane;
  }
}

export type App = RouteApp;

export const JSON_BODY_LIMIT = 1024 * 1024;

export interface BuildOptions {
  /** The built web console (`web/dist`); null serves a note on how to build it. Default: found on disk. */
  consoleDir?: string | null;
  /** Default: createServices(deps), closed with the app. */
  services?: Services;
  /** Passed to createServices when `services` is not given. */
  serviceOptions?: ServiceOptions;
}

export async function buildApp(deps: ServiceDeps, options: BuildOptions = {}): Promise<App> {
  const services = options.services ?? createServices(deps, options.serviceOptions);
  // Answers the hot runtime reads from memory in front of Fastify (see src/http/fast-lane.ts).
  const fastLane = new FastLane();
  // Whose X-Forwarded-For counts (CAPSTAN_TRUST_PROXY): for request.ip, the per-IP rate limit and logs.
  const trust = proxyTrust(deps.config.trustProxy);
  const app = Fastify({
    serverFactory: fastLane.serverFactory,
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: JSON_BODY_LIMIT,
    genReqId: newRequestId,
    childLoggerFactory: lazyRequestLogger,
    requestIdHeader: false,
    trustProxy: trust,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // `…/capabilities/owner/name` routed as `…/capabilities/owner%2Fname` (SPEC §5).
    rewriteUrl: joinOwnerAndName,
    ajv: { customOptions: { strict: false } },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    // The contract has no 503: a request arriving while the server drains is still served (with
    // `Connection: close`); the database is closed only after the last one has finished.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Slow bodies and connection hoarding (src/http/connection-guard.ts); the multipart framing of a
  // bundle upload is allowed on top of the bundle itself.
  guardConnections(
    app.server,
    { ...deps.config, maxBodyBytes: Math.max(JSON_BODY_LIMIT, deps.config.maxBundleBytes) + JSON_BODY_LIMIT },
    trust,
    deps.logger,
  );

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerJsonBodies(app);
  app.addSchema(ErrorEnvelope);

  const keyCache = new KeyCache(deps);
  app.decorate("deps", deps);
  app.decorate("services", services);
  app.addHook("onClose", () => services.close());
  // Webhook delivery runs in every instance from the moment the app can serve (SPEC §15).
  app.addHook("onReady", async () => services.webhookDispatcher.start());
  app.decorate("keyCache", keyCache);

  registerErrorHandling(app);
  registerConsole(app, options.consoleDir === undefined ? findConsoleDir() : options.consoleDir);
  registerRequestId(app);
  const tallies = registerMetrics(app, () => services.watch.size);
  // Shares its counts with the other instances when the change feed reaches them (scale mode).
  const limiter = new RateLimiter(
    deps.config.rateLimitRpm,
    deps.config.rateLimitWriteRpm,
    () => deps.now().getTime(),
    deps.changes,
  );
  app.addHook("onClose", (_instance, done) => {
    limiter.close();
    done();
  });
  registerRequestGuards(app, deps, keyCache, limiter);
  fastLane.attach({ deps, keys: keyCache, limiter, tallies, log: app.log as Logger, trust });
  app.decorate("fastLane", fastLane);
  app.addHook("preClose", (done) => {
    fastLane.close();
    done();
  });

  await app.register(swagger, openapiOptions(deps.config));
  app.addHook("onRoute", (route) => {
    // swagger-ui's own asset routes carry no config; they must not need a key.
    if (route.url.startsWith("/docs")) route.config = { ...(route.config ?? {}), public: true };
  });
  await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { docExpansion: "list" } });

  await registerRoutes(app);
  return app;
}

/**
 * JSON is the only body a JSON route takes: a text/plain body would otherwise reach the schema as a
 * string and come back as a puzzling 422 instead of 400 "unsupported content type". Generated
 * clients often send `Content-Type: application/json` on every request, so a bodiless DELETE with
 * that header is accepted; an empty JSON body anywhere else stays a 400.
 */
/** `\u0000` as a JSON escape: after an even number of backslashes (an odd one escapes the `\`). */
const ESCAPED_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/;

function registerJsonBodies(app: App): void {
  app.removeContentTypeParser("text/plain");
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body.toString();
    if (text === "" && request.method === "DELETE") return done(null, undefined);
    // PostgreSQL cannot store U+0000 in text; refused here, a body means the same on both databases.
    if (ESCAPED_NUL.test(text)) {
      return done(new AppError("invalid_error", "JSON strings must not contain the NUL character (\\u0000)"));
    }
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      return done(
        new AppError("invalid_error", `JSON bodies may nest at most ${MAX_JSON_DEPTH} levels deep`),
      );
    }
    parseJson(request, text, done);
  });
}
