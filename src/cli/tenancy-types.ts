// Response shapes of the tenancy routes (orgs, members, service accounts, keys, users), from the
// server's contract: type-only imports, as in api-types.ts.
import type { Static } from "typebox";
import type { Member, ServiceAccount } from "../contract/orgs.js";
import type { AdminUser, AdminUserPage, ApiKeyCreated, ApiKeySummary } from "../contract/users.js";
import type { ProjectView } from "../contract/workspaces.js";

export type MemberView = Static<typeof Member>;
export type ServiceAccountView = Static<typeof ServiceAccount>;
export type AdminUserView = Static<typeof AdminUser>;
export type AdminUserPageView = Static<typeof AdminUserPage>;
export type ApiKeyCreatedView = Static<typeof ApiKeyCreated>;
export type ApiKeySummaryView = Static<typeof ApiKeySummary>;
export type { ProjectView };
