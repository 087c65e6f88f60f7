// Tells in-memory caches that something they may hold has changed. Services publish after their
// transaction commits. In-process with one instance; scale mode relays the same events between
// instances, and the rate limiter uses that relay to share what it counted.
export type ChangeEvent =
  /** A runtime's bindings, config or existence changed. */
  | { kind: "runtime"; runtimeId: string }
  /** A capability's versions, latest, statuses or visibility changed (affects every runtime binding it). */
  | { kind: "capability"; capabilityId: string }
  /** A workspace secret of this org was set or deleted (binding lists and resolved sets show versions). */
  | { kind: "secrets"; orgId: string }
  /** An API key was revoked or changed. */
  | { kind: "api_key"; keyId: string }
  /** Memberships or roles in an org changed. */
  | { kind: "org"; orgId: string }
  /**
   * An org's signing keys changed (a key added or revoked, SPEC §14): only the views that carry its
   * keys or count signatures by them — resolved sets binding one of its capabilities — change.
   */
  | { kind: "org_trust"; orgId: string }
  /** The org's event log grew to `seq` (SPEC §15): streams and webhook delivery read on from there. */
  | { kind: "events"; orgId: string; seq: number }
  /** Anything may have changed (e.g. missed notifications in scale mode): drop every cache. */
  | { kind: "all" }
  /** Requests an instance counted against rate limits since its last report: [bucket, count]. */
  | { kind: "rate_limit_usage"; usage: [string, number][]; from?: string };

export type ChangeListener = (event: ChangeEvent) => void;

export interface ChangeFeed {
  /** Whether events reach other instances (scale mode), not only this one's listeners. */
  readonly reachesOtherInstances: boolean;
  publish(event: ChangeEvent): void;
  subscribe(listener: ChangeListener): () => void;
}

export class LocalChangeFeed implements ChangeFeed {
  readonly reachesOtherInstances = false;
  private readonly listeners = new Set<ChangeListener>();

  publish(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
