// The authorization matrix (SPEC §2.2–§2.4): every route the app serves × every kind of caller,
// each cell answered by a real request against real resources. The routes come from the app's
// router, so a new route fails this suite until someone decides who may call it; the expected
// answer of each cell comes from the route's rule below (public, who may call it, whether runtime
// tokens may) and the caller's identity, never from a list of per-cell results.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { signSubject } from "../../src/domain/dsse.js";
import { callApi, type Method, UNKNOWN_KEY } from "../helpers/api.js";
import { capabilityBundle } from "../helpers/capability-bundles.js";
import { testDialect } from "../helpers/database.js";
import { assertEnvelope, type EnvelopeType, type ResponseLike } from "../helpers/envelope.js";
import { newOrg, newStranger, newUserKey, type Role } from "../helpers/factories.js";
import { registeredRoutes } from "../helpers/route-table.js";
import { bearer, buildTestApp, type TestApp } from "../helpers/test-app.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const ORG = "matrix";
const CAPABILITY = "matrix-cap";
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const RANK: Record<Role, number> = { reader: 1, contributor: 2, owner: 3 };

// ─── Identities ──────────────────────────────────────────────────────────────────────────────────

type TokenScope = "own runtime" | "another runtime" | "another org" | "removed member";

interface Identity {
  name: string;
  /** The request headers that carry the credential (none for the anonymous caller). */
  headers: Record<string, string>;
  /** Refused before any rule applies: the credential itself is no good. */
  refused?: { status: 401; type: EnvelopeType };
  /** The role the key carries in the matrix org; absent for non-members and keys limited elsewhere. */
  role?: Role;
  readOnly?: boolean;
  /** The key is limited to one org (SPEC §3), as service accounts' keys always are. */
  limited?: true;
  /** The user is an instance admin. */
  admin?: true;
  /**
   * A runtime token: of the runtime the request targets, of another runtime or another org's, or of
   * the targeted runtime but made by a member who has since left the org.
   */
  token?: TokenScope;
  /**
   * A key of the same user, limited as the caller's is, for fixtures that must belong to the caller
   * (a key of its own to revoke).
   */
  userKey: string;
}

// ─── Rules ───────────────────────────────────────────────────────────────────────────────────────

/**
 * public: no credential needed (a credential sent anyway is ignored); self: any signed-in user,
 * about themselves; signup: any signed-in user whose key is not limited to one org (creating an
 * org); admin: instance admins, with a key not limited to one org; a role: the least role in the
 * org of the path (non-members 404); anyone: callers without a credential too, while a credential
 * sent is checked as for self (the MCP registry API).
 */
type Access = "public" | "self" | "signup" | "admin" | "anyone" | Role;

interface CellRequest {
  /** Path values that differ from the shared fixtures'. */
  params?: Record<string, string>;
  query?: string;
  payload?: unknown;
  contentType?: string;
}

interface Cell {
  world: World;
  identity: Identity;
  /** Unique per cell, for names and versions a cell creates. */
  n: number;
}

interface Rule {
  access: Access;
  /** A runtime token of the runtime in the path may call it (SPEC §7.6). */
  runtimeToken?: true;
  /**
   * The fast lane may answer it from memory, with guards of its own (src/http/fast-lane.ts); only
   * real sockets reach the lane, so its cells are sent over one as well.
   */
  fastLane?: true;
  ok: 200 | 201 | 202 | 204 | 302 | 409;
  /** The envelope type when `ok` is a refusal the route gives everyone allowed (scale mode's 409). */
  okType?: EnvelopeType;
  /**
   * Why a successful write of this route writes no audit event (every other write must): a runtime's
   * sync report replaces the last one every minute and changes nothing anyone configured.
   */
  unaudited?: string;
  /** Tells apart two rules of one route (same route, different query). */
  variant?: string;
  /** The request of one cell; mutating routes build a fresh target per cell here. */
  build?: (cell: Cell) => CellRequest | Promise<CellRequest>;
}

interface Outcome {
  status: number;
  type?: EnvelopeType;
}

const FORBIDDEN: Outcome = { status: 403, type: "forbidden_error" };
const NOT_FOUND: Outcome = { status: 404, type: "not_found_error" };

/** What a cell must answer, from the route's rule and the caller alone. */
function expectedOutcome(method: string, rule: Rule, identity: Identity): Outcome {
  const ok: Outcome = { status: rule.ok, type: rule.okType };
  if (rule.access === "public") return ok;
  if (rule.access === "anyone" && Object.keys(identity.headers).length === 0) return ok;
  if (identity.refused) return identity.refused;
  if (identity.token) {
    // Outside its own runtime a token is refused (403), absent or not, so it learns nothing
    // beyond its bindings; once its creator has left the org it is a stranger there (404).
    if (!rule.runtimeToken || identity.token === "another runtime" || identity.token === "another org") {
      return FORBIDDEN;
    }
    return identity.token === "own runtime" ? ok : NOT_FOUND;
  }
  if (identity.readOnly && MUTATING.has(method)) return FORBIDDEN;
  if (rule.access === "self" || rule.access === "anyone") return ok;
  // A limited key cannot reach beyond its org: not to a new org, not to the whole instance.
  if (rule.access === "signup") return identity.limited ? FORBIDDEN : ok;
  if (rule.access === "admin") return identity.admin && !identity.limited ? ok : FORBIDDEN;
  if (identity.role === undefined) return NOT_FOUND;
  return RANK[identity.role] >= RANK[rule.access] ? ok : FORBIDDEN;
}

// ─── The world every cell runs in ────────────────────────────────────────────────────────────────

