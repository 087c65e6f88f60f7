// Which changes are events (SPEC §15), and under which type. Every mutation is audited; the event
// of an audited change is derived from its audit entry, so no write path can record one without
// the other. Reads that are audited (secret values) are not events, and neither are changes that
// belong to no org (instance users, bootstrap): events are an org's stream.

/** Audit actions whose event type differs from the action's name. */
const RENAMED: Record<string, string> = {
  "capability.version.published": "capability.published",
  "capability.version.updated": "capability.version.status_changed",
  "capability.visibility.updated": "capability.visibility_changed",
  "capability.tag.set": "capability.tag_moved",
  "capability.tag.deleted": "capability.tag_moved",
  "runtime.capability.installed": "binding.created",
  "runtime.capability.updated": "binding.updated",
  "runtime.capability.auto_updated": "binding.updated",
  "runtime.capability.auto_update_skipped": "binding.auto_update_skipped",
  "runtime.capability.removed": "binding.deleted",
  "runtime.config.updated": "runtime.updated",
  "secret.created": "secret.changed",
  "secret.updated": "secret.changed",
  "secret.deleted": "secret.changed",
  "api_key.created": "key.created",
  "api_key.revoked": "key.revoked",
};

/** Audited actions that change nothing (or nothing an org's listeners may see). */
const NOT_EVENTS = new Set(["secret.read"]);

/** The event type an audited action emits, or null for none. */
export function eventTypeOfAction(action: string): string | null {
  if (NOT_EVENTS.has(action)) return null;
  return RENAMED[action] ?? action;
}

/**
 * Whether `type` is selected by a subscription's patterns: an exact type, or `prefix.*` for every
 * type under that prefix (`binding.*` selects `binding.created`), or `*` for all.
 */
export function eventTypeMatches(type: string, patterns: readonly string[]): boolean {
  for (const pattern of patterns) {
    if (pattern === "*" || pattern === type) return true;
    if (pattern.endsWith(".*") && type.startsWith(pattern.slice(0, -1))) return true;
  }
  return false;
}
