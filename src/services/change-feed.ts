// Tells in-memory caches that something they may hold has changed. Services publish after their
// transaction commits. In-process for now; scale mode relays the same events between instances.
export type ChangeEvent =
  /** A runtime's bindings, config or existence changed. */
  | { kind: "runtime"; runtimeId: string }
  /** A capability's versions, latest, statuses or visibility changed (affects every runtime binding it). */
  | { kind: "capability"; capabilityId: string }
  /** An API key was revoked or changed. */
  | { kind: "api_key"; keyId: string }
  /** Memberships or roles in an org changed. */
  | { kind: "org"; orgId: string }
  /** Anything may have changed (e.g. missed notifications in scale mode): drop every cache. */
  | { kind: "all" };

export type ChangeListener = (event: ChangeEvent) => void;

export interface ChangeFeed {
  publish(event: ChangeEvent): void;
  subscribe(listener: ChangeListener): () => void;
}

export class LocalChangeFeed implements ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();

  publish(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
