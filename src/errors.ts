// One error class for the whole server, independent of HTTP: every layer throws AppError, and one
// handler (src/http/error-handler.ts) turns every failure into the envelope of SPEC §2.4. The status
// of each type is data, in the contract (src/contract/errors.ts).
import { ERROR_STATUS, type ErrorEnvelope, type ErrorStatus, type ErrorType } from "./contract/errors.js";
import type { Issue } from "./domain/types.js";

export class AppError extends Error {
  readonly status: ErrorStatus;
  /** Extra response headers (Retry-After on 429, …). */
  headers?: Record<string, string>;

  constructor(
    readonly type: ErrorType,
    readonly detail: string,
    readonly errors?: Issue[],
    options?: { cause?: unknown; status?: ErrorStatus; headers?: Record<string, string> },
  ) {
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.status = options?.status ?? ERROR_STATUS[type];
    this.headers = options?.headers;
  }

  toEnvelope(): ErrorEnvelope {
    const envelope: ErrorEnvelope = { code: this.status, detail: this.detail, type: this.type };
    if (this.errors && this.errors.length > 0) envelope.errors = this.errors;
    return envelope;
  }
}

export const notFound = (what: string): AppError => new AppError("not_found_error", `${what} not found`);
export const forbidden = (detail = "Your role does not allow this action"): AppError =>
  new AppError("forbidden_error", detail);
export const conflict = (detail: string): AppError => new AppError("conflict_error", detail);
export const alreadyExists = (detail: string): AppError => new AppError("already_exists_error", detail);
export const invalid = (detail: string, errors?: Issue[]): AppError =>
  new AppError("invalid_error", detail, errors);
export const validationIssue = (loc: Issue["loc"], msg: string, type = "value_error"): AppError =>
  new AppError("validation_error", msg, [{ loc, msg, type }]);