interface World {
  t: TestApp;
  owner: string;
  /** The runtime the `own runtime` tokens belong to, with `matrix-cap@1.0.0` bound. */
  home: string;
  homeBinding: string;
  /** The signed download of `matrix-cap@1.0.0`: its digest and query string. */
  blob: { sha256: string; query: string };
  /** A service account of the matrix org. */
  serviceAccount: string;
  /** The app listening on a real port, for the fast lane's cells. */
  origin: string;
  /** How many requests the fast lane answered. */
  laneAnswers: number;
}

let sequence = 0;
const next = () => ++sequence;

function newSigningKey() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, publicPem: String(publicKey.export({ type: "spki", format: "pem" })) };
}

async function expectStatus(
  world: World,
  method: Method,
  url: string,
  status: number,
  payload?: unknown,
  key = world.owner,
  // biome-ignore lint/suspicious/noExplicitAny: fixture responses are read field by field
): Promise<any> {
  const res = await callApi(world.t, method, url, key, payload);
  assert.equal(res.statusCode, status, `fixture ${method} ${url}: ${res.body}`);
  return res.statusCode === 204 ? null : res.json();
}

const orgUrl = `/api/v1/org/${ORG}`;
const wsUrl = `${orgUrl}/ws/main`;
const runtimeUrl = (id: string) => `${wsUrl}/runtimes/${id}`;

async function freshRuntime(world: World, withBinding = false): Promise<string> {
  const n = next();
  const runtime = await expectStatus(world, "POST", `${wsUrl}/runtimes`, 201, {
    key: `fresh-${n}`,
    name: `Fresh ${n}`,
    ...(withBinding && { config: { version: "v2", capabilities: [{ name: CAPABILITY, version: "1.0.0" }] } }),
  });
  return runtime.id;
}

/** The runtime a runtime-changing cell targets: a token's own runtime for tokens, else a fresh one. */
async function runtimeFor(cell: Cell): Promise<string> {
  const token = cell.identity.token;
  if (token === "own runtime" || token === "removed member") return cell.world.home;
  return freshRuntime(cell.world);
}

async function bindingFor(cell: Cell): Promise<Record<string, string>> {
  const token = cell.identity.token;
  if (token === "own runtime" || token === "removed member") return {};
  const runtimeId = await freshRuntime(cell.world, true);
  const list = await expectStatus(cell.world, "GET", `${runtimeUrl(runtimeId)}/capabilities`, 200);
  return { runtime_id: runtimeId, binding_id: list.items[0].id };
}

async function freshMember(cell: Cell): Promise<Record<string, string>> {
  const member = await expectStatus(cell.world, "POST", `${orgUrl}/members`, 201, {
    email: `member-${next()}@example.test`,
    role: "reader",
  });
  return { user_id: member.user_id };
}

/** A new person on the instance, made by the instance admin. */
async function freshUser(cell: Cell): Promise<Record<string, string>> {
  const n = next();
  const user = await expectStatus(
    cell.world,
    "POST",
    "/api/v1/admin/users",
    201,
    { email: `person-${n}@example.test`, name: `Person ${n}` },
    cell.world.t.adminKey,
  );
  return { user_id: user.id };
}

async function freshVersion(cell: Cell, name: string): Promise<Record<string, string>> {
  const version = `1.0.${next()}`;
  await publishVersion(cell.world, name, version);
  return { name, version };
}

async function publishVersion(world: World, name: string, version: string): Promise<void> {
  const res = await world.t.app.inject({
    method: "POST",
    url: `${orgUrl}/capabilities`,
    headers: { ...bearer(world.owner), "content-type": "application/gzip" },
    payload: capabilityBundle({ name, version }),
  });
  assert.equal(res.statusCode, 201, `fixture publish ${name}@${version}: ${res.body}`);
}

let mcpServerName: Promise<string> | undefined;

/** A public capability with an MCP server, published once: what every caller of /v0 may read. */
function publicMcpServer(world: World): Promise<string> {
  mcpServerName ??= (async () => {
    const res = await world.t.app.inject({
      method: "POST",
      url: `${orgUrl}/capabilities?public=true`,
      headers: { ...bearer(world.owner), "content-type": "application/gzip" },
      payload: capabilityBundle({
        name: "matrix-mcp",
        manifestExtra: "mcp:\n  servers:\n    svc:\n      url: https://svc.example.com/mcp",
      }),
    });
    assert.equal(res.statusCode, 201, `fixture publish matrix-mcp: ${res.body}`);
    return `io.capstan.${ORG}/matrix-mcp-svc`;
  })();
  return mcpServerName;
}

const bundleOf = (name: string, n: number): CellRequest => ({
  payload: capabilityBundle({ name, version: `1.0.${n}` }),
  contentType: "application/gzip",
});

// ─── The rule table: one entry per route the app serves ─────────────────────────────────────────

