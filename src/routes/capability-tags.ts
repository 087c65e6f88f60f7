// Distribution tags of a capability (SPEC §13).
import { CapabilityParams, TagBody, TagMap, TagParams } from "../contract/capabilities.js";
import { errorResponses, NoContent } from "../contract/common.js";
import { deleteCapabilityTag, listCapabilityTags, setCapabilityTag } from "../services/tag-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

export default async function capabilityTagRoutes(app: RouteApp): Promise<void> {
  const tags = ["capabilities"];

  app.get(
    "/org/:org/capabilities/:name/tags",
    {
      schema: {
        operationId: "listCapabilityTags",
        tags,
        summary: "Distribution tags: `latest` and every tag → version",
        params: CapabilityParams,
        response: { 200: TagMap, ...errorResponses },
      },
    },
    async (request) =>
      listCapabilityTags(app.deps, scopeOf(request), request.params.org, request.params.name),
  );

  app.put(
    "/org/:org/capabilities/:name/tags/:tag",
    {
      schema: {
        operationId: "setCapabilityTag",
        tags,
        summary: "Point a tag at a version (contributor); auto-update bindings tracking it follow",
        params: TagParams,
        body: TagBody,
        response: { 200: TagMap, ...errorResponses },
      },
    },
    async (request) => {
      const { org, name, tag } = request.params;
      return setCapabilityTag(app.deps, scopeOf(request), org, name, tag, request.body.version);
    },
  );

  app.delete(
    "/org/:org/capabilities/:name/tags/:tag",
    {
      schema: {
        operationId: "deleteCapabilityTag",
        tags,
        summary: "Remove a tag (contributor); bindings tracking it stay where they are",
        params: TagParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, name, tag } = request.params;
      await deleteCapabilityTag(app.deps, scopeOf(request), org, name, tag);
      return reply.code(204).send(null);
    },
  );
}
