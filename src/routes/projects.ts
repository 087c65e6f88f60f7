// Projects of a workspace (SPEC §3; reading one, renaming and deleting as for workspaces).
import { Type } from "typebox";
import { errorResponses, NoContent, WorkspaceParams } from "../contract/common.js";
import {
  Project,
  ProjectCreateBody,
  ProjectParams,
  ProjectUpdateBody,
  type ProjectView,
} from "../contract/workspaces.js";
import {
  createProject,
  deleteProject,
  getProject,
  listProjects,
  type ProjectWithCount,
  updateProject,
} from "../services/project-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

const tags = ["projects"];

function presentProject(row: ProjectWithCount): ProjectView {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    description: row.description,
    workspace_id: row.workspace_id,
    is_default: row.is_default === 1,
    runtime_count: row.runtime_count,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export default async function projectRoutes(app: RouteApp): Promise<void> {
  app.get(
    "/org/:org/ws/:workspace/projects",
    {
      schema: {
        operationId: "listProjects",
        tags,
        summary: "The workspace's projects, by key, with their runtime counts",
        params: WorkspaceParams,
        response: { 200: Type.Array(Project), ...errorResponses },
      },
    },
    async (request) => {
      const { org, workspace } = request.params;
      return (await listProjects(app.deps, scopeOf(request).actor, org, workspace)).map(presentProject);
    },
  );

  app.post(
    "/org/:org/ws/:workspace/projects",
    {
      schema: {
        operationId: "createProject",
        tags,
        summary: "Create a project (contributor)",
        params: WorkspaceParams,
        body: ProjectCreateBody,
        response: { 201: Project, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, workspace } = request.params;
      const project = await createProject(app.deps, scopeOf(request), org, workspace, request.body);
      return reply.code(201).send(presentProject(project));
    },
  );

  app.get(
    "/org/:org/ws/:workspace/projects/:project",
    {
      schema: {
        operationId: "getProject",
        tags,
        summary: "A project, by key or id",
        params: ProjectParams,
        response: { 200: Project, ...errorResponses },
      },
    },
    async (request) => {
      const { org, workspace, project } = request.params;
      return presentProject(await getProject(app.deps, scopeOf(request).actor, org, workspace, project));
    },
  );

  app.patch(
    "/org/:org/ws/:workspace/projects/:project",
    {
      schema: {
        operationId: "updateProject",
        tags,
        summary: "Update a project's name or description (contributor)",
        params: ProjectParams,
        body: ProjectUpdateBody,
        response: { 200: Project, ...errorResponses },
      },
    },
    async (request) => {
      const { org, workspace, project } = request.params;
      return presentProject(
        await updateProject(app.deps, scopeOf(request), org, workspace, project, request.body),
      );
    },
  );

  app.delete(
    "/org/:org/ws/:workspace/projects/:project",
    {
      schema: {
        operationId: "deleteProject",
        tags,
        summary: "Delete a project without runtimes (contributor); not the default one",
        params: ProjectParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, workspace, project } = request.params;
      await deleteProject(app.deps, scopeOf(request), org, workspace, project);
      return reply.code(204).send(null);
    },
  );
}
