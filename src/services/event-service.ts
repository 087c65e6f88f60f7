// Reading an org's events (SPEC §15): the cursor list and the Server-Sent Events stream.
//
// Both read up to the org's head (log_heads.event_seq), read first: every event up to it has
// committed, since a writer moves the head and inserts its events in one transaction, so a reader
// never steps past an event that commits later with a smaller seq. With a type filter the cursor
// still moves to the head, past the events the filter left out.
//
// A stream is a loop per client that sleeps until the change feed says its org has new events
// (`{kind: "events"}`, relayed between instances in scale mode), a heartbeat is due, its access
// must be checked again, or it must end. It never polls the database while idle. It writes one
// batch at a time and reads the next only once the socket has taken it, so a slow client holds
// at most a batch in memory; one that takes nothing for `drainTimeoutMs`, or whose buffer passes
// `maxBufferedBytes`, is disconnected (it resumes with Last-Event-ID). Streams are capped per org
// and per instance; the server's close ends them all at once.
import { performance } from "node:perf_hooks";
import type { Writable } from "node:stream";
import { MAX_SEQ, MAX_TYPE_PATTERNS, TYPE_PATTERN } from "../contract/events.js";
import { isUsableKeyId } from "../db/repositories/api-key-repository.js";
import { type EventRow, lastOrgEventSeq, readOrgEvents } from "../db/repositories/event-repository.js";
import { AppError, validationIssue } from "../errors.js";
import { requireOrgRole } from "./access.js";
import type { ChangeEvent } from "./change-feed.js";
import type { Actor, ServiceDeps } from "./deps.js";

export interface EventView {
  seq: number;
  id: string;
  type: string;
  occurred_at: string;
  actor: { user_id: string | null; api_key_id: string | null } | null;
  org: string;
  workspace?: string;
  workspace_id?: string;
  subject: { kind: string; id: string; name?: string };
  data: Record<string, unknown>;
}

/**
 * The JSON form of an event (list items, stream `data:`, and webhook payloads): `org` is the org's
 * key, as in every path; `workspace` the workspace's key while it exists, `workspace_id` always.
 */
export function presentEvent(row: EventRow, orgKey: string): EventView {
  const actor = JSON.parse(row.actor) as { user_id: string | null; api_key_id: string | null };
  return {
    seq: Number(row.seq),
    id: row.id,
    type: row.type,
    occurred_at: row.occurred_at,
    actor: actor.user_id === null && actor.api_key_id === null ? null : actor,
    org: orgKey,
    ...(row.workspace_key !== null ? { workspace: row.workspace_key } : {}),
    ...(row.workspace_id !== null ? { workspace_id: row.workspace_id } : {}),
    subject: JSON.parse(row.subject) as EventView["subject"],
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

/** `types=a.b,c.*` as patterns; 422 for anything else. Empty or absent: every type. */
export function parseEventTypes(
  value: string | undefined,
  loc: (string | number)[] = ["query", "types"],
): string[] {
  if (value === undefined || value.trim() === "") return [];
  const patterns = [...new Set(value.split(",").map((part) => part.trim()))];
  if (patterns.length > MAX_TYPE_PATTERNS)
    throw validationIssue(loc, `at most ${MAX_TYPE_PATTERNS} types`, "value_error.event_types");
  for (const pattern of patterns) {
    if (!TYPE_PATTERN.test(pattern))
      throw validationIssue(
        loc,
        `'${pattern.slice(0, 100)}' is not an event type, a prefix ending in '.*', or '*'`,
        "value_error.event_types",
      );
  }
  return patterns;
}

/** A `Last-Event-ID` header as a seq; 422 unless it is one. */
export function parseLastEventId(value: string): number {
  const trimmed = value.trim();
  const seq = /^\d{1,16}$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(seq) || seq > MAX_SEQ)
    throw validationIssue(
      ["header", "last-event-id"],
      "must be an event seq (a non-negative integer)",
      "value_error.integer",
    );
  return seq;
}

export interface EventPageView {
  items: EventView[];
  next_after: number;
  has_more: boolean;
}

export async function listEvents(
  deps: ServiceDeps,
  actor: Actor,
  orgKey: string,
  query: { after?: number; limit?: number; types?: string },
): Promise<EventPageView> {
  const patterns = parseEventTypes(query.types);
  const after = query.after ?? 0;
  const limit = query.limit ?? 100;
  const { org } = await requireOrgRole(deps, actor, orgKey, "reader");
  const head = await lastOrgEventSeq(deps.db, org.id);
  if (after >= head) return { items: [], next_after: after, has_more: false };
  const rows = await readOrgEvents(deps.db, org.id, { after, until: head, limit, types: patterns });
  const full = rows.length === limit;
  const last = full ? Number(rows[rows.length - 1].seq) : head;
  return {
    items: rows.map((row) => presentEvent(row, org.key)),
    next_after: last,
    has_more: full && last < head,
  };
}

export interface EventStreamOptions {
  /** A comment line this often keeps proxies from closing an idle stream (SPEC: 15 s). */
  heartbeatMs: number;
  /** How often a stream checks again that its key and role still allow it (also on key/role changes). */
  recheckMs: number;
  /** Streams per org and per instance; one over either cap is refused with 429. */
  maxPerOrg: number;
  /**
   * Streams one key (or session) may hold on this instance, whatever their orgs: without it a single
   * reader's key could take every slot of its org's cap and lock the owners' streams out, and a user
   * (who may create orgs at will) every slot of the instance. Over it: 429.
   */
  maxPerKey: number;
  maxStreams: number;
  /** Events read (and written) per batch. */
  batchSize: number;
  /** A client whose socket buffer passes this, or takes nothing for drainTimeoutMs, is dropped. */
  maxBufferedBytes: number;
  drainTimeoutMs: number;
  /**
   * A stream ends after this long and its client reconnects with Last-Event-ID: long-lived
   * connections spread again over the instances, and each reconnect authenticates afresh.
   */
  maxDurationMs: number;
}

export const DEFAULT_EVENT_STREAM_OPTIONS: EventStreamOptions = {
  heartbeatMs: 15_000,
  recheckMs: 60_000,
  maxPerOrg: 100,
  maxPerKey: 16,
  maxStreams: 2_000,
  batchSize: 200,
  maxBufferedBytes: 1024 * 1024,
  drainTimeoutMs: 30_000,
  maxDurationMs: 60 * 60_000,
};

/** Why a sleeping stream woke. */
type Wake = "events" | "recheck" | "heartbeat" | "end";

class StreamSlot {
  /** Set when something happened since the stream last looked: it must look again before sleeping. */
  pendingEvents = false;
  pendingRecheck = false;
  ended = false;
  /** Called once when the stream is ended (a stream waiting for its socket to drain listens). */
  readonly onEnd = new Set<() => void>();
  private waking: ((reason: Wake) => void) | null = null;

  constructor(
    readonly orgId: string,
    readonly keyId: string,
  ) {}

  wake(reason: Wake): void {
    if (reason === "events") this.pendingEvents = true;
    if (reason === "recheck") this.pendingRecheck = true;
    if (reason === "end" && !this.ended) {
      this.ended = true;
      for (const listener of this.onEnd) listener();
    }
    const waking = this.waking;
    this.waking = null;
    waking?.(reason);
  }

  /** Resolves on the first wake or after `ms` ("heartbeat"); at once when something is pending. */
  sleep(ms: number): Promise<Wake> {
    if (this.ended) return Promise.resolve("end");
    if (this.pendingRecheck) return Promise.resolve("recheck");
    if (this.pendingEvents) return Promise.resolve("events");
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake("heartbeat"), ms);
      this.waking = (reason) => {
        clearTimeout(timer);
        resolve(reason);
      };
    });
  }
}