const RULES: Record<string, Rule | Rule[]> = {
  "GET /healthz": { access: "public", ok: 200 },
  "GET /readyz": { access: "public", ok: 200 },
  "GET /metrics": { access: "public", ok: 200 },
  "GET /openapi.json": { access: "public", ok: 200 },
  "GET /schemas/capability.schema.json": { access: "public", ok: 200 },
  "GET /docs": { access: "public", ok: 200 },
  "GET /docs/json": { access: "public", ok: 200 },
  "GET /docs/yaml": { access: "public", ok: 200 },
  // swagger-ui sends its page's old address on to `/docs/`.
  "GET /docs/static/index.html": { access: "public", ok: 302 },
  "GET /docs/static/swagger-initializer.js": { access: "public", ok: 200 },
  "GET /docs/static/*": { access: "public", ok: 200, build: () => ({ params: { "*": "swagger-ui.css" } }) },
  // The signature is the credential: any caller holding the signed URL may download.
  "GET /api/v1/blobs/:sha256": {
    access: "public",
    ok: 200,
    build: ({ world }) => ({ params: { sha256: world.blob.sha256 }, query: world.blob.query }),
  },

  "GET /v0/servers": { access: "anyone", ok: 200 },
  "GET /v0/servers/:serverName/versions": {
    access: "anyone",
    ok: 200,
    build: async ({ world }) => ({ params: { serverName: await publicMcpServer(world) } }),
  },
  "GET /v0/servers/:serverName/versions/:version": {
    access: "anyone",
    ok: 200,
    build: async ({ world }) => ({ params: { serverName: await publicMcpServer(world), version: "latest" } }),
  },

  "GET /api/v1/user/me": { access: "self", ok: 200 },
  "GET /api/v1/user/organizations": { access: "self", ok: 200 },
  "GET /api/v1/user/api-keys": { access: "self", ok: 200 },
  "POST /api/v1/user/api-keys": {
    access: "self",
    ok: 201,
    build: ({ n }) => ({ payload: { name: `key ${n}` } }),
  },
  "DELETE /api/v1/user/api-keys/:key_id": {
    access: "self",
    ok: 204,
    // A key of the caller's own user, so that a success is reachable.
    build: async ({ world, identity, n }) => {
      const key = await expectStatus(
        world,
        "POST",
        "/api/v1/user/api-keys",
        201,
        { name: `doomed ${n}` },
        identity.userKey,
      );
      return { params: { key_id: key.id } };
    },
  },
  "POST /api/v1/orgs": {
    access: "signup",
    ok: 201,
    build: ({ n }) => ({ payload: { key: `made-${n}`, name: `Made ${n}` } }),
  },

  "GET /api/v1/org/:org": { access: "reader", ok: 200 },
  "PATCH /api/v1/org/:org": { access: "owner", ok: 200, build: () => ({ payload: { name: "Matrix" } }) },
  "GET /api/v1/org/:org/audit": { access: "owner", ok: 200 },
  "GET /api/v1/org/:org/audit/verify": { access: "owner", ok: 200 },
  "GET /api/v1/org/:org/events": { access: "reader", ok: 200 },
  // The matrix app ends a stream as soon as it opens (maxDurationMs 0), so a cell gets its answer.
  "GET /api/v1/org/:org/events/stream": { access: "reader", ok: 200 },

  "GET /api/v1/org/:org/members": { access: "reader", ok: 200 },
  "POST /api/v1/org/:org/members": {
    access: "owner",
    ok: 201,
    build: ({ n }) => ({ payload: { email: `invited-${n}@example.test`, role: "reader" } }),
  },
  "PUT /api/v1/org/:org/members/:user_id": {
    access: "owner",
    ok: 200,
    build: async (cell) => ({ params: await freshMember(cell), payload: { role: "contributor" } }),
  },
  "DELETE /api/v1/org/:org/members/:user_id": {
    access: "owner",
    ok: 204,
    build: async (cell) => ({ params: await freshMember(cell) }),
  },

  "GET /api/v1/org/:org/service-accounts": { access: "owner", ok: 200 },
  "POST /api/v1/org/:org/service-accounts": {
    access: "owner",
    ok: 201,
    build: ({ n }) => ({ payload: { name: `Bot ${n}`, role: "reader" } }),
  },
  "GET /api/v1/org/:org/service-accounts/:user_id/api-keys": {
    access: "owner",
    ok: 200,
    build: ({ world }) => ({ params: { user_id: world.serviceAccount } }),
  },
  "POST /api/v1/org/:org/service-accounts/:user_id/api-keys": {
    access: "owner",
    ok: 201,
    build: ({ world, n }) => ({
      params: { user_id: world.serviceAccount },
      payload: { name: `bot key ${n}` },
    }),
  },
  "DELETE /api/v1/org/:org/service-accounts/:user_id/api-keys/:key_id": {
    access: "owner",
    ok: 204,
    build: async ({ world, n }) => {
      const url = `${orgUrl}/service-accounts/${world.serviceAccount}/api-keys`;
      const key = await expectStatus(world, "POST", url, 201, { name: `doomed bot key ${n}` });
      return { params: { user_id: world.serviceAccount, key_id: key.id } };
    },
  },

  "GET /api/v1/admin/users": { access: "admin", ok: 200 },
  "POST /api/v1/admin/users": {
    access: "admin",
    ok: 201,
    build: ({ n }) => ({ payload: { email: `person-${n}@example.test`, name: `Person ${n}` } }),
  },
  "PUT /api/v1/admin/users/:user_id": {
    access: "admin",
    ok: 200,
    build: async (cell) => ({ params: await freshUser(cell), payload: { is_admin: true } }),
  },
  "POST /api/v1/admin/users/:user_id/api-keys": {
    access: "admin",
    ok: 201,
    build: async (cell) => ({ params: await freshUser(cell), payload: { name: "first key" } }),
  },

  "GET /api/v1/org/:org/ws": { access: "reader", ok: 200 },
  "POST /api/v1/org/:org/ws": {
    access: "contributor",
    ok: 201,
    build: ({ n }) => ({ payload: { key: `ws-${n}`, name: `Workspace ${n}` } }),
  },
  "GET /api/v1/org/:org/ws/:workspace": { access: "reader", ok: 200 },
  "PATCH /api/v1/org/:org/ws/:workspace": {
    access: "contributor",
    ok: 200,
    build: () => ({ payload: { name: "Main" } }),
  },
  "DELETE /api/v1/org/:org/ws/:workspace": {
    access: "contributor",
    ok: 204,
    build: async ({ world }) => {
      const n = next();
      await expectStatus(world, "POST", `${orgUrl}/ws`, 201, { key: `gone-${n}`, name: `Gone ${n}` });
      return { params: { workspace: `gone-${n}` } };
    },
  },

  "GET /api/v1/org/:org/ws/:workspace/projects": { access: "reader", ok: 200 },
  "POST /api/v1/org/:org/ws/:workspace/projects": {
    access: "contributor",
    ok: 201,
    build: ({ n }) => ({ payload: { key: `project-${n}`, name: `Project ${n}` } }),
  },
  "GET /api/v1/org/:org/ws/:workspace/projects/:project": { access: "reader", ok: 200 },
  "PATCH /api/v1/org/:org/ws/:workspace/projects/:project": {
    access: "contributor",
    ok: 200,
    build: () => ({ payload: { name: "Default" } }),
  },
  "DELETE /api/v1/org/:org/ws/:workspace/projects/:project": {
    access: "contributor",
    ok: 204,
    build: async ({ world }) => {
      const n = next();
      await expectStatus(world, "POST", `${wsUrl}/projects`, 201, { key: `gone-${n}`, name: `Gone ${n}` });
      return { params: { project: `gone-${n}` } };
    },
  },

  "GET /api/v1/org/:org/ws/:workspace/runtimes": { access: "reader", ok: 200 },
  "POST /api/v1/org/:org/ws/:workspace/runtimes": {
    access: "contributor",
    ok: 201,
    build: ({ n }) => ({ payload: { key: `runtime-${n}`, name: `Runtime ${n}` } }),
  },
  "GET /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id": { access: "reader", ok: 200 },
  "PATCH /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id": {
    access: "contributor",
    ok: 200,
    build: async (cell) => ({ params: { runtime_id: await runtimeFor(cell) }, payload: { name: "Renamed" } }),
  },
  "DELETE /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id": {
    access: "contributor",
    ok: 204,
    build: async (cell) => ({ params: { runtime_id: await runtimeFor(cell) } }),
  },
  "GET /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/config": { access: "reader", ok: 200 },
  "PUT /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/config": {
    access: "contributor",
    ok: 200,
    build: async (cell) => ({
      params: { runtime_id: await runtimeFor(cell) },
      payload: { config: { version: "v2", capabilities: [{ name: CAPABILITY, version: "1.1.0" }] } },
    }),
  },
  // The one write a runtime token may make (SPEC §12): its own runtime's sync report.
  "PUT /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/status": {
    access: "contributor",
    runtimeToken: true,
    ok: 200,
    unaudited: "a sync report, sent every minute by every runtime, replaces the last one",
    build: () => ({ payload: { applied_digest: null, agent: { name: "matrix", version: "1.0.0" } } }),
  },
  "POST /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/tokens": {
    access: "contributor",
    ok: 201,
    build: () => ({ payload: {} }),
  },

  "GET /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/capabilities": {
    access: "reader",
    runtimeToken: true,
    fastLane: true,
    ok: 200,
  },
  "GET /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/capabilities/resolved": {
    access: "reader",
    runtimeToken: true,
    fastLane: true,
    ok: 200,
  },
  "GET /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/capabilities/:binding_id": {
    access: "reader",
    runtimeToken: true,
    ok: 200,
  },
  // Secret values: the runtime's own token, or an owner (SPEC §11).
  "GET /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/secrets": {
    access: "owner",
    runtimeToken: true,
    ok: 200,
  },
  "GET /api/v1/org/:org/ws/:workspace/secrets": { access: "reader", ok: 200 },
  "PUT /api/v1/org/:org/ws/:workspace/secrets/:name": {
    access: "contributor",
    ok: 201,
    build: ({ n }) => ({ params: { name: `MATRIX_${n}` }, payload: { value: `value ${n}` } }),
  },
  "DELETE /api/v1/org/:org/ws/:workspace/secrets/:name": {
    access: "contributor",
    ok: 204,
    build: async ({ world }) => {
      const n = next();
      await expectStatus(world, "PUT", `${wsUrl}/secrets/GONE_${n}`, 201, { value: "x" });
      return { params: { name: `GONE_${n}` } };
    },
  },
  "POST /api/v1/admin/secrets/rotate": { access: "admin", ok: 200 },
  // Scale mode backs up with pg_dump: the route refuses there (409) after the same admin check.
  "POST /api/v1/admin/backups":
    testDialect() === "postgres"
      ? { access: "admin", ok: 409, okType: "conflict_error" }
      : { access: "admin", ok: 201 },
  "GET /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/capabilities/:binding_id/upgrade-preview": {
    access: "reader",
    ok: 200,
    build: () => ({ query: "version=latest" }),
  },
  "POST /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/capabilities": {
    access: "contributor",
    ok: 201,
    build: async (cell) => ({
      params: { runtime_id: await runtimeFor(cell) },
      payload: { name: CAPABILITY, version: "1.0.0" },
    }),
  },
  "PATCH /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/capabilities/:binding_id": {
    access: "contributor",
    ok: 200,
    build: async (cell) => ({ params: await bindingFor(cell), payload: { enabled: false } }),
  },
  "DELETE /api/v1/org/:org/ws/:workspace/runtimes/:runtime_id/capabilities/:binding_id": {
    access: "contributor",
    ok: 204,
    build: async (cell) => ({ params: await bindingFor(cell) }),
  },

  "GET /api/v1/org/:org/capabilities": { access: "reader", ok: 200 },
  "GET /api/v1/org/:org/capabilities/facets": { access: "reader", ok: 200 },
  "POST /api/v1/org/:org/capabilities": [
    { access: "contributor", ok: 201, build: ({ n }) => bundleOf("matrix-published", n) },
    {
      // Visibility is the owner's to choose (SPEC §5); contributors were let through until the
      // publish route checked it: this cell fails until that fix is merged.
      variant: "public=true",
      access: "owner",
      ok: 201,
      build: ({ n }) => ({ ...bundleOf(`matrix-public-${n}`, n), query: "public=true" }),
    },
  ],
  "GET /api/v1/org/:org/capabilities/:name": { access: "reader", ok: 200 },
  "GET /api/v1/org/:org/capabilities/:name/versions": { access: "reader", ok: 200 },
  "GET /api/v1/org/:org/capabilities/:name/readme": { access: "reader", ok: 200 },
  "PATCH /api/v1/org/:org/capabilities/:name/visibility": {
    access: "owner",
    ok: 200,
    // Private stays private: a success changes nothing later cells rely on.
    build: () => ({ payload: { is_public: false } }),
  },
  // Trust (SPEC §14): signing keys are the owners' to manage; signatures and scans are the
  // capability's, readable by its readers; the org's publish policy is the owners' to change.
  "GET /api/v1/org/:org/signing-keys": { access: "reader", ok: 200 },
  "POST /api/v1/org/:org/signing-keys": {
    access: "owner",
    ok: 201,
    build: () => ({ payload: { name: `matrix-${next()}`, public_key: newSigningKey().publicPem } }),
  },
  "DELETE /api/v1/org/:org/signing-keys/:key_id": {
    access: "owner",
    ok: 204,
    build: async ({ world }) => {
      const key = await expectStatus(world, "POST", `${orgUrl}/signing-keys`, 201, {
        name: `gone-${next()}`,
        public_key: newSigningKey().publicPem,
      });
      return { params: { key_id: key.id } };
    },
  },
  "GET /api/v1/org/:org/capabilities/:name/:version/signatures": { access: "reader", ok: 200 },
  "POST /api/v1/org/:org/capabilities/:name/:version/signatures": {
    access: "contributor",
    ok: 201,
    // A key of its own per cell: a second signature by the same key is a 200 that changes nothing.
    build: async ({ world }) => {
      const key = newSigningKey();
      await expectStatus(world, "POST", `${orgUrl}/signing-keys`, 201, {
        name: `signer-${next()}`,
        public_key: key.publicPem,
      });
      const detail = await expectStatus(world, "GET", `${orgUrl}/capabilities/${CAPABILITY}/1.0.0`, 200);
      const subject = {
        org: ORG,
        capability: CAPABILITY,
        version: "1.0.0",
        artifactSha256: detail.artifact_sha256,
      };
      return { payload: signSubject(subject, key.privateKey) };
    },
  },
  "GET /api/v1/org/:org/capabilities/:name/:version/scan": { access: "reader", ok: 200 },
  "GET /api/v1/org/:org/policy": { access: "reader", ok: 200 },
  "PUT /api/v1/org/:org/policy": {
    access: "owner",
    ok: 200,
    // Alternates between two policies that refuse none of the matrix's clean bundles.
    build: () => ({ payload: { block_severity: next() % 2 === 0 ? "high" : "medium" } }),
  },
  "GET /api/v1/org/:org/capabilities/:name/tags": { access: "reader", ok: 200 },
  "PUT /api/v1/org/:org/capabilities/:name/tags/:tag": {
    access: "contributor",
    ok: 200,
    // A new tag per cell: setting a tag to the version it already names changes (and audits) nothing.
    build: () => ({ params: { tag: `matrix-${next()}` }, payload: { version: "1.0.0" } }),
  },
  "DELETE /api/v1/org/:org/capabilities/:name/tags/:tag": {
    access: "contributor",
    ok: 204,
    build: async (cell) => {
      const tag = `gone-${next()}`;
      const res = await cell.world.t.app.inject({
        method: "PUT",
        url: `${orgUrl}/capabilities/${CAPABILITY}/tags/${tag}`,
        headers: bearer(cell.world.owner),
        payload: { version: "1.0.0" },
      });
      assert.equal(res.statusCode, 200, res.body);
      return { params: { tag } };
    },
  },
  "GET /api/v1/org/:org/capabilities/:name/:version": { access: "reader", ok: 200 },
  "PATCH /api/v1/org/:org/capabilities/:name/:version": {
    access: "contributor",
    ok: 200,
    build: () => ({ payload: { status: "active" } }),
  },
  "DELETE /api/v1/org/:org/capabilities/:name/:version": {
    access: "owner",
    ok: 204,
    build: async (cell) => ({ params: await freshVersion(cell, "matrix-doomed") }),
  },
  "GET /api/v1/org/:org/capabilities/:name/:version/readme": { access: "reader", ok: 200 },
  // Bundles and files of the versions bound to a token's runtime are what it exists to fetch; a
  // removed member's token once still fetched them while its binding list already answered 404.
  "GET /api/v1/org/:org/capabilities/:name/:version/bundle": {
    access: "reader",
    runtimeToken: true,
    ok: 200,
  },
  "GET /api/v1/org/:org/capabilities/:name/:version/files/*": {
    access: "reader",
    runtimeToken: true,
    ok: 200,
  },
  // The paged file list: whoever may fetch a version's files may list them.
  "GET /api/v1/org/:org/capabilities/:name/:version/files": {
    access: "reader",
    runtimeToken: true,
    ok: 200,
  },
  // Webhooks (SPEC §15) are the owners': their URLs and delivery logs tell where the org's events go.
  "GET /api/v1/org/:org/webhooks": { access: "owner", ok: 200 },
  "POST /api/v1/org/:org/webhooks": {
    access: "owner",
    ok: 201,
    build: () => ({ payload: { url: `http://127.0.0.1:9/matrix-${next()}`, events: ["webhook.disabled"] } }),
  },
  "GET /api/v1/org/:org/webhooks/:webhook_id": {
    access: "owner",
    ok: 200,
    build: async ({ world }) => ({ params: { webhook_id: (await webhookFixture(world)).webhookId } }),
  },
  "PATCH /api/v1/org/:org/webhooks/:webhook_id": {
    access: "owner",
    ok: 200,
    build: async ({ world }) => ({
      params: { webhook_id: (await webhookFixture(world)).webhookId },
      payload: { description: `matrix ${next()}` },
    }),
  },
  "DELETE /api/v1/org/:org/webhooks/:webhook_id": {
    access: "owner",
    ok: 204,
    build: async ({ world }) => {
      const hook = await expectStatus(world, "POST", `${orgUrl}/webhooks`, 201, {
        url: "http://127.0.0.1:9/gone",
        events: ["webhook.disabled"],
      });
      return { params: { webhook_id: hook.id } };
    },
  },
  "GET /api/v1/org/:org/webhooks/:webhook_id/deliveries": {
    access: "owner",
    ok: 200,
    build: async ({ world }) => ({ params: { webhook_id: (await webhookFixture(world)).webhookId } }),
  },
  "POST /api/v1/org/:org/webhooks/:webhook_id/deliveries/:delivery_id/redeliver": {
    access: "owner",
    ok: 202,
    build: async ({ world }) => {
      const fixture = await webhookFixture(world);
      return { params: { webhook_id: fixture.webhookId, delivery_id: fixture.deliveryId } };
    },
  },
};

