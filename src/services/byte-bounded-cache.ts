// A least-recently-used cache of immutable values bounded by their total size in bytes, where
// concurrent misses of one key share one fill. For what never changes once written (a version's
// serialized detail, its file manifest), so nothing is ever invalidated: entries only age out.
export interface Sized {
  /** What the value costs in memory, about. */
  bytes: number;
}

export class ByteBoundedCache<V extends Sized> {
  /** In use order: the first entry is the least recently used. */
  private readonly entries = new Map<string, V>();
  private readonly fills = new Map<string, Promise<V | undefined>>();
  private totalBytes = 0;

  /** A value larger than `maxBytes` is returned to its reader and not kept; 0 keeps nothing. */
  constructor(readonly maxBytes: number) {}

  /** The value of `key`, from memory or from `fill` (undefined: nothing to cache, e.g. a row gone). */
  get(key: string, fill: () => Promise<V | undefined>): Promise<V | undefined> {
    const cached = this.entries.get(key);
    if (cached) {
      this.entries.delete(key);
      this.entries.set(key, cached);
      return Promise.resolve(cached);
    }
    let pending = this.fills.get(key);
    if (!pending) {
      pending = fill()
        .then((value) => {
          if (value) this.store(key, value);
          return value;
        })
        .finally(() => this.fills.delete(key));
      this.fills.set(key, pending);
    }
    return pending;
  }

  private store(key: string, value: V): void {
    if (value.bytes > this.maxBytes) return;
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.totalBytes -= previous.bytes;
    }
    this.entries.set(key, value);
    this.totalBytes += value.bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.totalBytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.totalBytes -= entry.bytes;
    }
  }

  /** What the cache holds (tests read it). */
  stats(): { entries: number; bytes: number; maxBytes: number } {
    return { entries: this.entries.size, bytes: this.totalBytes, maxBytes: this.maxBytes };
  }
}
