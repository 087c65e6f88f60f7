// The CLI's failure kinds, each with its exit code (SPEC §9): 1 for an API or validation error,
// 2 for a usage error. The entry point prints them; commands only throw.
import type { ApiErrorItem } from "./api-types.js";

/** Wrong arguments or flags, or an invocation that cannot proceed without more input: exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";

  /** `command` is the words of the command whose `--help` explains the usage. */
  constructor(
    message: string,
    readonly command: string[] = [],
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** A local failure (invalid capability, digest mismatch, unreadable file): exit 1. */
export class CliError extends Error {
  override readonly name = "CliError";

  constructor(
    message: string,
    readonly items: ApiErrorItem[] = [],
    readonly hint?: string,
  ) {
    super(message);
  }
}
