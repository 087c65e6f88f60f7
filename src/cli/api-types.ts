// The API's response shapes as the CLI reads them, taken from the server's own contract so that
// both sides change together. Type-only imports: the CLI loads none of the server's code for them.
import type { Static } from "typebox";
import type {
  ResolvedCapability,
  ResolvedSet,
  RuntimeCapabilityBinding,
  RuntimeTokenCreated,
  UpgradePreview,
} from "../contract/bindings.js";
import type {
  ArtifactDetail,
  ArtifactSummary,
  BundleLink,
  VersionList,
  VisibilityResult,
} from "../contract/capabilities.js";
import type {
  ErrorEnvelope as ContractErrorEnvelope,
  PageInfo as ContractPageInfo,
  ErrorItem,
} from "../contract/common.js";
import type { Org } from "../contract/orgs.js";
import type {
  AppliedRuntimeConfig,
  ReconciliationPlan,
  RuntimeConfigEnvelope,
  RuntimeList,
  RuntimeView,
} from "../contract/runtimes.js";
import type { User } from "../contract/users.js";
import type { WorkspaceView } from "../contract/workspaces.js";

export type ApiErrorItem = Static<typeof ErrorItem>;
export type ErrorEnvelope = Static<typeof ContractErrorEnvelope>;

export type UserView = Static<typeof User>;
export type OrgView = Static<typeof Org>;
export type { WorkspaceView };

/** Page-style pagination (SPEC §2.7); the items sit under a key named after the resource. */
export type PageInfo = Static<typeof ContractPageInfo>;

export type WorkspacePageView = PageInfo & { workspaces: WorkspaceView[] };
export type ArtifactPage = PageInfo & { capabilities: ArtifactSummary[] };

export type { ArtifactDetail, ArtifactSummary, BundleLink, VersionList, VisibilityResult };

export type Runtime = RuntimeView;
export type RuntimePage = Static<typeof RuntimeList>;
export type RuntimeConfigResponse = Static<typeof RuntimeConfigEnvelope>;
export type AppliedConfig = Static<typeof AppliedRuntimeConfig>;
export type Plan = Static<typeof ReconciliationPlan>;

export type Binding = RuntimeCapabilityBinding;
export type Preview = Static<typeof UpgradePreview>;
export type Resolved = Static<typeof ResolvedSet>;
export type ResolvedEntry = Static<typeof ResolvedCapability>;
export type RuntimeToken = Static<typeof RuntimeTokenCreated>;

export type {
  AdminUserView,
  ApiKeyCreatedView,
  ApiKeySummaryView,
  MemberView,
  ProjectView,
  ServiceAccountView,
} from "./tenancy-types.js";