let webhookFixtureMade: Promise<{ webhookId: string; deliveryId: string }> | null = null;

/** A webhook with one delivery (to a closed port: it fails fast), made once for the cells above. */
function webhookFixture(world: World): Promise<{ webhookId: string; deliveryId: string }> {
  webhookFixtureMade ??= (async () => {
    const hook = await expectStatus(world, "POST", `${orgUrl}/webhooks`, 201, {
      url: "http://127.0.0.1:9/fixture",
      events: ["webhook.updated"],
    });
    await expectStatus(world, "PATCH", `${orgUrl}/webhooks/${hook.id}`, 200, { description: "fixture" });
    await world.t.app.services.webhookDispatcher.settle();
    const log = await expectStatus(world, "GET", `${orgUrl}/webhooks/${hook.id}/deliveries`, 200);
    return { webhookId: hook.id, deliveryId: log.items[0].id };
  })();
  return webhookFixtureMade;
}

/** The rules of `METHOD url`; a HEAD route answers as its GET route does, without a body. */
const rulesOf = (route: string): Rule[] => {
  const rule = RULES[route.replace(/^HEAD /, "GET ")];
  return rule === undefined ? [] : Array.isArray(rule) ? rule : [rule];
};

// ─── Running a cell ──────────────────────────────────────────────────────────────────────────────

