// Migration 0003 on a database written by the code before it: instance admins, and the revocation
// of every key an org owner minted for someone else through the removed member key route (and of
// whatever such a key minted). Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type Kysely, Migrator } from "kysely";
import { loadConfig } from "../../src/config.js";
import { connectDatabase, type DatabaseHandle } from "../../src/db/connect.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import * as m0001 from "../../src/db/migrations/0001_create_schema.js";
import * as m0002 from "../../src/db/migrations/0002_create_blob_tables.js";
import { generateApiKey } from "../../src/lib/api-key-format.js";
import { newId } from "../../src/lib/ids.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

const AT = "2026-01-01T00:00:00.000Z";

describe("migration 0003_add_admins_and_key_limits", () => {
  let dataDir: string;
  let testDatabase: TestDatabase;
  let handle: DatabaseHandle;
  // biome-ignore lint/suspicious/noExplicitAny: the schema before this migration is not the current one
  let db: Kysely<any>;
  const ids = {
    admin: newId(),
    attacker: newId(),
    victim: newId(),
    defaultOrg: newId(),
    evilOrg: newId(),
    runtime: newId(),
  };
  const keys: Record<string, string> = {};

  async function insertKey(
    name: string,
    userId: string,
    minted: { orgId: string | null; actor: string | null; byKey: string | null; action?: string } | null,
    runtimeId: string | null = null,
  ): Promise<void> {
    const id = newId();
    const generated = generateApiKey();
    keys[name] = id;
    await db
      .insertInto("api_keys")
      .values({
        id,
        user_id: userId,
        name,
        prefix: generated.prefix,
        key_hash: generated.hash,
        read_only: runtimeId ? 1 : 0,
        runtime_id: runtimeId,
        expires_at: null,
        revoked_at: null,
        last_used_at: null,
        created_at: AT,
      })
      .execute();
    if (minted === null) return;
    // What the code before this migration wrote for each kind of key.
    await db
      .insertInto("audit_events")
      .values({
        id: newId(),
        org_id: minted.orgId,
        at: AT,
        actor_user_id: minted.actor,
        api_key_id: minted.byKey === null ? null : keys[minted.byKey],
        action: minted.action ?? "api_key.created",
        target_type: "api_key",
        target_id: id,
        request_id: "req",
        data: JSON.stringify({ user_id: userId, name, prefix: generated.prefix, read_only: false }),
      })
      .execute();
  }

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "capstan-migration-"));
    testDatabase = await createTestDatabase(dataDir, { empty: true });
    const config = loadConfig({}, { CAPSTAN_DATA_DIR: dataDir, CAPSTAN_DATABASE_URL: testDatabase.url });
    handle = connectDatabase(config.database);
    db = handle.db;
    const before0003 = new Migrator({
      db,
      provider: {
        getMigrations: async () => ({ "0001_create_schema": m0001, "0002_create_blob_tables": m0002 }),
      },
    });
    const { error } = await before0003.migrateToLatest();
    if (error) throw error;

    const user = (id: string, email: string) => ({ id, email, name: email.split("@")[0], created_at: AT });
    await db
      .insertInto("users")
      .values([
        user(ids.admin, "admin@localhost"),
        user(ids.attacker, "mallory@example.test"),
        user(ids.victim, "victim@example.test"),
      ])
      .execute();
    const org = (id: string, key: string) => ({
      id,
      key,
      name: key,
      description: null,
      created_at: AT,
      updated_at: AT,
    });
    await db
      .insertInto("orgs")
      .values([org(ids.defaultOrg, "default"), org(ids.evilOrg, "evil")])
      .execute();
    const member = (orgId: string, userId: string, role: string) => ({
      org_id: orgId,
      user_id: userId,
      role,
      created_at: AT,
    });
    await db
      .insertInto("memberships")
      .values([
        member(ids.defaultOrg, ids.admin, "owner"),
        member(ids.defaultOrg, ids.victim, "owner"),
        member(ids.evilOrg, ids.attacker, "owner"),
        member(ids.evilOrg, ids.victim, "reader"),
      ])
      .execute();
    const workspaceId = newId();
    const projectId = newId();
    await db
      .insertInto("workspaces")
      .values({
        id: workspaceId,
        org_id: ids.defaultOrg,
        key: "main",
        name: "Main",
        description: null,
        is_default: 1,
        created_at: AT,
        updated_at: AT,
      })
      .execute();
    await db
      .insertInto("projects")
      .values({
        id: projectId,
        org_id: ids.defaultOrg,
        workspace_id: workspaceId,
        key: "default",
        name: "Default",
        description: null,
        is_default: 1,
        created_at: AT,
        updated_at: AT,
      })
      .execute();
    await db
      .insertInto("runtimes")
      .values({
        id: ids.runtime,
        org_id: ids.defaultOrg,
        workspace_id: workspaceId,
        project_id: projectId,
        key: "default",
        name: "R",
        description: null,
        status: "idle",
        config: "{}",
        created_at: AT,
        updated_at: AT,
      })
      .execute();

    await insertKey("bootstrap", ids.admin, null);
    await insertKey("attacker-own", ids.attacker, { orgId: null, actor: ids.attacker, byKey: null });
    await insertKey("victim-own", ids.victim, { orgId: null, actor: ids.victim, byKey: null });
    // POST /org/evil/members/{victim}/api-keys by the attacker: the takeover.
    await insertKey("stolen", ids.victim, { orgId: ids.evilOrg, actor: ids.attacker, byKey: "attacker-own" });
    // The attacker kept a spare through POST /user/api-keys, and a spare of the spare.
    await insertKey("spare", ids.victim, { orgId: null, actor: ids.victim, byKey: "stolen" });
    await insertKey("spare-of-spare", ids.victim, { orgId: null, actor: ids.victim, byKey: "spare" });
    // and a runtime token in the victim's org.
    await insertKey(
      "stolen-token",
      ids.victim,
      { orgId: ids.defaultOrg, actor: ids.victim, byKey: "stolen", action: "runtime.token.created" },
      ids.runtime,
    );
    // An owner who minted a key for themselves through the old route acted as no one else.
    await insertKey("self-minted", ids.attacker, {
      orgId: ids.evilOrg,
      actor: ids.attacker,
      byKey: "attacker-own",
    });
    // A runtime token minted with a legitimate key.
    await insertKey(
      "good-token",
      ids.victim,
      { orgId: ids.defaultOrg, actor: ids.victim, byKey: "victim-own", action: "runtime.token.created" },
      ids.runtime,
    );

    await migrateToLatest(handle.db);
  });

  after(async () => {
    await handle.close();
    await testDatabase.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("revokes keys minted for another user, and every key minted with them", async () => {
    const rows = await db.selectFrom("api_keys").select(["id", "revoked_at"]).execute();
    const revoked = new Set(rows.filter((r) => r.revoked_at !== null).map((r) => r.id));
    const names = (set: Set<string>) =>
      Object.keys(keys)
        .filter((name) => set.has(keys[name]))
        .sort();
    assert.deepEqual(names(revoked), ["spare", "spare-of-spare", "stolen", "stolen-token"]);
  });

  test("records each revocation in the audit log, in the org the key was minted through", async () => {
    const events = await db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "api_key.revoked")
      .execute();
    assert.equal(events.length, 4);
    const stolen = events.find((e) => e.target_id === keys.stolen);
    assert.ok(stolen);
    assert.equal(stolen.org_id, ids.evilOrg);
    assert.equal(stolen.actor_user_id, null);
    assert.equal(JSON.parse(stolen.data).user_id, ids.victim);
  });

  test("makes the bootstrap user the instance admin, nobody else", async () => {
    const users = await db
      .selectFrom("users")
      .select(["id", "is_admin", "service_org_id"])
      .orderBy("id")
      .execute();
    assert.deepEqual(
      users.filter((u) => u.is_admin === 1).map((u) => u.id),
      [ids.admin],
    );
    assert.ok(users.every((u) => u.service_org_id === null));
  });

  test("limits existing runtime tokens to their runtime's org, and no other key", async () => {
    const rows = await db.selectFrom("api_keys").select(["id", "org_id"]).execute();
    const orgOf = new Map(rows.map((r) => [r.id, r.org_id]));
    assert.equal(orgOf.get(keys["good-token"]), ids.defaultOrg);
    assert.equal(orgOf.get(keys["victim-own"]), null);
    assert.equal(orgOf.get(keys.bootstrap), null);
  });
});
