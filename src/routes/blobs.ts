// Signed blob downloads (SPEC §5): the URL is the credential, so the route is public.
import { Type } from "typebox";
import { BlobParams, BlobQuery } from "../contract/capabilities.js";
import { errorResponses } from "../contract/common.js";
import { openSignedBlob } from "../services/signed-urls.js";
import type { RouteApp } from "./route-app.js";

const Binary = Type.Unsafe<unknown>({ type: "string", format: "binary" });

export default async function blobRoutes(app: RouteApp): Promise<void> {
  app.get(
    "/blobs/:sha256",
    {
      config: { public: true },
      schema: {
        operationId: "downloadBlob",
        tags: ["capabilities"],
        summary: "Download a bundle through a signed URL (supports Range)",
        security: [],
        produces: ["application/gzip"],
        params: BlobParams,
        querystring: BlobQuery,
        response: { 200: Binary, 206: Binary, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { sha256 } = request.params;
      const etag = `"${sha256.toLowerCase()}"`;
      // If-Range (RFC 9110 §13.1.5): a part only of the bytes the client already has a part of. Any
      // other validator (another or a weak tag, a date: no Last-Modified is sent) gets the whole blob.
      const ifRange = request.headers["if-range"];
      const rangeHeader = ifRange === undefined || ifRange === etag ? request.headers.range : undefined;
      const download = await openSignedBlob(app.deps, sha256, request.query, rangeHeader);
      const { range, size } = download;
      reply
        .type("application/gzip")
        .header("accept-ranges", "bytes")
        .header("etag", etag)
        // The content never changes, but the URL that reached it expires: no shared caching.
        .header("cache-control", "private, max-age=300");
      if (range === null) return reply.header("content-length", size).send(download.content);
      return reply
        .code(206)
        .header("content-range", `bytes ${range.start}-${range.end}/${size}`)
        .header("content-length", range.end - range.start + 1)
        .send(download.content);
    },
  );
}
