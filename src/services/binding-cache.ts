// In-memory views of a runtime's bindings (the §7.1 list, the §7.6 resolved set), serialized once
// and served until something they show changes. The binding list is the product's hot path: a hit
// costs a map lookup, never a query.
//
// Invalidation comes from the change feed, which every writer publishes to after commit:
// - {kind: "runtime"}: bindings, config or existence of that runtime changed;
// - {kind: "capability"}: a publish, status or visibility change or delete moved the capability's
//   latest version or a version's status, so every cached runtime that binds it is dropped (an index
//   capability → runtimes makes that cheap);
// - {kind: "secrets"}: a workspace secret of the org was set or deleted: its runtimes' views go;
// - {kind: "org_trust"}: an org's signing keys changed: the views carrying its keys go;
// - {kind: "all"}: missed notifications (scale mode), drop everything.
import { notFound } from "../errors.js";
import type { ChangeEvent, ChangeFeed } from "./change-feed.js";
import type { Actor, ServiceDeps } from "./deps.js";
import type { OrgRoleCache } from "./org-role-cache.js";
import type { RuntimePath } from "./runtime-path.js";
import { requireRuntimeTokenRead } from "./runtime-token-service.js";

/** What every cached view records about its runtime, to answer for a path and to be invalidated. */
export interface RuntimeView {
  orgId: string;
  workspaceKey: string;
  capabilityIds: readonly string[];
  /** Orgs whose signing keys the view carries (the resolved set's `trusted_keys`); absent: none. */
  trustOrgIds?: readonly string[];
}

/**
 * A response serialized once and sent as is. Its UTF-8 bytes, not its text: a string body is copied
 * into a new string with the headers and encoded again on every send, about 10 KB of garbage per
 * binding list; the same Buffer is written as it is.
 */
export interface SerializedBody {
  body: Buffer;
  /** body.length, as the Content-Length header. */
  contentLength: string;
}

export function serialized(value: unknown): SerializedBody {
  const body = Buffer.from(JSON.stringify(value));
  return { body, contentLength: String(body.length) };
}

interface Fill<V> {
  /** `stale` is set when a change arrives while the view is being read: its result must not be cached. */
  state: { stale: boolean };
  promise: Promise<V>;
}

/** A list of 20 bindings serializes to ~10 KB: 5,000 runtimes cost ~50 MB per cache at most. */
const DEFAULT_MAX_ENTRIES = 5_000;

interface Entry<V> {
  view: V;
  /** Read since eviction last passed it: it gets a second chance (the CLOCK policy). */
  recent: boolean;
}

export class RuntimeViewCache<V extends RuntimeView> {
  /** In insertion order, which eviction walks from the oldest. */
  private readonly entries = new Map<string, Entry<V>>();
  private readonly runtimesByCapability = new Map<string, Set<string>>();
  private readonly fills = new Map<string, Fill<V>>();

  constructor(
    changes: ChangeFeed,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
  ) {
    changes.subscribe((event) => this.onChange(event));
  }

  /** The cached view, or the one `load` reads (concurrent misses share one read). */
  get(runtimeId: string, load: () => Promise<V>): Promise<V> {
    const cached = this.peek(runtimeId);
    if (cached) return Promise.resolve(cached);
    return this.fills.get(runtimeId)?.promise ?? this.fill(runtimeId, load);
  }

  /** The cached view without waiting, or undefined. */
  peek(runtimeId: string): V | undefined {
    const entry = this.entries.get(runtimeId);
    if (!entry) return undefined;
    // A flag, not a re-insertion: a hit on the hot path costs one lookup, and eviction still
    // spares the runtimes that are being read.
    entry.recent = true;
    return entry.view;
  }

  private fill(runtimeId: string, load: () => Promise<V>): Promise<V> {
    const state = { stale: false };
    const promise = load()
      .then((view) => {
        if (!state.stale) this.store(runtimeId, view);
        return view;
      })
      .finally(() => {
        if (this.fills.get(runtimeId)?.state === state) this.fills.delete(runtimeId);
      });
    this.fills.set(runtimeId, { state, promise });
    return promise;
  }

  private store(runtimeId: string, view: V): void {
    this.evictRuntime(runtimeId);
    if (this.entries.size >= this.maxEntries) this.evictColdest();
    this.entries.set(runtimeId, { view, recent: false });
    for (const capabilityId of view.capabilityIds) {
      let runtimes = this.runtimesByCapability.get(capabilityId);
      if (!runtimes) {
        runtimes = new Set();
        this.runtimesByCapability.set(capabilityId, runtimes);
      }
      runtimes.add(runtimeId);
    }
  }

  /**
   * Second chance: from the oldest, a view read since the last pass moves to the back with its flag
   * cleared; the first one not read is dropped. Every view is passed at most once, so this ends.
   */
  private evictColdest(): void {
    for (const [runtimeId, entry] of this.entries) {
      if (!entry.recent) {
        this.evictRuntime(runtimeId);
        return;
      }
      entry.recent = false;
      this.entries.delete(runtimeId);
      this.entries.set(runtimeId, entry);
    }
  }

