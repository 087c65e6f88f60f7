// Factories: the users, keys, orgs and workspaces a test needs, made through the HTTP API as a
// client would, so every test starts from states the API itself can produce.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { callApi, type Method } from "./api.js";
import type { TestApp } from "./test-app.js";

export type Role = "owner" | "contributor" | "reader";

export interface UserKey {
  userId: string;
  key: string;
  email: string;
}

export interface NewUserKeyOptions {
  /** Org key; default `default`. */
  org?: string;
  role: Role;
  readOnly?: boolean;
  expiresInDays?: number;
  /** An owner's key in `org`; default the bootstrap admin (owner of `default` and of orgs made by newOrg). */
  ownerKey?: string;
}

/** Sends a request that must answer `status` and returns its JSON body. */
async function expectJson<T>(t: TestApp, request: JsonRequest, status: number): Promise<T> {
  const res = await callApi(t, request.method, request.url, request.key, request.payload);
  assert.equal(res.statusCode, status, `${request.method} ${request.url}: ${res.body}`);
  return res.json() as T;
}

interface JsonRequest {
  method: Method;
  url: string;
  key: string;
  payload?: unknown;
}

const unique = () => randomUUID().slice(0, 8);

/**
 * Adds a new person to an org with `role` (added by `ownerKey`) and gives them an API key, as an
 * instance admin does (the bootstrap admin is the tests' instance admin).
 */
export async function newUserKey(t: TestApp, options: NewUserKeyOptions): Promise<UserKey> {
  const org = options.org ?? "default";
  const ownerKey = options.ownerKey ?? t.adminKey;
  const email = `user-${unique()}@example.test`;
  const member = await expectJson<{ user_id: string }>(
    t,
    {
      method: "POST",
      url: `/api/v1/org/${org}/members`,
      key: ownerKey,
      payload: { email, role: options.role },
    },
    201,
  );
  const minted = await expectJson<{ key: string }>(
    t,
    {
      method: "POST",
      url: `/api/v1/admin/users/${member.user_id}/api-keys`,
      key: t.adminKey,
      payload: {
        name: `${options.role} key`,
        ...(options.readOnly !== undefined && { read_only: options.readOnly }),
        ...(options.expiresInDays !== undefined && { expires_in_days: options.expiresInDays }),
      },
    },
    201,
  );
  return { userId: member.user_id, key: minted.key, email };
}

/** A new org `key` owned by the holder of `ownerKey` (with its default workspace `main`). */
export async function newOrg(
  t: TestApp,
  key: string,
  ownerKey: string = t.adminKey,
): Promise<{ id: string; key: string }> {
  const org = await expectJson<{ id: string; key: string }>(
    t,
    { method: "POST", url: "/api/v1/orgs", key: ownerKey, payload: { key, name: `Org ${key}` } },
    201,
  );
  return { id: org.id, key: org.key };
}

/** A user whose only org is a new one of their own: every other org must answer them 404. */
export async function newStranger(t: TestApp): Promise<UserKey & { org: string }> {
  const org = await newOrg(t, `stranger-${unique()}`);
  const stranger = await newUserKey(t, { org: org.key, role: "owner" });
  // The admin created the org; leave the stranger alone in it, so admin-visible data is not shared.
  const res = await callApi(
    t,
    "DELETE",
    `/api/v1/org/${org.key}/members/${await adminUserId(t)}`,
    stranger.key,
  );
  assert.equal(res.statusCode, 204, res.body);
  return { ...stranger, org: org.key };
}

async function adminUserId(t: TestApp): Promise<string> {
  const me = await expectJson<{ id: string }>(
    t,
    { method: "GET", url: "/api/v1/user/me", key: t.adminKey },
    200,
  );
  return me.id;
}

/** A new workspace `key` in `org` (with its default project `default`). */
export async function newWorkspace(
  t: TestApp,
  org: string,
  key: string,
  ownerKey: string = t.adminKey,
): Promise<{ id: string; key: string }> {
  const workspace = await expectJson<{ id: string; key: string }>(
    t,
    {
      method: "POST",
      url: `/api/v1/org/${org}/ws`,
      key: ownerKey,
      payload: { key, name: `Workspace ${key}` },
    },
    201,
  );
  return { id: workspace.id, key: workspace.key };
}

/** A new project `key` in `org/workspace`. */
export async function newProject(
  t: TestApp,
  org: string,
  workspace: string,
  key: string,
  ownerKey: string = t.adminKey,
): Promise<{ id: string; key: string }> {
  const project = await expectJson<{ id: string; key: string }>(
    t,
    {
      method: "POST",
      url: `/api/v1/org/${org}/ws/${workspace}/projects`,
      key: ownerKey,
      payload: { key, name: `Project ${key}` },
    },
    201,
  );
  return { id: project.id, key: project.key };
}
