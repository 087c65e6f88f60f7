// Workspaces of an organization (SPEC §3).
import { errorResponses, NoContent, OrgParams, pageOf, WorkspaceParams } from "../contract/common.js";
import {
  Workspace,
  WorkspaceCreateBody,
  WorkspaceListQuery,
  WorkspacePage,
  WorkspaceUpdateBody,
  type WorkspaceView,
} from "../contract/workspaces.js";
import type { Row } from "../db/schema.js";
import {
  createWorkspace,
  deleteWorkspace,
  getWorkspace,
  listWorkspaces,
  updateWorkspace,
} from "../services/workspace-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

const DEFAULT_PAGE_SIZE = 20;
const tags = ["workspaces"];

function presentWorkspace(row: Row<"workspaces">): WorkspaceView {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    description: row.description,
    org_id: row.org_id,
    is_default: row.is_default === 1,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export default async function workspaceRoutes(app: RouteApp): Promise<void> {
  app.get(
    "/org/:org/ws",
    {
      schema: {
        operationId: "listWorkspaces",
        tags,
        summary: "The organization's workspaces, by key, a page at a time",
        params: OrgParams,
        querystring: WorkspaceListQuery,
        response: { 200: WorkspacePage, ...errorResponses },
      },
    },
    async (request) => {
      const page = request.query.page ?? 1;
      const limit = request.query.limit ?? request.query.page_size ?? DEFAULT_PAGE_SIZE;
      const { workspaces, total } = await listWorkspaces(
        app.deps,
        scopeOf(request).actor,
        request.params.org,
        {
          offset: (page - 1) * limit,
          limit,
        },
      );
      return pageOf("workspaces", workspaces.map(presentWorkspace), { total, page, limit });
    },
  );

  app.post(
    "/org/:org/ws",
    {
      schema: {
        operationId: "createWorkspace",
        tags,
        summary: "Create a workspace with its default project (contributor)",
        params: OrgParams,
        body: WorkspaceCreateBody,
        response: { 201: Workspace, ...errorResponses },
      },
    },
    async (request, reply) => {
      const workspace = await createWorkspace(app.deps, scopeOf(request), request.params.org, request.body);
      return reply.code(201).send(presentWorkspace(workspace));
    },
  );

  app.get(
    "/org/:org/ws/:workspace",
    {
      schema: {
        operationId: "getWorkspace",
        tags,
        summary: "A workspace",
        params: WorkspaceParams,
        response: { 200: Workspace, ...errorResponses },
      },
    },
    async (request) => {
      const { org, workspace } = request.params;
      return presentWorkspace(await getWorkspace(app.deps, scopeOf(request).actor, org, workspace));
    },
  );

  app.patch(
    "/org/:org/ws/:workspace",
    {
      schema: {
        operationId: "updateWorkspace",
        tags,
        summary: "Update a workspace's name or description (contributor)",
        params: WorkspaceParams,
        body: WorkspaceUpdateBody,
        response: { 200: Workspace, ...errorResponses },
      },
    },
    async (request) => {
      const { org, workspace } = request.params;
      return presentWorkspace(
        await updateWorkspace(app.deps, scopeOf(request), org, workspace, request.body),
      );
    },
  );

  app.delete(
    "/org/:org/ws/:workspace",
    {
      schema: {
        operationId: "deleteWorkspace",
        tags,
        summary: "Delete a workspace without runtimes, and its projects (contributor); not the default one",
        params: WorkspaceParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, workspace } = request.params;
      await deleteWorkspace(app.deps, scopeOf(request), org, workspace);
      return reply.code(204).send(null);
    },
  );
}