  private onChange(event: ChangeEvent): void {
    if (event.kind === "runtime") this.evictRuntime(event.runtimeId);
    else if (event.kind === "capability") this.evictCapability(event.capabilityId);
    else if (event.kind === "secrets") this.evictOrg(event.orgId);
    else if (event.kind === "org_trust") this.evictTrust(event.orgId);
    else if (event.kind === "all") this.clear();
  }

  private evictRuntime(runtimeId: string): void {
    this.abandonFill(runtimeId);
    const entry = this.entries.get(runtimeId);
    if (!entry) return;
    this.entries.delete(runtimeId);
    for (const capabilityId of entry.view.capabilityIds) {
      const runtimes = this.runtimesByCapability.get(capabilityId);
      runtimes?.delete(runtimeId);
      if (runtimes?.size === 0) this.runtimesByCapability.delete(capabilityId);
    }
  }

  /**
   * Every view of the org's runtimes: a secret change is rare, and a walk over the cached views
   * needs no index of workspaces (which a rename would also have to keep up to date).
   */
  private evictOrg(orgId: string): void {
    for (const runtimeId of [...this.fills.keys()]) this.abandonFill(runtimeId);
    for (const [runtimeId, entry] of [...this.entries])
      if (entry.view.orgId === orgId) this.evictRuntime(runtimeId);
  }

  /** Every view carrying the org's keys; a walk, like evictOrg: keys change rarely. */
  private evictTrust(orgId: string): void {
    // A read in flight may hold the old keys, and which org's keys it carries is unknown until it ends.
    for (const runtimeId of [...this.fills.keys()]) this.abandonFill(runtimeId);
    for (const [runtimeId, entry] of [...this.entries])
      if (entry.view.trustOrgIds?.includes(orgId)) this.evictRuntime(runtimeId);
  }

  private evictCapability(capabilityId: string): void {
    // A read in flight may already hold the old state of this capability; which runtimes it
    // covers is unknown until it ends, so none of them may be cached.
    for (const runtimeId of [...this.fills.keys()]) this.abandonFill(runtimeId);
    const runtimes = this.runtimesByCapability.get(capabilityId);
    if (!runtimes) return;
    for (const runtimeId of [...runtimes]) this.evictRuntime(runtimeId);
  }

  private clear(): void {
    for (const runtimeId of [...this.fills.keys()]) this.abandonFill(runtimeId);
    this.entries.clear();
    this.runtimesByCapability.clear();
  }

  /** Requests after a change must not join a read that started before it. */
  private abandonFill(runtimeId: string): void {
    const fill = this.fills.get(runtimeId);
    if (!fill) return;
    fill.state.stale = true;
    this.fills.delete(runtimeId);
  }
}

// Who may read a runtime's view, the same for the binding list and the resolved set: a member of
// the runtime's org (any role), at the path of its own org and workspace, and a runtime token only
// for its own runtime (SPEC §7.6).

const isViewAt = (view: RuntimeView, orgId: string, workspaceKey: string): boolean =>
  view.orgId === orgId && view.workspaceKey === workspaceKey;

/**
 * The view from memory when `actor` may read it at `path`; undefined in every other case, errors
 * included: `readViewFor` then decides (the fast lane relies on this never throwing). For a runtime
 * token this is requireRuntimeTokenRead answered from memory: its own runtime, whose creator's role
 * in the path's org is cached (roles are evicted when membership changes), and whose view lies in
 * that org and workspace (views are evicted when the runtime is deleted).
 */
export function cachedViewFor<V extends RuntimeView>(
  views: RuntimeViewCache<V>,
  roles: OrgRoleCache,
  actor: Actor,
  path: RuntimePath,
): V | undefined {
  if (actor.runtimeId !== null && actor.runtimeId !== path.runtimeId) return undefined;
  // Reader is the lowest role: peek answers a member or undefined, it never refuses.
  const role = roles.peek(actor, path.org, "reader");
  const view = role && views.peek(path.runtimeId);
  return view && isViewAt(view, role.orgId, path.workspace) ? view : undefined;
}

/** The view, read if need be: 403 for another runtime's token, 404 for a non-member or another path. */
export async function readViewFor<V extends RuntimeView>(
  deps: ServiceDeps,
  views: RuntimeViewCache<V>,
  roles: OrgRoleCache,
  actor: Actor,
  path: RuntimePath,
  load: () => Promise<V>,
): Promise<V> {
  if (actor.runtimeId !== null) await requireRuntimeTokenRead(deps, actor, { runtime: path });
  const { orgId } = await roles.require(actor, path.org, "reader");
  const view = await views.get(path.runtimeId, load);
  if (!isViewAt(view, orgId, path.workspace)) throw notFound("Runtime");
  return view;
}
