// A cache of the small reads every authenticated request needs (its API key, the caller's role in
// an org), so that the hot path neither queries nor waits:
// - an entry is trusted for `ttlMs` after the read that produced it began;
// - once it is older than `refreshAfterMs`, its next use reads it again in the background, so an
//   entry in steady use never expires and no request stalls on the database when it would have
//   (without this, every request arriving in the instant after expiry queried at once);
// - concurrent misses of one key share one read;
// - an eviction (a revocation, a role change) voids every read in flight: a read that began before
//   it can never store what it saw.
export interface RefreshAheadOptions<V> {
  /** Reads the value; undefined when there is none (nothing is cached then). */
  load(key: string): Promise<V | undefined>;
  ttlMs: number;
  refreshAfterMs: number;
  /** Past this many entries the cache starts over: a bound on memory, not an eviction policy. */
  maxEntries: number;
  /** Milliseconds; the services' clock, so tests can move it. */
  now(): number;
  /** A background refresh failed; the entry was dropped and the next use reads again. */
  onRefreshError(error: unknown): void;
}

/** The background refreshes running now, in every cache of the process. */
const refreshesInFlight = new Set<Promise<unknown>>();

/**
 * Resolves once no background refresh is running. Tests wait on this instead of sleeping, since how
 * long a refresh takes depends on the machine.
 */
export async function backgroundRefreshesSettled(): Promise<void> {
  while (refreshesInFlight.size > 0) await Promise.allSettled([...refreshesInFlight]);
}

interface Entry<V> {
  value: V;
  readAt: number;
}

export class RefreshAheadCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly reads = new Map<string, Promise<V | undefined>>();
  /** Moves on every eviction; a read stores its result only if it has not moved since it began. */
  private generation = 0;

  constructor(private readonly options: RefreshAheadOptions<V>) {}

  /** The value from memory without waiting, or undefined; may start a background refresh. */
  peek(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const age = this.options.now() - entry.readAt;
    if (age >= this.options.ttlMs) return undefined;
    if (age >= this.options.refreshAfterMs && !this.reads.has(key)) {
      const refresh = this.read(key)
        .catch((error) => this.options.onRefreshError(error))
        .finally(() => refreshesInFlight.delete(refresh));
      refreshesInFlight.add(refresh);
    }
    return entry.value;
  }

  /** The value from memory, or from the read in flight, or from a new read. */
  get(key: string): Promise<V | undefined> {
    const cached = this.peek(key);
    if (cached !== undefined) return Promise.resolve(cached);
    return this.reads.get(key) ?? this.read(key);
  }

  /** Drops the entries `matches` selects, and voids every read in flight. */
  evict(matches: (value: V) => boolean): void {
    this.generation++;
    this.reads.clear();
    for (const [key, entry] of this.entries) if (matches(entry.value)) this.entries.delete(key);
  }

  clear(): void {
    this.generation++;
    this.reads.clear();
    this.entries.clear();
  }

  private read(key: string): Promise<V | undefined> {
    const generation = this.generation;
    const readAt = this.options.now();
    const store = (value: V | undefined) => {
      if (generation !== this.generation) return;
      if (value === undefined) {
        this.entries.delete(key);
        return;
      }
      if (this.entries.size >= this.options.maxEntries) this.entries.clear();
      this.entries.set(key, { value, readAt });
    };
    const read: Promise<V | undefined> = this.options
      .load(key)
      .then(
        (value) => {
          store(value);
          return value;
        },
        (error) => {
          // What was cached can no longer be vouched for.
          store(undefined);
          throw error;
        },
      )
      .finally(() => {
        if (this.reads.get(key) === read) this.reads.delete(key);
      });
    this.reads.set(key, read);
    return read;
  }
}
