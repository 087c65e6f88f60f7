// Each request's logger is bound to its request id only when something is actually logged. A pino
// child per request costs more (bindings serialized on every request) than a cached binding list
// or a 304 costs to answer, and at the usual levels most requests log nothing themselves.
import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions, Logger } from "pino";

type Level = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

/**
 * Probes a load balancer or orchestrator sends every few seconds: their request lines go out at
 * debug, not info, or they drown the log (two lines per probe). Warnings and errors stay as they are.
 */
const PROBE_PATHS = new Set(["/healthz", "/readyz"]);

export function isProbe(url: string | undefined): boolean {
  if (url === undefined) return false;
  const query = url.indexOf("?");
  return PROBE_PATHS.has(query === -1 ? url : url.slice(0, query));
}

class LazyRequestLogger {
  private bound: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
    /** Info lines go out at debug (probes). */
    private readonly quiet = false,
  ) {}

  get level(): string {
    return this.bound?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.resolve().level = level;
  }

  // Prototype methods, not per-instance closures: one of these is made for every request.
  trace(...args: unknown[]): void {
    this.write("trace", args);
  }
  debug(...args: unknown[]): void {
    this.write("debug", args);
  }
  info(...args: unknown[]): void {
    this.write(this.quiet ? "debug" : "info", args);
  }
  warn(...args: unknown[]): void {
    this.write("warn", args);
  }
  error(...args: unknown[]): void {
    this.write("error", args);
  }
  fatal(...args: unknown[]): void {
    this.write("fatal", args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.resolve().child(bindings, options);
  }

  private write(level: Level, args: unknown[]): void {
    const logger = this.bound ?? this.parent;
    if (!logger.isLevelEnabled(level)) return;
    (this.resolve()[level] as (...values: unknown[]) => void)(...args);
  }

  private resolve(): Logger {
    this.bound ??= this.parent.child(this.bindings, this.options);
    return this.bound;
  }
}

export function lazyRequestLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
  rawRequest?: { url?: string },
): FastifyBaseLogger {
  return new LazyRequestLogger(
    logger as Logger,
    bindings,
    options,
    isProbe(rawRequest?.url),
  ) as unknown as FastifyBaseLogger;
}
