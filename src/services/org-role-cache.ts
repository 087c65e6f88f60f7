// The caller's role in an org, remembered for a moment so the hot reads (binding list, resolved
// set) do not query memberships on every request, and refreshed in the background while in use
// (see RefreshAheadCache). A role change evicts at once on this instance ({kind: "org"} on the
// change feed); the TTL bounds staleness when a notification is missed.
import { AppError } from "../errors.js";
import { findOrgMembership, keyReachesOrg, orgNotFound, type Role, roleAtLeast } from "./access.js";
import type { Actor, ServiceDeps } from "./deps.js";
import { RefreshAheadCache } from "./refresh-ahead-cache.js";

const ROLE_TTL_MS = 2_000;
const ROLE_REFRESH_AFTER_MS = 1_000;
const MAX_ENTRIES = 50_000;

export interface CachedOrgRole {
  orgId: string;
  role: Role;
}

export class OrgRoleCache {
  /** Keyed by user id and org key; only memberships are cached, never "not a member". */
  private readonly roles: RefreshAheadCache<CachedOrgRole>;

  constructor(private readonly deps: ServiceDeps) {
    this.roles = new RefreshAheadCache({
      load: (key) => this.read(key),
      ttlMs: ROLE_TTL_MS,
      refreshAfterMs: ROLE_REFRESH_AFTER_MS,
      maxEntries: MAX_ENTRIES,
      now: () => deps.now().getTime(),
      onRefreshError: (error) => deps.logger.warn({ err: error }, "could not refresh a cached org role"),
    });
    deps.changes.subscribe((event) => {
      if (event.kind === "org") this.roles.evict((entry) => entry.orgId === event.orgId);
      else if (event.kind === "all") this.roles.clear();
    });
  }

  /**
   * As requireOrgRole: 404 for a non-member, an unknown org or an org the key is not limited to,
   * 403 below `minimum`. Entries are per user; the key's limit is applied on every use.
   */
  async require(actor: Actor, orgKey: string, minimum: Role): Promise<CachedOrgRole> {
    const entry = await this.roles.get(keyOf(actor, orgKey));
    if (!entry || !keyReachesOrg(actor, entry.orgId)) throw orgNotFound(orgKey);
    return checked(entry, orgKey, minimum);
  }

  /** The role from memory, without waiting: undefined when it must be read with `require`. */
  peek(actor: Actor, orgKey: string, minimum: Role): CachedOrgRole | undefined {
    const entry = this.roles.peek(keyOf(actor, orgKey));
    if (entry === undefined || !keyReachesOrg(actor, entry.orgId)) return undefined;
    return checked(entry, orgKey, minimum);
  }

  private async read(key: string): Promise<CachedOrgRole | undefined> {
    const [userId, orgKey] = key.split(SEPARATOR);
    const access = await findOrgMembership(this.deps.db, userId, orgKey);
    return access && { orgId: access.org.id, role: access.role };
  }
}

/** Neither a user id (a UUID) nor an org key (a slug) can contain it. */
const SEPARATOR = "\u0000";
const keyOf = (actor: Actor, orgKey: string): string => `${actor.userId}${SEPARATOR}${orgKey}`;

function checked(entry: CachedOrgRole, orgKey: string, minimum: Role): CachedOrgRole {
  if (!roleAtLeast(entry.role, minimum)) {
    throw new AppError("forbidden_error", `This action needs the ${minimum} role in '${orgKey}'`);
  }
  return entry;
}
