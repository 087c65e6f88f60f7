// The capability registry (SPEC §5): publish, catalog, versions, status, visibility, downloads.
import { extname } from "node:path";
import { Readable } from "node:stream";
import multipart, { type MultipartFile, type MultipartValue } from "@fastify/multipart";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import {
  ArtifactDetail,
  ArtifactPage,
  BundleLink,
  CapabilityParams,
  DeleteQuery,
  FacetQuery,
  Facets,
  FileList,
  FileParams,
  ListQuery,
  PublishQuery,
  Readme,
  ReleaseParams,
  StatusPatchBody,
  VersionList,
  VersionParams,
  VisibilityBody,
  VisibilityResult,
} from "../contract/capabilities.js";
import { CursorQuery, errorResponses, NoContent, OrgParams } from "../contract/common.js";
import { MAX_ENVELOPE_BYTES } from "../domain/dsse.js";
import { AppError, validationIssue } from "../errors.js";
import { JSON_UTF8 } from "../http/fast-lane.js";
import type { RenderedDetail } from "../services/artifact-detail-cache.js";
import { type BundleUpload, publishCapability } from "../services/publish-service.js";
import { deleteVersion, updateVersionStatus, updateVisibility } from "../services/registry-admin-service.js";
import {
  capabilityFacets,
  getBundleLink,
  getReadme,
  getVersionDetailBytes,
  listCapabilities,
  listVersionFiles,
  listVersions,
  openVersionFile,
} from "../services/registry-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";

const BUNDLE_CONTENT_TYPES = ["application/gzip", "application/x-gzip", "application/octet-stream"];
/** Room for the multipart boundaries and part headers around the bundle itself. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
/** Signature envelopes one publish may carry. */
const MAX_SIGNATURE_PARTS = 4;

const Binary = Type.Unsafe<unknown>({ type: "string", format: "binary" });

