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
  /** user id → org key → role: two lookups, and no key string built on every request. */
  private readonly byUser = new Map<string, Map<string, CachedOrgRole>>();
  private size = 0;

  constructor(private readonly deps: ServiceDeps) {
    deps.changes.subscribe((event) => {
      if (event.kind === "org") this.evictOrg(event.orgId);
      else if (event.kind === "all") this.clear();
    });
  }

  /** As requireOrgRole: 404 for a non-member or unknown org (never cached), 403 below `minimum`. */
  async require(actor: Actor, orgKey: string, minimum: Role): Promise<CachedOrgRole> {
    const cached = this.peek(actor, orgKey, minimum);
    if (cached) return cached;
    const access = await requireOrgRole(this.deps, actor, orgKey, "reader");
    const entry = { orgId: access.org.id, role: access.role, fetchedAt: Date.now() };
    if (this.size >= MAX_ENTRIES) this.clear();
    let roles = this.byUser.get(actor.userId);
    if (!roles) {
      roles = new Map();
      this.byUser.set(actor.userId, roles);
    }
    if (!roles.has(orgKey)) this.size++;
    roles.set(orgKey, entry);
    return checked(entry, orgKey, minimum);
  }

  /** The role from memory, without waiting: undefined when it must be read with `require`. */
  peek(actor: Actor, orgKey: string, minimum: Role): CachedOrgRole | undefined {
    const entry = this.byUser.get(actor.userId)?.get(orgKey);
    if (!entry || Date.now() - entry.fetchedAt >= ROLE_TTL_MS) return undefined;
    return checked(entry, orgKey, minimum);
  }

  private evictOrg(orgId: string): void {
    for (const [userId, roles] of this.byUser) {
      for (const [orgKey, entry] of roles) {
        if (entry.orgId !== orgId) continue;
        roles.delete(orgKey);
        this.size--;
      }
      if (roles.size === 0) this.byUser.delete(userId);
    }
  }

  private clear(): void {
    this.byUser.clear();
    this.size = 0;
  }
}

function checked(entry: CachedOrgRole, orgKey: string, minimum: Role): CachedOrgRole {
  if (!roleAtLeast(entry.role, minimum)) {
    throw new AppError("forbidden_error", `This action needs the ${minimum} role in '${orgKey}'`);
  }
  return entry;
}
