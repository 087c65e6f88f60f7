// Scale mode: change events travel between instances over PostgreSQL LISTEN/NOTIFY, so every
// instance's caches are invalidated within moments of a write anywhere (SPEC §8). If the listening
// connection drops, local caches are told to forget everything (an `all` event) before it
// reconnects, since notifications sent meanwhile are lost.
import { randomUUID } from "node:crypto";
import pg from "pg";
import type { Logger } from "pino";
import type { ChangeEvent, ChangeFeed, ChangeListener } from "./change-feed.js";

const CHANNEL = "capstan_changes";

export class PgChangeFeed implements ChangeFeed {
  readonly reachesOtherInstances = true;
  private readonly listeners = new Set<ChangeListener>();
  private readonly instanceId = randomUUID();
  private client: pg.Client | null = null;
  private closed = false;
  private readonly notifier: pg.Pool;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {
    this.notifier = new pg.Pool({ connectionString: url, max: 2 });
  }

  async start(): Promise<void> {
    await this.connect();
  }

  publish(event: ChangeEvent): void {
    this.deliver(event);
    const payload = JSON.stringify({ from: this.instanceId, event });
    this.notifier.query("select pg_notify($1, $2)", [CHANNEL, payload]).catch((error) => {
      this.logger.warn({ err: error }, "could not relay a change to other instances");
    });
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client?.end().catch(() => {});
    await this.notifier.end();
  }

  private deliver(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("notification", (message) => {
      if (!message.payload) return;
      try {
        const { from, event } = JSON.parse(message.payload) as { from: string; event: ChangeEvent };
        if (from !== this.instanceId) this.deliver(event);
      } catch (error) {
        this.logger.warn({ err: error }, "ignored a malformed change notification");
      }
    });
    client.on("error", (error) => {
      this.logger.warn({ err: error }, "change feed connection lost; reconnecting");
      this.reconnect(client);
    });
    client.on("end", () => this.reconnect(client));
    await client.connect();
    await client.query(`listen ${CHANNEL}`);
    this.client = client;
  }

  private reconnect(dead: pg.Client): void {
    if (this.closed || this.client !== dead) return;
    this.client = null;
    this.deliver({ kind: "all" });
    const retry = (delay: number) =>
      setTimeout(() => {
        if (this.closed) return;
        this.connect().catch(() => retry(Math.min(delay * 2, 5_000)));
      }, delay).unref();
    retry(100);
  }
}
