// Each request's logger is bound to its request id only when something is actually logged. A pino
// child per request costs more (bindings serialized on every request) than a cached binding list
// or a 304 costs to answer, and at the usual levels most requests log nothing themselves.
import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions, LogFn, Logger } from "pino";

type Level = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

class LazyRequestLogger {
  private bound: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get level(): string {
    return this.bound?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.resolve().level = level;
  }

  readonly trace: LogFn = (...args: unknown[]) => this.write("trace", args);
  readonly debug: LogFn = (...args: unknown[]) => this.write("debug", args);
  readonly info: LogFn = (...args: unknown[]) => this.write("info", args);
  readonly warn: LogFn = (...args: unknown[]) => this.write("warn", args);
  readonly error: LogFn = (...args: unknown[]) => this.write("error", args);
  readonly fatal: LogFn = (...args: unknown[]) => this.write("fatal", args);
  readonly silent: LogFn = () => {};

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
): FastifyBaseLogger {
  return new LazyRequestLogger(logger as Logger, bindings, options) as unknown as FastifyBaseLogger;
}