function urlOf(template: string, world: World, request: CellRequest): string {
  const values: Record<string, string> = {
    org: ORG,
    workspace: "main",
    project: "default",
    runtime_id: world.home,
    binding_id: world.homeBinding,
    name: CAPABILITY,
    version: "1.0.0",
    "*": "capability.yaml",
    ...request.params,
  };
  const path = template
    .replace(/:(\w+)/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`no value for :${name} in ${template}`);
      return encodeURIComponent(value);
    })
    .replace(/\*$/, values["*"]);
  return request.query ? `${path}?${request.query}` : path;
}

/**
 * `200`, or `403 forbidden_error` once the body has passed as a SPEC §2.4 envelope; a HEAD answer
 * has no body, so its status alone.
 */
function describeOutcome(res: ResponseLike, method = "GET"): string {
  if (method === "HEAD") return res.body === "" ? String(res.statusCode) : `${res.statusCode} with a body`;
  if (res.statusCode < 400) return String(res.statusCode);
  let type: string;
  try {
    type = JSON.parse(res.body).type;
    assertEnvelope(res, res.statusCode, type as EnvelopeType);
  } catch (error) {
    return `${res.statusCode} without a valid envelope (${(error as Error).message.split("\n")[0]})`;
  }
  return `${res.statusCode} ${type}`;
}

