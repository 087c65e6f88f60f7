// Short request and assertion helpers for HTTP tests.
import assert from "node:assert/strict";
import type { LightMyRequestResponse } from "fastify";
import { bearer, type TestApp } from "./test-app.js";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** One request through the real app; `key` omitted = no credential. */
export function callApi(
  t: TestApp,
  method: Method,
  url: string,
  key?: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method,
    url,
    headers: key === undefined ? {} : bearer(key),
    payload: payload as object | undefined,
  });
}

/** Asserts an error envelope with this status and type (and, when given, one item at `loc`). */
export function expectError(
  res: LightMyRequestResponse,
  status: number,
  type: string,
  loc?: (string | number)[],
): void {
  assert.equal(res.statusCode, status, res.body);
  const body = res.json();
  assert.equal(body.code, status);
  assert.equal(body.type, type);
  if (loc) {
    assert.ok(
      body.errors?.some((item: { loc: unknown }) => JSON.stringify(item.loc) === JSON.stringify(loc)),
      `no error at ${JSON.stringify(loc)}: ${res.body}`,
    );
  }
}

/** A key in the right format that the server never issued. */
export const UNKNOWN_KEY = `cst_aaaaaaaaaaaa_${"A".repeat(40)}`;

/** Asserts the two 401 cases every authenticated route has: no key, and a key nobody issued. */
export async function expectUnauthenticated(
  t: TestApp,
  method: Method,
  url: string,
  payload?: unknown,
): Promise<void> {
  expectError(await callApi(t, method, url, undefined, payload), 401, "authentication_error");
  expectError(await callApi(t, method, url, UNKNOWN_KEY, payload), 401, "authentication_error");
}
