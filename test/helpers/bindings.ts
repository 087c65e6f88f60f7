// Short helpers for binding, resolved-set and runtime-token tests: URLs, and the requests most
// tests make on the way to the one they check.
import assert from "node:assert/strict";
import { callApi } from "./api.js";
import type { TestApp } from "./test-app.js";

export interface Binding {
  id: string;
  artifact_id: string;
  capability_name: string;
  version: string;
  latest_version: string | null;
  enabled: boolean;
  flags: Record<string, boolean>;
  description: string | null;
  source: "org" | "public";
  component_counts: Record<string, number>;
  status: string;
  upgrade_available: boolean;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface ResolvedSet {
  capabilities: {
    name: string;
    version: string;
    artifact_digest: string;
    artifact_s3_prefix: string;
    download_url: string;
    flags: Record<string, boolean>;
    effective_flags: Record<string, boolean>;
    runtime_digest: string;
  }[];
  runtime_digest: string;
}

export const runtimeUrl = (runtimeId: string, org = "default", workspace = "main"): string =>
  `/api/v1/org/${org}/ws/${workspace}/runtimes/${runtimeId}`;

export const bindingsUrl = (runtimeId: string, org?: string, workspace?: string): string =>
  `${runtimeUrl(runtimeId, org, workspace)}/capabilities`;

export const bindingUrl = (runtimeId: string, bindingId: string): string =>
  `${bindingsUrl(runtimeId)}/${bindingId}`;

export const resolvedUrl = (runtimeId: string): string => `${bindingsUrl(runtimeId)}/resolved`;

/** Binds through the API; the binding must be created. */
export async function bind(
  t: TestApp,
  runtimeId: string,
  payload: Record<string, unknown>,
  key = t.adminKey,
): Promise<Binding> {
  const res = await callApi(t, "POST", bindingsUrl(runtimeId), key, payload);
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

export async function listBindings(t: TestApp, runtimeId: string, key = t.adminKey): Promise<Binding[]> {
  const res = await callApi(t, "GET", bindingsUrl(runtimeId), key);
  assert.equal(res.statusCode, 200, res.body);
  return res.json().items;
}

export async function patchBinding(
  t: TestApp,
  runtimeId: string,
  bindingId: string,
  payload: Record<string, unknown>,
): Promise<Binding> {
  const res = await callApi(t, "PATCH", bindingUrl(runtimeId, bindingId), t.adminKey, payload);
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

export async function readResolved(t: TestApp, runtimeId: string, key = t.adminKey): Promise<ResolvedSet> {
  const res = await callApi(t, "GET", resolvedUrl(runtimeId), key);
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

/** A new runtime in `org/workspace` (default `default/main`), made through the API. */
export async function newRuntime(
  t: TestApp,
  key: string,
  org = "default",
  workspace = "main",
  ownerKey = t.adminKey,
): Promise<string> {
  const res = await callApi(t, "POST", `/api/v1/org/${org}/ws/${workspace}/runtimes`, ownerKey, {
    key,
    name: `Runtime ${key}`,
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}

/** A runtime token for `runtimeId`, minted by the admin. */
export async function mintRuntimeToken(
  t: TestApp,
  runtimeId: string,
  payload: Record<string, unknown> = {},
): Promise<string> {
  const res = await callApi(t, "POST", `${runtimeUrl(runtimeId)}/tokens`, t.adminKey, payload);
  assert.equal(res.statusCode, 201, res.body);
  return res.json().token;
}
