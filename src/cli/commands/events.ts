// `capstan events` (SPEC §15, §16): an org's events, listed by seq or followed live over the
// Server-Sent Events stream; and `capstan audit verify`, the audit hash chain's check.
//
// --follow reconnects after a dropped connection (or a stream the server ended) with
// Last-Event-ID, so nothing is missed and nothing printed twice; a connection that stays silent
// for three heartbeats is taken for dead and replaced the same way.
import { ApiError, apiPath, NetworkError } from "../api-client.js";
import { CliError } from "../cli-errors.js";
import type { CommandContext, CommandSpec, GroupSpec } from "../command.js";
import { formatTimestamp } from "../presenters.js";
import { readSse } from "../sse.js";

interface EventItem {
  seq: number;
  type: string;
  occurred_at: string;
  actor: { user_id: string | null; api_key_id: string | null } | null;
  org: string;
  workspace?: string;
  subject: { kind: string; id: string; name?: string };
  data: Record<string, unknown>;
}

interface EventPage {
  items: EventItem[];
  next_after: number;
  has_more: boolean;
}

/** Three missed heartbeats (15 s each): the connection is gone even if no error says so. */
const SILENCE_MS = 45_000;
const MAX_BACKOFF_MS = 30_000;

function parseSeq(ctx: CommandContext, value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value))
    throw ctx.usageError(`--${option} takes a non-negative integer, not '${value}'`);
  return Number(value);
}

function row(event: EventItem): string[] {
  const subject = `${event.subject.kind} ${event.subject.name ?? event.subject.id}`;
  return [String(event.seq), formatTimestamp(event.occurred_at), event.type, subject, event.workspace ?? "-"];
}

const HEADERS = ["SEQ", "TIME", "TYPE", "SUBJECT", "WORKSPACE"];

export const eventsCommand: CommandSpec = {
  name: "events",
  summary: "List the organization's events, or follow them live (--follow)",
  options: {
    follow: { type: "boolean", short: "f", description: "Keep printing new events as they happen" },
    types: {
      type: "string",
      value: "LIST",
      description: "Only these types: exact or prefix.* (comma-separated)",
    },
    after: {
      type: "string",
      value: "SEQ",
      description: "Start after this seq (default: the start; --follow: now)",
    },
    limit: { type: "string", value: "N", description: "At most N events (default 100; --follow: no limit)" },
  },
  details: `Examples:
  capstan events --types binding.*,runtime.status_changed
  capstan events --follow --json          one JSON event per line
With --follow a dropped connection is resumed where it stopped (Last-Event-ID).`,
  async run(ctx, input) {
    const after = parseSeq(ctx, input.string("after"), "after");
    const limit = parseSeq(ctx, input.string("limit"), "limit");
    if (limit === 0) throw ctx.usageError("--limit must be at least 1");
    const types = input.string("types");
    const scope = await ctx.orgScope();
    const base = apiPath`/org/${scope.org}/events`;
    if (!input.boolean("follow")) {
      const wanted = limit ?? 100;
      const items: EventItem[] = [];
      let cursor = after ?? 0;
      let hasMore = true;
      while (hasMore && items.length < wanted) {
        const page = (
          await scope.api.get<EventPage>(base, {
            query: { after: String(cursor), limit: String(Math.min(1000, wanted - items.length)), types },
          })
        ).body;
        items.push(...page.items);
        cursor = page.next_after;
        hasMore = page.has_more;
      }
      if (ctx.json) {
        ctx.out.data({ items, next_after: cursor });
        return;
      }
      if (items.length === 0) {
        ctx.out.line(`No events in ${scope.org} after ${after ?? 0}.`);
        return;
      }
      ctx.out.table(HEADERS, items.map(row));
      if (hasMore) ctx.out.line(`More follow: capstan events --after ${cursor}`);
      return;
    }

    // Following: until interrupted, or --limit events were printed.
    const stop = new AbortController();
    const removeHandler = ctx.io.onStopSignal(() => stop.abort());
    let lastId: string | null = after === undefined ? null : String(after);
    let printed = 0;
    let backoff = 500;
    try {
      while (!stop.signal.aborted) {
        const connection = new AbortController();
        const onStop = () => connection.abort();
        stop.signal.addEventListener("abort", onStop, { once: true });
        let silence: NodeJS.Timeout | undefined;
        const heard = () => {
          clearTimeout(silence);
          silence = setTimeout(() => connection.abort(), SILENCE_MS);
        };
        try {
          heard();
          const response = await scope.api.stream(`${base}/stream`, {
            query: { types },
            headers: lastId === null ? {} : { "last-event-id": lastId },
            signal: connection.signal,
          });
          if (response.body === null) throw new NetworkError("the event stream has no body");
          for await (const item of readSse(response.body as unknown as AsyncIterable<Uint8Array>)) {
            heard();
            backoff = 500;
            if (item.kind === "comment") {
              // The first comment tells where the stream starts: resume from there if it drops.
              const start = /after (\d+)$/.exec(item.text);
              if (start && lastId === null) lastId = start[1];
              continue;
            }
            const event = JSON.parse(item.data) as EventItem;
            if (item.id !== null) lastId = item.id;
            if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(event)}\n`);
            else ctx.out.line(row(event).join("  "));
            printed += 1;
            if (limit !== undefined && printed >= limit) {
              stop.abort();
              break;
            }
          }
        } catch (error) {
          if (stop.signal.aborted) break;
          // The server's refusal (revoked key, lost role, bad --types) ends it; anything else retries.
          if (error instanceof ApiError && error.status !== 429 && error.status < 500) throw error;
        } finally {
          clearTimeout(silence);
          stop.signal.removeEventListener("abort", onStop);
          connection.abort();
        }
        if (stop.signal.aborted) break;
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      }
    } finally {
      removeHandler();
    }
  },
};

interface Verification {
  ok: boolean;
  records: number;
  head: { chain_seq: number; hash: string };
  broken?: { id: string | null; chain_seq: number; reason: string };
}

const REASONS: Record<string, string> = {
  hash_mismatch: "its hash does not match its contents and the record before it (edited, or reordered)",
  missing: "no record holds this position (deleted)",
  duplicate: "two records hold this position (inserted)",
  unchained: "records outside the chain exist",
  truncated: "the chain ends before its recorded head (records deleted at the end)",
  head_mismatch: "the last record's hash differs from the recorded head",
};

const verify: CommandSpec = {
  name: "verify",
  summary: "Check the organization's audit hash chain (owner); exits 1 at the first broken link",
  async run(ctx) {
    const scope = await ctx.orgScope();
    const result = (await scope.api.get<Verification>(apiPath`/org/${scope.org}/audit/verify`)).body;
    if (ctx.json) ctx.out.data(result);
    else if (result.ok)
      ctx.out.line(
        `The audit chain of ${scope.org} is intact: ${result.records} records, head ${result.head.hash}.`,
      );
    if (result.ok) return;
    const broken = result.broken ?? { id: null, chain_seq: 0, reason: "unknown" };
    throw new CliError(
      `the audit chain of ${scope.org} is broken at position ${broken.chain_seq}` +
        `${broken.id ? ` (record ${broken.id})` : ""}: ${REASONS[broken.reason] ?? broken.reason}; ` +
        `${result.records} records before it verify`,
    );
  },
};

export const auditGroup: GroupSpec = {
  name: "audit",
  summary: "The tamper-evident audit log",
  commands: [verify],
};
