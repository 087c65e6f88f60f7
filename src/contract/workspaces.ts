// Workspaces and their projects (SPEC §3).
import { type Static, Type } from "typebox";
import { SLUG_PATTERN, UUID_PATTERN } from "../domain/names.js";
import {
  Description,
  DisplayName,
  Nullable,
  PageQuery,
  pagedResponse,
  Slug,
  Timestamp,
  Uuid,
} from "./common.js";

export const Workspace = Type.Object({
  id: Uuid,
  key: Slug,
  name: Type.String(),
  description: Nullable(Type.String()),
  org_id: Uuid,
  is_default: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const WorkspaceListQuery = Type.Object(PageQuery, { additionalProperties: false });
export const WorkspacePage = pagedResponse("workspaces", Workspace);

export const WorkspaceCreateBody = Type.Object(
  { key: Slug, name: DisplayName, description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false },
);

export const WorkspaceUpdateBody = Type.Object(
  { name: Type.Optional(DisplayName), description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false, minProperties: 1 },
);

export const Project = Type.Object({
  id: Uuid,
  key: Slug,
  name: Type.String(),
  description: Nullable(Type.String()),
  workspace_id: Uuid,
  is_default: Type.Boolean(),
  runtime_count: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const ProjectCreateBody = Type.Object(
  { key: Slug, name: DisplayName, description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false },
);

export const ProjectUpdateBody = Type.Object(
  { name: Type.Optional(DisplayName), description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false, minProperties: 1 },
);

export const ProjectParams = Type.Object(
  {
    org: Slug,
    workspace: Slug,
    project: Type.String({ pattern: `${SLUG_PATTERN}|${UUID_PATTERN}`, description: "Project key or id" }),
  },
  { additionalProperties: false },
);

export type WorkspaceView = Static<typeof Workspace>;
export type ProjectView = Static<typeof Project>;
