// The caller's role in an org, remembered for a moment so the hot reads (binding list, resolved
// set) do not query memberships on every request. A role change evicts at once on this instance
// ({kind: "org"} on the change feed); the TTL bounds staleness when a notification is missed.
import { AppError } from "../http/errors.js";
import { type Role, requireOrgRole, roleAtLeast } from "./access.js";
import type { Actor, ServiceDeps } from "./deps.js";

const ROLE_TTL_MS = 2_000;
const MAX_ENTRIES = 50_000;

export interface CachedOrgRole {
  orgId: string;
  role: Role;
  fetchedAt: number;
}

export class OrgRoleCache {
  private readonly entries = new Map<string, CachedOrgRole>();

  constructor(private readonly deps: ServiceDeps) {
    deps.changes.subscribe((event) => {
      if (event.kind === "org") this.evictOrg(event.orgId);
      else if (event.kind === "all") this.entries.clear();
    });
  }

  /** As requireOrgRole: 404 for a non-member or unknown org (never cached), 403 below `minimum`. */
  async require(actor: Actor, orgKey: string, minimum: Role): Promise<CachedOrgRole> {
    const cached = this.peek(actor, orgKey, minimum);
    if (cached) return cached;
    const access = await requireOrgRole(this.deps, actor, orgKey, "reader");
    const entry = { orgId: access.org.id, role: access.role, fetchedAt: Date.now() };
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(keyOf(actor, orgKey), entry);
    return checked(entry, orgKey, minimum);
  }

  /** The role from memory, without waiting: undefined when it must be read with `require`. */
  peek(actor: Actor, orgKey: string, minimum: Role): CachedOrgRole | undefined {
    const entry = this.entries.get(keyOf(actor, orgKey));
    if (!entry || Date.now() - entry.fetchedAt >= ROLE_TTL_MS) return undefined;
    return checked(entry, orgKey, minimum);
  }

  private evictOrg(orgId: string): void {
    for (const [key, entry] of this.entries) if (entry.orgId === orgId) this.entries.delete(key);
  }
}

const keyOf = (actor: Actor, orgKey: string): string => `${actor.userId}\u0000${orgKey}`;

function checked(entry: CachedOrgRole, orgKey: string, minimum: Role): CachedOrgRole {
  if (!roleAtLeast(entry.role, minimum)) {
    throw new AppError("forbidden_error", `This action needs the ${minimum} role in '${orgKey}'`);
  }
  return entry;
}