export class EventStreams {
  private readonly byOrg = new Map<string, Set<StreamSlot>>();
  private readonly byKey = new Map<string, number>();
  private count = 0;
  private closing = false;
  readonly options: EventStreamOptions;

  constructor(
    private readonly deps: ServiceDeps,
    options: Partial<EventStreamOptions> = {},
  ) {
    this.options = { ...DEFAULT_EVENT_STREAM_OPTIONS, ...options };
    deps.changes.subscribe((event) => this.onChange(event));
  }

  /** Open streams on this instance (metrics, tests). */
  get size(): number {
    return this.count;
  }

  /**
   * Checks the caller may read the org's events and takes a slot (429 over a cap), before any byte
   * of the stream is sent: refusals are ordinary error responses. `after` null: only new events.
   */
  async open(actor: Actor, orgKey: string, after: number | null, types: string[]): Promise<EventStream> {
    const { org } = await requireOrgRole(this.deps, actor, orgKey, "reader");
    if (this.closing)
      throw new AppError("usage_limit_exceeded_error", "The server is shutting down; reconnect");
    const streams = this.byOrg.get(org.id);
    if (this.count >= this.options.maxStreams)
      throw new AppError("usage_limit_exceeded_error", "Too many event streams on this server; retry later");
    if ((streams?.size ?? 0) >= this.options.maxPerOrg)
      throw new AppError(
        "usage_limit_exceeded_error",
        `Too many event streams for '${org.key}'; close one first`,
      );
    const mine = this.byKey.get(actor.apiKeyId) ?? 0;
    if (mine >= this.options.maxPerKey)
      throw new AppError(
        "usage_limit_exceeded_error",
        `This key already has ${mine} open event streams; close one first`,
      );
    // The slot is taken before the next await: requests opening streams at once each see the
    // others' slots, so none passes a cap that all of them together exceed.
    const slot = new StreamSlot(org.id, actor.apiKeyId);
    const set = streams ?? new Set();
    set.add(slot);
    this.byOrg.set(org.id, set);
    this.byKey.set(actor.apiKeyId, mine + 1);
    this.count += 1;
    let start: number;
    try {
      start = after ?? (await lastOrgEventSeq(this.deps.db, org.id));
    } catch (error) {
      this.release(slot);
      throw error;
    }
    return new EventStream(
      this.deps,
      this.options,
      slot,
      { id: org.id, key: org.key },
      actor,
      start,
      types,
      () => this.release(slot),
    );
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    this.closing = true;
    for (const set of this.byOrg.values()) for (const slot of set) slot.wake("end");
  }

