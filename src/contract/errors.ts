// The error types of SPEC §2.4 and the status each one answers with: part of the contract, shared
// by the server (src/errors.ts), the envelope schema (./common.ts) and clients. No dependencies.
import type { Issue } from "../domain/types.js";

/** Status per error type is data: the compiler flags a type without one. */
export const ERROR_STATUS = {
  already_exists_error: 409,
  app_error: 500,
  authentication_error: 401,
  conflict_error: 409,
  aws_error: 500,
  configuration_error: 500,
  database_error: 500,
  dynamodb_error: 500,
  e2b_error: 500,
  e2b_rate_limit_error: 429,
  expired_signature_error: 403,
  expired_token_error: 401,
  forbidden_error: 403,
  group_error: 400,
  invalid_error: 400,
  invalid_flag_error: 422,
  invalid_username_error: 422,
  mail_error: 500,
  member_exists_error: 409,
  member_limit_exceeded_error: 409,
  migration_lock_timeout_error: 500,
  not_found_error: 404,
  oauth_config_error: 500,
  org_sandbox_capacity_exceeded_error: 409,
  bad_gateway_error: 502,
  gateway_timeout_error: 504,
  s3_error: 500,
  server_error: 500,
  task_error: 500,
  stripe_error: 500,
  token_error: 401,
  upgrade_required_error: 426,
  usage_limit_exceeded_error: 429,
  user_verification_error: 403,
  validation_error: 422,
} as const satisfies Record<string, ErrorStatus>;

export type ErrorType = keyof typeof ERROR_STATUS;
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 422 | 426 | 429 | 500 | 502 | 504;
export const ERROR_TYPES = Object.keys(ERROR_STATUS) as ErrorType[];
export const ERROR_STATUSES: readonly ErrorStatus[] = [400, 401, 403, 404, 409, 422, 426, 429, 500, 502, 504];

export interface ErrorEnvelope {
  code: ErrorStatus;
  detail: string;
  type: ErrorType;
  errors?: Issue[];
}