const describeExpected = (outcome: Outcome, method: string): string =>
  outcome.type && method !== "HEAD" ? `${outcome.status} ${outcome.type}` : String(outcome.status);

async function overSocket(world: World, path: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(`${world.origin}${path}`, { headers: { connection: "close", ...headers } });
  return describeOutcome({
    statusCode: res.status,
    headers: Object.fromEntries(res.headers),
    body: await res.text(),
  });
}

/** Every mutation appends an audit event in its own transaction (SPEC §3): a refusal appends none. */
async function auditCount(world: World): Promise<number> {
  const row = await world.t.deps.db
    .selectFrom("audit_events")
    .select((eb) => eb.fn.countAll().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function runCell(world: World, method: string, url: string, rule: Rule, identity: Identity) {
  const request = (await rule.build?.({ world, identity, n: next() })) ?? {};
  const mutating = MUTATING.has(method);
  const auditBefore = mutating ? await auditCount(world) : 0;
  const res = await world.t.app.inject({
    method: method as Method,
    url: urlOf(url, world, request),
    headers: {
      ...identity.headers,
      ...(request.contentType && { "content-type": request.contentType }),
    },
    payload: request.payload as object | undefined,
  });
  const outcome = describeOutcome(res, method);
  if (rule.fastLane && method === "GET") {
    // Should the request above not have filled the caches, the first of these does and the lane
    // answers the second from memory.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const live = await overSocket(world, urlOf(url, world, request), identity.headers);
      if (live !== outcome) return `${outcome}, yet ${live} over a socket (request ${attempt})`;
    }
  }
  if (!mutating) return outcome;
  const audited = (await auditCount(world)) - auditBefore;
  if (res.statusCode >= 400 && audited !== 0) return `${outcome}, yet ${audited} audit event(s) written`;
  if (res.statusCode < 400 && audited === 0 && !rule.unaudited)
    return `${outcome}, yet no audit event written`;
  if (rule.unaudited && audited !== 0) return `${outcome}, yet ${audited} audit event(s) written`;
  return outcome;
}

/**
 * The matrix org and everything its cells read: members of each role, the owner's restricted keys,
 * a published capability bound to a runtime, runtime tokens, another org with its service account,
 * and the app listening on a port for the fast lane's cells.
 */
async function buildWorld(): Promise<{ world: World; identities: Identity[] }> {
  // Webhook cells register endpoints on 127.0.0.1 (a closed port).
  const t = await buildTestApp({
    env: { CAPSTAN_WEBHOOK_ALLOW_PRIVATE: "true" },
    serviceOptions: { eventStreams: { maxDurationMs: 0 } },
  });
  const adminId = (await callApi(t, "GET", "/api/v1/user/me", t.adminKey)).json().id;
  await newOrg(t, ORG);
  const owner = await newUserKey(t, { org: ORG, role: "owner" });
  const contributor = await newUserKey(t, { org: ORG, role: "contributor" });
  const reader = await newUserKey(t, { org: ORG, role: "reader" });
  const leaver = await newUserKey(t, { org: ORG, role: "contributor" });
  const partial = { t, owner: owner.key } as World;
  // The bootstrap admin made the org; it leaves, so that only the identities below are members.
  await expectStatus(partial, "DELETE", `${orgUrl}/members/${adminId}`, 204);

  // The owner's own keys with one restriction each: the restriction, not the role, decides.
  const mintOwnerKey = (payload: Record<string, unknown>) =>
    expectStatus(partial, "POST", "/api/v1/user/api-keys", 201, payload);
  const readOnly = await mintOwnerKey({ name: "read-only", read_only: true });
  const revoked = await mintOwnerKey({ name: "revoked" });
  await expectStatus(partial, "DELETE", `/api/v1/user/api-keys/${revoked.id}`, 204);
  const expiring = await mintOwnerKey({ name: "expiring", expires_in_days: 1 });
  // Time passes before anything else is made, so the expiring key alone has expired.
  t.advanceClock(2 * DAY_MS);

  for (const version of ["1.0.0", "1.1.0"]) await publishVersion(partial, CAPABILITY, version);
  const home = await expectStatus(partial, "POST", `${wsUrl}/runtimes`, 201, {
    key: "home",
    name: "Home",
    config: { version: "v2", capabilities: [{ name: CAPABILITY, version: "1.0.0" }] },
  });
  const other = await expectStatus(partial, "POST", `${wsUrl}/runtimes`, 201, {
    key: "other",
    name: "Other",
  });
  const homeBindings = await expectStatus(partial, "GET", `${runtimeUrl(home.id)}/capabilities`, 200);
  const mintToken = (runtimePath: string, key: string) =>
    expectStatus(partial, "POST", `${runtimePath}/tokens`, 201, {}, key);
  const ownToken = await mintToken(runtimeUrl(home.id), owner.key);
  const otherRuntimeToken = await mintToken(runtimeUrl(other.id), owner.key);
  // A contributor's token, then the contributor leaves the org: the token must not outlive that.
  const orphanedToken = await mintToken(runtimeUrl(home.id), leaver.key);
  await expectStatus(partial, "DELETE", `${orgUrl}/members/${leaver.userId}`, 204);

  const stranger = await newStranger(t);
  const strangerRuntime = await expectStatus(
    partial,
    "POST",
    `/api/v1/org/${stranger.org}/ws/main/runtimes`,
    201,
    { key: "theirs", name: "Theirs" },
    stranger.key,
  );
  const foreignToken = await mintToken(
    `/api/v1/org/${stranger.org}/ws/main/runtimes/${strangerRuntime.id}`,
    stranger.key,
  );
  // Another org's automation user: its key is limited to that org.
  const theirBot = await expectStatus(
    partial,
    "POST",
    `/api/v1/org/${stranger.org}/service-accounts`,
    201,
    { name: "Their bot", role: "owner" },
    stranger.key,
  );
  const theirBotKey = await expectStatus(
    partial,
    "POST",
    `/api/v1/org/${stranger.org}/service-accounts/${theirBot.user_id}/api-keys`,
    201,
    { name: "their bot key" },
    stranger.key,
  );
  // The owner of the matrix org also owns another org, and holds a key limited to that one.
  await expectStatus(partial, "POST", "/api/v1/orgs", 201, { key: "elsewhere", name: "Elsewhere" });
  const limitedElsewhere = await mintOwnerKey({ name: "limited elsewhere", org: "elsewhere" });
  const ourBot = await expectStatus(partial, "POST", `${orgUrl}/service-accounts`, 201, {
    name: "Our bot",
    role: "reader",
  });

  const link = await expectStatus(partial, "GET", `${orgUrl}/capabilities/${CAPABILITY}/1.0.0/bundle`, 200);
  const download = new URL(link.download_url);
  const world: World = {
    ...partial,
    home: home.id,
    homeBinding: homeBindings.items[0].id,
    serviceAccount: ourBot.user_id,
    origin: "",
    laneAnswers: 0,
    blob: { sha256: download.pathname.split("/").pop() as string, query: download.search.slice(1) },
  };
  // Counts what the lane answers, so that its cells cannot pass without it.
  const lane = t.app.fastLane;
  const serve = lane.serve.bind(lane);
  lane.serve = (request, response) => {
    const answered = serve(request, response);
    if (answered) world.laneAnswers++;
    return answered;
  };
  world.origin = await t.app.listen({ host: "127.0.0.1", port: 0 });

  const key = (credential: string) => bearer(credential);
  const identities: Identity[] = [
    {
      name: "anonymous",
      headers: {},
      refused: { status: 401, type: "authentication_error" },
      userKey: owner.key,
    },
    {
      name: "garbage credential",
      headers: key(UNKNOWN_KEY),
      refused: { status: 401, type: "authentication_error" },
      userKey: owner.key,
    },
    {
      name: "malformed credential",
      headers: key("not-a-capstan-key"),
      refused: { status: 401, type: "token_error" },
      userKey: owner.key,
    },
    {
      name: "expired key",
      headers: key(expiring.key),
      refused: { status: 401, type: "expired_token_error" },
      userKey: owner.key,
    },
    {
      name: "revoked key",
      headers: key(revoked.key),
      refused: { status: 401, type: "authentication_error" },
      userKey: owner.key,
    },
    {
      name: "read-only key",
      headers: key(readOnly.key),
      role: "owner",
      readOnly: true,
      userKey: owner.key,
    },
    { name: "non-member", headers: key(stranger.key), userKey: stranger.key },
    {
      name: "service-account key of another org",
      headers: key(theirBotKey.key),
      limited: true,
      userKey: theirBotKey.key,
    },
    {
      name: "owner's key limited to another org",
      headers: key(limitedElsewhere.key),
      limited: true,
      userKey: limitedElsewhere.key,
    },
    { name: "instance admin, not a member", headers: key(t.adminKey), admin: true, userKey: t.adminKey },
    { name: "reader", headers: key(reader.key), role: "reader", userKey: reader.key },
    { name: "contributor", headers: key(contributor.key), role: "contributor", userKey: contributor.key },
    { name: "owner", headers: key(owner.key), role: "owner", userKey: owner.key },
    // The other header a key may come in (SPEC §2.2), on every route and in the fast lane alike.
    {
      name: "owner, X-API-Key header",
      headers: { "x-api-key": owner.key },
      role: "owner",
      userKey: owner.key,
    },
    {
      name: "runtime token, same runtime",
      headers: key(ownToken.token),
      token: "own runtime",
      userKey: owner.key,
    },
    {
      name: "runtime token, another runtime",
      headers: key(otherRuntimeToken.token),
      token: "another runtime",
      userKey: owner.key,
    },
    {
      name: "runtime token, another org",
      headers: key(foreignToken.token),
      token: "another org",
      userKey: stranger.key,
    },
    {
      name: "runtime token of a removed member",
      headers: key(orphanedToken.token),
      token: "removed member",
      userKey: leaver.key,
    },
  ];
  return { world, identities };
}

// ─── The suite ───────────────────────────────────────────────────────────────────────────────────

/**
 * Every route a rule names, with HEAD beside each GET; reads first, then changes, so a change that
 * wrongly succeeds cannot disturb a read's fixtures. Declared up front, so each route is its own test
 * (and has the runner's time limit to itself); the first test checks this list against the router.
 */
const ROUTES = Object.keys(RULES)
  .flatMap((route) => (route.startsWith("GET ") ? [route, route.replace(/^GET /, "HEAD ")] : [route]))
  .map((route) => {
    const [method, url] = route.split(" ");
    return { method, url };
  })
  .sort((a, b) => Number(MUTATING.has(a.method)) - Number(MUTATING.has(b.method)));

describe("authorization matrix: every route × every kind of caller", () => {
  let world: World;
  let identities: Identity[];

  before(async () => {
    ({ world, identities } = await buildWorld());
  });
  after(() => world?.t.close());

  test("has a rule for every route the app serves, and no rule for a route it does not", () => {
    const served = registeredRoutes(world.t.app, { head: true }).map(({ method, url }) => `${method} ${url}`);
    assert.ok(served.includes("GET /api/v1/user/me"), "the route table was read");
    const declared = ROUTES.map(({ method, url }) => `${method} ${url}`);
    // Routes nobody has decided who may call belong in RULES; rules without a route are stale.
    assert.deepEqual(
      {
        routesWithoutRule: served.filter((route) => !declared.includes(route)),
        rulesWithoutRoute: declared.filter((route) => !served.includes(route)),
      },
      { routesWithoutRule: [], rulesWithoutRoute: [] },
    );
  });

  for (const { method, url } of ROUTES) {
    for (const rule of rulesOf(`${method} ${url}`)) {
      test(`${method} ${url}${rule.variant ? `?${rule.variant}` : ""}`, async () => {
        const actual: Record<string, string> = {};
        const expected: Record<string, string> = {};
        for (const identity of identities) {
          expected[identity.name] = describeExpected(expectedOutcome(method, rule, identity), method);
          actual[identity.name] = await runCell(world, method, url, rule, identity);
        }
        assert.deepEqual(actual, expected);
      });
    }
  }

  test("sent the fast lane's cells through the lane", () => {
    assert.ok(world.laneAnswers > 0, "the fast lane answered none of its cells");
  });
});