export default async function capabilityRoutes(app: RouteApp): Promise<void> {
  const tags = ["capabilities"];
  await app.register(publishRoute);
  // Serialized details and parsed file manifests by version id (src/services/index.ts).
  const { details, manifests } = app.services;

  app.get(
    "/org/:org/capabilities",
    {
      schema: {
        operationId: "listCapabilities",
        tags,
        summary: "List capabilities, one row per name with its latest version",
        params: OrgParams,
        querystring: ListQuery,
        response: { 200: ArtifactPage, ...errorResponses },
      },
    },
    async (request) => listCapabilities(app.deps, scopeOf(request), request.params.org, request.query),
  );

  app.get(
    "/org/:org/capabilities/facets",
    {
      schema: {
        operationId: "getCapabilityFacets",
        tags,
        summary: "Counts per keyword, author and license over what the list shows",
        params: OrgParams,
        querystring: FacetQuery,
        response: { 200: Facets, ...errorResponses },
      },
    },
    async (request) => capabilityFacets(app.deps, scopeOf(request), request.params.org, request.query),
  );

  app.get(
    "/org/:org/capabilities/:name",
    {
      schema: {
        operationId: "getCapability",
        tags,
        summary: "Detail of the latest version",
        params: CapabilityParams,
        response: { 200: ArtifactDetail, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, name } = request.params;
      const detail = await getVersionDetailBytes(app.deps, details, scopeOf(request), org, name, "latest");
      return sendDetail(reply, detail);
    },
  );

  app.get(
    "/org/:org/capabilities/:name/versions",
    {
      schema: {
        operationId: "listCapabilityVersions",
        tags,
        summary: "Every version, newest semver first (deleted ones left out)",
        params: CapabilityParams,
        response: { 200: VersionList, ...errorResponses },
      },
    },
    async (request) => listVersions(app.deps, scopeOf(request), request.params.org, request.params.name),
  );

  app.get(
    "/org/:org/capabilities/:name/readme",
    {
      schema: {
        operationId: "getCapabilityReadme",
        tags,
        summary: "README.md of the latest version",
        params: CapabilityParams,
        response: { 200: Readme, ...errorResponses },
      },
    },
    async (request) =>
      getReadme(app.deps, manifests, scopeOf(request), request.params.org, request.params.name, "latest"),
  );

  app.patch(
    "/org/:org/capabilities/:name/visibility",
    {
      schema: {
        operationId: "updateCapabilityVisibility",
        tags,
        summary: "Make every version public or private (owner)",
        params: CapabilityParams,
        body: VisibilityBody,
        response: { 200: VisibilityResult, ...errorResponses },
      },
    },
    async (request) =>
      updateVisibility(
        app.deps,
        scopeOf(request),
        request.params.org,
        request.params.name,
        request.body.is_public,
      ),
  );

  app.get(
    "/org/:org/capabilities/:name/:version",
    {
      schema: {
        operationId: "getCapabilityVersion",
        tags,
        summary: "Detail of one version (`latest` allowed)",
        params: VersionParams,
        response: { 200: ArtifactDetail, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, name, version } = request.params;
      const detail = await getVersionDetailBytes(app.deps, details, scopeOf(request), org, name, version);
      return sendDetail(reply, detail);
    },
  );

  app.patch(
    "/org/:org/capabilities/:name/:version",
    {
      schema: {
        operationId: "updateCapabilityVersion",
        tags,
        summary: "Deprecate, yank or restore a version",
        params: ReleaseParams,
        body: StatusPatchBody,
        response: { 200: ArtifactDetail, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, name, version } = request.params;
      const scope = scopeOf(request);
      return sendDetail(
        reply,
        await updateVersionStatus(app.deps, details, scope, org, name, version, request.body),
      );
    },
  );

  app.delete(
    "/org/:org/capabilities/:name/:version",
    {
      schema: {
        operationId: "deleteCapabilityVersion",
        tags,
        summary: "Delete a version; its number stays reserved (owner)",
        params: ReleaseParams,
        querystring: DeleteQuery,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, name, version } = request.params;
      await deleteVersion(app.deps, scopeOf(request), org, name, version, request.query.force ?? false);
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/org/:org/capabilities/:name/:version/bundle",
    {
      config: { runtimeToken: true },
      schema: {
        operationId: "getCapabilityVersionBundle",
        tags,
        summary: "A signed, short-lived download URL of the bundle",
        params: VersionParams,
        response: { 200: BundleLink, ...errorResponses },
      },
    },
    async (request) => {
      const { org, name, version } = request.params;
      return getBundleLink(app.deps, scopeOf(request), org, name, version);
    },
  );

  app.get(
    "/org/:org/capabilities/:name/:version/readme",
    {
      schema: {
        operationId: "getCapabilityVersionReadme",
        tags,
        summary: "README.md of one version",
        params: VersionParams,
        response: { 200: Readme, ...errorResponses },
      },
    },
    async (request) => {
      const { org, name, version } = request.params;
      return getReadme(app.deps, manifests, scopeOf(request), org, name, version);
    },
  );

  app.get(
    "/org/:org/capabilities/:name/:version/files",
    {
      config: { runtimeToken: true },
      schema: {
        operationId: "listCapabilityVersionFiles",
        tags,
        summary: "The version's file manifest, one page at a time (cursor)",
        params: VersionParams,
        querystring: CursorQuery,
        response: { 200: FileList, ...errorResponses },
      },
    },
    async (request) => {
      const { org, name, version } = request.params;
      // `…/files/` reaches this route too (trailing slashes are ignored), but it has always meant
      // the file with the empty path, which no version has: the same 404 as before this list.
      if (request.url.split("?", 1)[0].endsWith("/")) {
        await openVersionFile(app.deps, manifests, scopeOf(request), org, name, version, "");
      }
      return listVersionFiles(app.deps, manifests, scopeOf(request), org, name, version, request.query);
    },
  );

  app.get(
    "/org/:org/capabilities/:name/:version/files/*",
    {
      config: { runtimeToken: true },
      schema: {
        operationId: "getCapabilityVersionFile",
        tags,
        summary: "One file of a version, raw",
        produces: ["application/octet-stream"],
        params: FileParams,
        response: { 200: Binary, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { org, name, version, "*": path } = request.params;
      const file = await openVersionFile(app.deps, manifests, scopeOf(request), org, name, version, path);
      return (
        reply
          .type(contentTypeOf(file.path))
          .header("content-length", file.size)
          .header("x-content-type-options", "nosniff")
          // Files are untrusted uploads: a browser must not run them as pages of this origin.
          .header("content-security-policy", "default-src 'none'; sandbox")
          .send(file.content)
      );
    },
  );
}

/** An already serialized detail, its chunks written in order without copying them into one. */
function sendDetail(reply: FastifyReply, detail: RenderedDetail): FastifyReply {
  if (detail.chunks.length === 1) return reply.type(JSON_UTF8).send(detail.chunks[0]);
  return reply
    .type(JSON_UTF8)
    .header("content-length", detail.length)
    .send(Readable.from(detail.chunks, { objectMode: false }));
}

/** POST CAP, in its own scope so the bundle body parsers apply to this route only. */
async function publishRoute(app: RouteApp): Promise<void> {
  const maxBundleBytes = app.deps.config.maxBundleBytes;
  // One byte over the limit is enough for the bundle reader to report `bundle.too_large`.
  await app.register(multipart, {
    // Besides the bundle: up to MAX_SIGNATURE_PARTS `signature` envelopes, as text or file parts.
    limits: {
      fileSize: maxBundleBytes + 1,
      files: 1 + MAX_SIGNATURE_PARTS,
      fields: 10,
      parts: 11 + MAX_SIGNATURE_PARTS,
      fieldSize: MAX_ENVELOPE_BYTES + 1,
    },
  });
  app.addContentTypeParser(BUNDLE_CONTENT_TYPES, (_request, payload, done) => done(null, payload));
  const pipeline = app.services.publish;

  app.post(
    "/org/:org/capabilities",
    {
      schema: {
        operationId: "publishCapability",
        tags: ["capabilities"],
        summary: "Publish a version: the .tar.gz as the body, or a multipart field `bundle`",
        consumes: [...BUNDLE_CONTENT_TYPES, "multipart/form-data"],
        // Documents the upload only: the body is a stream the service reads, nothing to validate here.
        body: Type.Unsafe<unknown>({
          description: "The .tar.gz bundle, or multipart/form-data with a file field `bundle`",
        }),
        params: OrgParams,
        querystring: PublishQuery,
        response: { 200: ArtifactDetail, 201: ArtifactDetail, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = new PublishBody(request, maxBundleBytes);
      const result = await publishCapability(
        app.deps,
        pipeline,
        scopeOf(request),
        request.params.org,
        () => body.openBundle(),
        { isPublic: request.query.public ?? false, signatures: () => body.signatures() },
      );
      return reply.code(result.created ? 201 : 200).send(result.artifact);
    },
  );
}

type Part = MultipartFile | MultipartValue;

/**
 * The publish body: the bundle bytes as a stream, from a raw body or the multipart field `bundle`,
 * and the DSSE envelopes of any multipart `signature` fields, before or after the bundle (text
 * fields or files). The parts after the bundle can only be read once the bundle has been consumed,
 * so the service asks for the signatures after it has spooled the upload.
 */
class PublishBody {
  private readonly envelopes: string[] = [];
  private parts: AsyncIterator<Part> | undefined;

  constructor(
    private readonly request: FastifyRequest,
    private readonly maxBundleBytes: number,
  ) {}

  async openBundle(): Promise<BundleUpload> {
    const { request, maxBundleBytes } = this;
    const declaredLength = Number(request.headers["content-length"] ?? 0);
    if (request.isMultipart()) {
      if (declaredLength > maxBundleBytes + MULTIPART_OVERHEAD_BYTES) throw bundleTooLarge(maxBundleBytes);
      this.parts = request.parts()[Symbol.asyncIterator]() as AsyncIterator<Part>;
      for (let part = await this.nextPart(); part; part = await this.nextPart()) {
        if (part.fieldname === "bundle" && part.type === "file") return part.file;
        await this.takeSignature(part);
      }
      throw new AppError("validation_error", "The multipart body needs a file field `bundle`", [
        { loc: ["body", "bundle"], msg: "field required", type: "value_error.missing" },
      ]);
    }
    if (request.body instanceof Readable) {
      if (declaredLength > maxBundleBytes) throw bundleTooLarge(maxBundleBytes);
      return request.body;
    }
    throw new AppError(
      "invalid_error",
      `Send the bundle as ${BUNDLE_CONTENT_TYPES.join(", ")} or as the multipart/form-data field \`bundle\``,
    );
  }

  /** Every `signature` envelope, reading the parts after the bundle (call once it is consumed). */
  async signatures(): Promise<string[]> {
    if (this.parts) {
      for (let part = await this.nextPart(); part; part = await this.nextPart())
        await this.takeSignature(part);
    }
    return this.envelopes;
  }

  private async nextPart(): Promise<Part | undefined> {
    try {
      const next = await this.parts?.next();
      return next && !next.done ? next.value : undefined;
    } catch (error) {
      // Busboy's complaints about the framing (no boundary, a body cut short, too many parts).
      throw new AppError("invalid_error", "The bundle was rejected", [
        {
          loc: ["bundle", "archive"],
          msg: `the multipart body could not be read: ${(error as Error).message}`,
          type: "bundle.format",
        },
      ]);
    }
  }

  private async takeSignature(part: Part): Promise<void> {
    if (part.fieldname !== "signature") {
      if (part.type === "file") {
        // Only `bundle` and `signature` files are read; anything else is a mistake worth naming.
        part.file.resume();
        throw new AppError("validation_error", "The multipart body needs a file field `bundle`", [
          { loc: ["body", "bundle"], msg: "field required", type: "value_error.missing" },
          {
            loc: ["body", part.fieldname],
            msg: "only `bundle` and `signature` files are read",
            type: "value_error.extra",
          },
        ]);
      }
      return;
    }
    const loc = ["body", "signature", this.envelopes.length];
    if (this.envelopes.length >= MAX_SIGNATURE_PARTS) {
      throw validationIssue(loc, `at most ${MAX_SIGNATURE_PARTS} signature fields`, "signature.invalid");
    }
    // A field sent as `Content-Type: application/json` arrives already parsed by the multipart plugin.
    const value =
      part.type === "file"
        ? await readCapped(part.file, MAX_ENVELOPE_BYTES)
        : typeof part.value === "string" || part.valueTruncated
          ? part.value
          : JSON.stringify(part.value);
    const text = typeof value === "string" ? value : undefined;
    if (text === undefined || (part.type === "field" && part.valueTruncated)) {
      throw validationIssue(
        loc,
        `the envelope is larger than ${MAX_ENVELOPE_BYTES} bytes`,
        "signature.invalid",
      );
    }
    this.envelopes.push(text);
  }
}

/** A small file part as text, or undefined past `max` bytes (the rest is drained, not kept). */
async function readCapped(stream: Readable, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size <= max) chunks.push(chunk as Buffer);
  }
  return size > max ? undefined : Buffer.concat(chunks).toString("utf8");
}

/** Refused from Content-Length alone, before a byte is read. */
function bundleTooLarge(maxBundleBytes: number): AppError {
  return new AppError("invalid_error", "The bundle was rejected", [
    {
      loc: ["bundle", "archive"],
      msg: `the archive is larger than ${maxBundleBytes} bytes`,
      type: "bundle.too_large",
    },
  ]);
}

const CONTENT_TYPES: Record<string, string> = {
  ".md": "text/markdown; charset=utf-8",
  ".markdown": "text/markdown; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".py": "text/x-python; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".sh": "text/x-shellscript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".yaml": "application/yaml; charset=utf-8",
  ".yml": "application/yaml; charset=utf-8",
  ".toml": "application/toml; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".xml": "application/xml; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".pdf": "application/pdf",
  ".zip": "application/zip",
  ".gz": "application/gzip",
  ".wasm": "application/wasm",
};

function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? "text/plain; charset=utf-8";
}