  private release(slot: StreamSlot): void {
    const set = this.byOrg.get(slot.orgId);
    if (set?.delete(slot)) {
      this.count -= 1;
      const left = (this.byKey.get(slot.keyId) ?? 1) - 1;
      if (left > 0) this.byKey.set(slot.keyId, left);
      else this.byKey.delete(slot.keyId);
      if (set.size === 0) this.byOrg.delete(slot.orgId);
    }
  }

  private onChange(event: ChangeEvent): void {
    switch (event.kind) {
      case "events":
        for (const slot of this.byOrg.get(event.orgId) ?? []) slot.wake("events");
        return;
      case "org":
        for (const slot of this.byOrg.get(event.orgId) ?? []) slot.wake("recheck");
        return;
      case "api_key":
        for (const set of this.byOrg.values())
          for (const slot of set) if (slot.keyId === event.keyId) slot.wake("recheck");
        return;
      case "all":
        for (const set of this.byOrg.values())
          for (const slot of set) {
            slot.wake("recheck");
            slot.wake("events");
          }
        return;
      default:
        return;
    }
  }
}

/** One client's stream: `run` writes to `out` until the client leaves, loses access or the server closes. */
export class EventStream {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly options: EventStreamOptions,
    private readonly slot: StreamSlot,
    private readonly org: { id: string; key: string },
    private readonly actor: Actor,
    private after: number,
    private readonly types: string[],
    private readonly release: () => void,
  ) {}

  /** Where the stream starts: events with a greater seq are sent. */
  get start(): number {
    return this.after;
  }

  /** Stops the stream (the client went away). */
  stop(): void {
    this.slot.wake("end");
  }

  async run(out: Writable): Promise<void> {
    const { options, slot } = this;
    const onGone = () => slot.wake("end");
    out.on("close", onGone);
    let checkedAt = performance.now();
    const endsAt = checkedAt + options.maxDurationMs;
    try {
      // Anything already waiting is sent at once.
      slot.pendingEvents = true;
      while (!slot.ended && !out.destroyed && performance.now() < endsAt) {
        if (slot.pendingRecheck || performance.now() - checkedAt >= options.recheckMs) {
          slot.pendingRecheck = false;
          checkedAt = performance.now();
          if (!(await this.stillAllowed())) break;
        }
        if (slot.pendingEvents) {
          slot.pendingEvents = false;
          if (!(await this.sendNew(out))) break;
          continue;
        }
        const wake = await slot.sleep(
          Math.max(0, Math.min(options.heartbeatMs, options.recheckMs, endsAt - performance.now())),
        );
        if (wake === "heartbeat" && out.writableLength === 0 && performance.now() < endsAt)
          out.write(": heartbeat\n\n");
      }
    } finally {
      out.off("close", onGone);
      this.release();
      if (!out.destroyed) out.end();
    }
  }

  /** Sends every event up to the head, a batch at a time; false when the client was dropped. */
  private async sendNew(out: Writable): Promise<boolean> {
    const { options, slot } = this;
    for (;;) {
      const head = await lastOrgEventSeq(this.deps.db, this.org.id);
      if (head <= this.after) return true;
      const rows = await readOrgEvents(this.deps.db, this.org.id, {
        after: this.after,
        until: head,
        limit: options.batchSize,
        types: this.types,
      });
      if (slot.ended || out.destroyed) return false;
      let chunk = "";
      for (const row of rows) chunk += frame(presentEvent(row, this.org.key));
      const full = rows.length === options.batchSize;
      this.after = full ? Number(rows[rows.length - 1].seq) : head;
      if (chunk === "") continue;
      const flushed = out.write(chunk);
      if (out.writableLength > options.maxBufferedBytes) {
        out.destroy();
        return false;
      }
      if (!flushed && !(await drained(out, options.drainTimeoutMs, slot))) {
        out.destroy();
        return false;
      }
      if (!full) return true;
    }
  }

  private async stillAllowed(): Promise<boolean> {
    const at = this.deps.now().toISOString();
    if (!(await isUsableKeyId(this.deps.db, this.actor.apiKeyId, at))) return false;
    try {
      await requireOrgRole(this.deps, this.actor, this.org.key, "reader");
      return true;
    } catch (error) {
      if (error instanceof AppError) return false;
      throw error;
    }
  }
}

/** One SSE message: `id:` the seq (what Last-Event-ID sends back), `event:` the type, `data:` the JSON. */
function frame(event: EventView): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Resolves true once `out` drains, false after `ms` or when the stream ends first. */
function drained(out: Writable, ms: number, slot: StreamSlot): Promise<boolean> {
  return new Promise((resolve) => {
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      slot.onEnd.delete(onClose);
      out.off("drain", onDrain);
      out.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => finish(true);
    const onClose = () => finish(false);
    const timer = setTimeout(() => finish(false), ms);
    if (slot.ended) return finish(false);
    // A server close ends the stream without an event on `out`.
    slot.onEnd.add(onClose);
    out.once("drain", onDrain);
    out.once("close", onClose);
  });
}
