// Tracking bindings and auto-update (SPEC §13): a binding made from latest or a tag tracks it; with
// auto_update it is re-pointed in the very transaction that moves its target, its runtime's
// resolved digest changes, and a yank moves it back to the highest remaining version.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { callApi, expectError } from "../helpers/api.js";
import {
  type Binding,
  bind,
  listBindings,
  newRuntime,
  patchBinding,
  readResolved,
} from "../helpers/bindings.js";
import { capabilityBundle, publishBundle, publishOk } from "../helpers/capability-bundles.js";
import { buildTestApp, type TestApp } from "../helpers/test-app.js";

const CAP = "/api/v1/org/default/capabilities";
const RUNTIMES = 100;
const AUTO = 50;
const FLAGS_1_0 =
  'flags:\n  readonly:\n    description: "Hide mutating tools"\n  verbose:\n    description: "Say more"';
const FLAGS_1_1 = 'flags:\n  readonly:\n    description: "Hide mutating tools"';

type Tracked = Binding & { track: string | null; auto_update: boolean };

describe("auto-update of tracking bindings", () => {
  let t: TestApp;
  const runtimes: string[] = [];
  const digestsBefore = new Map<string, string>();

  before(async () => {
    t = await buildTestApp();
    await publishOk(t, { name: "tracked", version: "1.0.0", manifestExtra: FLAGS_1_0 });
    const setUp = async (i: number) => {
      const runtimeId = await newRuntime(t, `track-${i}`);
      // The first auto-update binding carries overrides: one the next version declares, one it drops.
      const flags = i === 0 ? { readonly: true, verbose: true } : undefined;
      await bind(t, runtimeId, { name: "tracked", auto_update: i < AUTO, ...(flags && { flags }) });
      // Read once, so the cached views must be dropped by the move.
      digestsBefore.set(runtimeId, (await readResolved(t, runtimeId)).runtime_digest);
      return runtimeId;
    };
    // Ten at a time: the requests are independent, and the file stays quick.
    for (let start = 0; start < RUNTIMES; start += 10) {
      const ids = Array.from({ length: 10 }, (_, k) => start + k);
      runtimes.push(...(await Promise.all(ids.map(setUp))));
    }
  });
  after(() => t.close());

  const versionOf = async (runtimeId: string) => ((await listBindings(t, runtimeId))[0] as Tracked).version;

  async function injectPublishFailure(on: boolean): Promise<void> {
    const db = t.deps.db;
    if (t.deps.dialect === "sqlite") {
      await sql
        .raw(
          on
            ? `create trigger fail_publish before insert on audit_events when new.action = 'capability.version.published' begin select raise(abort, 'injected failure'); end`
            : "drop trigger fail_publish",
        )
        .execute(db);
      return;
    }
    if (on) {
      await sql
        .raw(`create function fail_publish() returns trigger language plpgsql as $$
          begin if new.action = 'capability.version.published' then raise exception 'injected failure'; end if;
          return new; end $$`)
        .execute(db);
      await sql
        .raw(
          "create trigger fail_publish before insert on audit_events for each row execute function fail_publish()",
        )
        .execute(db);
    } else {
      await sql.raw("drop trigger fail_publish on audit_events").execute(db);
      await sql.raw("drop function fail_publish()").execute(db);
    }
  }

  test("records what a binding tracks", async () => {
    const [item] = (await listBindings(t, runtimes[0])) as Tracked[];
    assert.equal(item.track, "latest");
    assert.equal(item.auto_update, true);
    const [manual] = (await listBindings(t, runtimes[AUTO])) as Tracked[];
    assert.equal(manual.track, "latest");
    assert.equal(manual.auto_update, false);
  });

  test("a failure in the publish transaction rolls back the version and the moves together", async () => {
    await injectPublishFailure(true);
    try {
      const res = await publishBundle(
        t,
        capabilityBundle({ name: "tracked", version: "1.1.0", manifestExtra: FLAGS_1_1 }),
      );
      assert.equal(res.statusCode, 500, res.body);
    } finally {
      await injectPublishFailure(false);
    }
    expectError(await callApi(t, "GET", `${CAP}/tracked/1.1.0`, t.adminKey), 404, "not_found_error");
    const moved = await t.deps.db
      .selectFrom("bindings")
      .innerJoin("capability_versions", "capability_versions.id", "bindings.version_id")
      .select("capability_versions.version")
      .where("bindings.runtime_id", "in", runtimes)
      .execute();
    assert.deepEqual([...new Set(moved.map((row) => row.version))], ["1.0.0"]);
  });

  test("publishing 1.1.0 moves exactly the auto-update bindings, with their digests", async () => {
    await publishOk(t, { name: "tracked", version: "1.1.0", manifestExtra: FLAGS_1_1 });
    for (const [i, runtimeId] of runtimes.entries()) {
      const [item] = (await listBindings(t, runtimeId)) as Tracked[];
      const resolved = await readResolved(t, runtimeId);
      if (i < AUTO) {
        assert.equal(item.version, "1.1.0", `runtime ${i}`);
        assert.equal(item.revision, 2);
        assert.equal(item.upgrade_available, false);
        assert.equal(resolved.capabilities[0].version, "1.1.0");
        assert.notEqual(resolved.runtime_digest, digestsBefore.get(runtimeId));
      } else {
        assert.equal(item.version, "1.0.0", `runtime ${i}`);
        assert.equal(item.upgrade_available, true);
        assert.equal(resolved.runtime_digest, digestsBefore.get(runtimeId));
      }
    }
    // Overrides the new version declares are kept; the others are dropped.
    assert.deepEqual((await listBindings(t, runtimes[0]))[0].flags, { readonly: true });
  });

  test("each move is audited as the system actor in the runtime's org", async () => {
    const events = await t.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .where("action", "=", "runtime.capability.auto_updated")
      .execute();
    assert.equal(events.length, AUTO);
    for (const event of events) {
      assert.equal(event.actor_user_id, null);
      assert.equal(event.api_key_id, null);
      const data = JSON.parse(event.data);
      assert.equal(data.from_version, "1.0.0");
      assert.equal(data.to_version, "1.1.0");
      assert.equal(data.cause.action, "capability.version.published");
    }
    const first = events.find((event) => JSON.parse(event.data).runtime_id === runtimes[0]);
    assert.deepEqual(JSON.parse(first?.data ?? "{}").dropped_overrides, ["verbose"]);
  });

  test("a yank of the tracked version moves them back to the highest remaining", async () => {
    const res = await callApi(t, "PATCH", `${CAP}/tracked/1.1.0`, t.adminKey, { status: "yanked" });
    assert.equal(res.statusCode, 200, res.body);
    for (const [i, runtimeId] of runtimes.entries()) {
      assert.equal(await versionOf(runtimeId), "1.0.0", `runtime ${i}`);
      if (i > 0)
        assert.equal((await readResolved(t, runtimeId)).runtime_digest, digestsBefore.get(runtimeId));
    }
  });

  test("a binding made from a tag tracks it and follows its moves", async () => {
    await publishOk(t, { name: "channel", version: "2.0.0" });
    await publishOk(t, { name: "channel", version: "2.1.0-beta.1" });
    assert.equal(
      (await callApi(t, "PUT", `${CAP}/channel/tags/beta`, t.adminKey, { version: "2.1.0-beta.1" }))
        .statusCode,
      200,
    );
    const follower = await newRuntime(t, "beta-follower");
    const watcher = await newRuntime(t, "beta-watcher");
    const followed = (await bind(t, follower, {
      name: "channel",
      version: "beta",
      auto_update: true,
    })) as Tracked;
    assert.equal(followed.version, "2.1.0-beta.1");
    assert.equal(followed.track, "beta");
    await bind(t, watcher, { name: "channel", version: "beta" });

    await publishOk(t, { name: "channel", version: "2.1.0-beta.2" });
    assert.equal(await versionOf(follower), "2.1.0-beta.1", "a publish does not move a tag");
    assert.equal(
      (await callApi(t, "PUT", `${CAP}/channel/tags/beta`, t.adminKey, { version: "2.1.0-beta.2" }))
        .statusCode,
      200,
    );
    assert.equal(await versionOf(follower), "2.1.0-beta.2");
    const [watched] = (await listBindings(t, watcher)) as Tracked[];
    assert.equal(watched.version, "2.1.0-beta.1");
    assert.equal(watched.upgrade_available, true, "compared with the tag, not with latest");

    // The tag is removed: nothing to follow, the binding stays.
    assert.equal((await callApi(t, "DELETE", `${CAP}/channel/tags/beta`, t.adminKey)).statusCode, 204);
    assert.equal(await versionOf(follower), "2.1.0-beta.2");
  });

  test("pinning an explicit version stops tracking; auto_update needs something to track", async () => {
    const runtimeId = await newRuntime(t, "pinned");
    expectError(
      await callApi(t, "POST", `/api/v1/org/default/ws/main/runtimes/${runtimeId}/capabilities`, t.adminKey, {
        name: "tracked",
        version: "1.0.0",
        auto_update: true,
      }),
      422,
      "validation_error",
      ["body", "auto_update"],
    );
    const item = (await bind(t, runtimeId, { name: "tracked", auto_update: true })) as Tracked;
    const pinned = (await patchBinding(t, runtimeId, item.id, { version: "1.0.0" })) as Tracked;
    assert.equal(pinned.track, null);
    assert.equal(pinned.auto_update, false);
    const again = (await patchBinding(t, runtimeId, item.id, {
      version: "latest",
      auto_update: true,
    })) as Tracked;
    assert.equal(again.track, "latest");
    assert.equal(again.auto_update, true);
  });
});
