// assertEnvelope(): checks an error response against SPEC §2.4 as strictly as a client would rely on
// it. The allowed statuses and types are copied from the spec on purpose, not imported from
// src/contract/errors.ts: a type added there without the contract changing must fail here.
import assert from "node:assert/strict";

export const ENVELOPE_STATUSES = [400, 401, 403, 404, 409, 422, 426, 429, 500, 502, 504] as const;

export const ENVELOPE_TYPES = [
  "already_exists_error",
  "app_error",
  "authentication_error",
  "conflict_error",
  "aws_error",
  "configuration_error",
  "database_error",
  "dynamodb_error",
  "e2b_error",
  "e2b_rate_limit_error",
  "expired_signature_error",
  "expired_token_error",
  "forbidden_error",
  "group_error",
  "invalid_error",
  "invalid_flag_error",
  "invalid_username_error",
  "mail_error",
  "member_exists_error",
  "member_limit_exceeded_error",
  "migration_lock_timeout_error",
  "not_found_error",
  "oauth_config_error",
  "org_sandbox_capacity_exceeded_error",
  "bad_gateway_error",
  "gateway_timeout_error",
  "s3_error",
  "server_error",
  "task_error",
  "stripe_error",
  "token_error",
  "upgrade_required_error",
  "usage_limit_exceeded_error",
  "user_verification_error",
  "validation_error",
] as const;

export type EnvelopeType = (typeof ENVELOPE_TYPES)[number];

const LOC_ROOTS = ["path", "query", "header", "body", "bundle"];

export interface ErrorItem {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export interface Envelope {
  code: number;
  detail: string;
  type: EnvelopeType;
  errors?: ErrorItem[];
}

/** What inject() and fetch-based helpers both provide. */
export interface ResponseLike {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** Signs that a 5xx detail leaked internals: a stack frame, SQL, a file path or a driver name. */
const LEAKS: [string, RegExp][] = [
  ["a stack frame", /\n\s+at\s|\bat .+:\d+:\d+/],
  ["SQL", /\b(select|insert|update|delete)\b[\s\S]*\b(from|into|set|where)\b/i],
  ["a file path", /(^|[\s"'(])(\/[\w.@-]+){2,}|[A-Za-z]:\\|\.(ts|js|mjs|db):?\d*\b/],
  ["a driver error", /SQLITE_|node_modules|ECONNREFUSED|\bpg\b/],
];

/**
 * Asserts that `res` is an error envelope with this status and type, and returns the parsed body.
 * Checks exact keys, `code` = status, the allowed statuses and types, the `errors` items, the
 * X-Request-Id header, and that a 5xx detail leaks nothing.
 */
export function assertEnvelope(res: ResponseLike, status: number, type: EnvelopeType): Envelope {
  assert.equal(res.statusCode, status, `expected ${status} ${type}, got ${res.statusCode}: ${res.body}`);
  assert.match(String(res.headers["content-type"]), /^application\/json/, "an error body is JSON");
  assert.ok(res.headers["x-request-id"], "every response carries X-Request-Id");

  const body = JSON.parse(res.body) as Envelope;
  assert.ok(body !== null && typeof body === "object" && !Array.isArray(body), "the envelope is an object");
  const keys = Object.keys(body).sort();
  const expectedKeys =
    body.errors === undefined ? ["code", "detail", "type"] : ["code", "detail", "errors", "type"];
  assert.deepEqual(keys, expectedKeys, `envelope keys: ${res.body}`);

  assert.equal(body.code, status, "code equals the HTTP status");
  assert.ok(
    (ENVELOPE_STATUSES as readonly number[]).includes(body.code),
    `status ${body.code} is not allowed`,
  );
  assert.ok((ENVELOPE_TYPES as readonly string[]).includes(body.type), `type ${body.type} is not allowed`);
  assert.equal(body.type, type);
  assert.equal(typeof body.detail, "string");
  assert.ok(body.detail.length > 0, "detail is not empty");

  if (status === 422) assert.ok(body.errors !== undefined, "a 422 lists its errors");
  if (body.errors !== undefined) assertErrorItems(body.errors);
  if (status >= 500) {
    for (const [what, pattern] of LEAKS)
      assert.doesNotMatch(body.detail, pattern, `5xx detail leaks ${what}`);
  }
  return body;
}

function assertErrorItems(errors: unknown): void {
  assert.ok(Array.isArray(errors) && errors.length > 0, "errors, when present, is a non-empty array");
  for (const item of errors as ErrorItem[]) {
    assert.deepEqual(
      Object.keys(item).sort(),
      ["loc", "msg", "type"],
      `error item keys: ${JSON.stringify(item)}`,
    );
    assert.ok(Array.isArray(item.loc) && item.loc.length > 0, "loc is a non-empty array");
    assert.ok(LOC_ROOTS.includes(String(item.loc[0])), `loc starts with one of ${LOC_ROOTS.join(", ")}`);
    for (const part of item.loc) {
      assert.ok(typeof part === "string" || Number.isInteger(part), "loc holds strings and integers");
    }
    assert.equal(typeof item.msg, "string");
    assert.ok(typeof item.type === "string" && item.type.length > 0, "each item has a machine type");
  }
}
