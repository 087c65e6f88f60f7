// The artifact detail (SPEC §5) of a large version, served without re-serializing it on every read.
//
// A version with 10,000 files and 2,000 components has a ~1.5 MB detail. Built on every GET, one read
// held the event loop for 60–80 ms on an idle machine (reading the big text columns, parsing them,
// then fast-json-stringify walking 12,000 objects) and 200–550 ms under load. Almost all of it never
// changes after publish: the file manifest, component details, manifest, flags, digests. So the
// detail is cut along the schema's property order into fragments: the immutable properties are
// serialized once per version into Buffers (kept in a bounded LRU by version id), and the few
// properties that can change (`MUTABLE_FIELDS`) are serialized fresh on every read, from rows read
// fresh on every read, and spliced between them. The bytes are those the route's schema serializer
// would write for the same object (test/http/capabilities.detail-cache.test.ts compares them).
//
// Caching per instance is safe in scale mode: what is cached can never change (a version number is
// never reused, and ids are never reused either), and everything that can change is read each time.
// A deleted version's entry is simply never asked for again and ages out.

import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import fastJsonStringify from "fast-json-stringify";
import { ArtifactDetail } from "../contract/capabilities.js";
import { findVersionContent, type VersionContent } from "../db/repositories/capability-repository.js";
import type { Db } from "../db/schema.js";
import { type LiveVersion, scanSummaryOf } from "./artifact-views.js";
import { ByteBoundedCache } from "./byte-bounded-cache.js";

type DetailKey = keyof ArtifactDetail;
type Serialize = (value: unknown) => string;

/**
 * The properties that can change after publish, or that depend on who looks (`name` is
 * `owner/name` from another org). A property not listed here is cached for the life of the
 * process, so a new property that can change must be added here.
 */
export const MUTABLE_FIELDS = [
  "name",
  "is_public",
  "status",
  "updated_at",
  "version_count",
  "versions",
  "deprecation_message",
  // Added and (by revoking a key) taken away after publish.
  "signatures",
  "tags",
] as const satisfies readonly DetailKey[];
export type MutableDetail = Pick<ArtifactDetail, (typeof MUTABLE_FIELDS)[number]>;

const MUTABLE = new Set<string>(MUTABLE_FIELDS);
/** Arrays longer than this are serialized in slices, yielding to the event loop between them. */
const SLICE = 500;

const properties = ArtifactDetail.properties as Record<string, object>;
const KEYS = Object.keys(properties) as DetailKey[];
const required = new Set<string>(ArtifactDetail.required ?? []);
// Every property is always written, so each one's place and its commas never vary.
for (const key of KEYS) {
  if (!required.has(key)) throw new Error(`artifact detail property '${key}' must be required`);
}
/** One serializer per property, from the route's own sub-schema: the same bytes as the whole. */
const serializers = new Map<string, Serialize>(
  KEYS.map((key) => [key, fastJsonStringify(properties[key]) as Serialize]),
);

/** The immutable runs of a detail as bytes; a property name marks where a mutable value goes. */
export interface DetailTemplate {
  parts: (Buffer | DetailKey)[];
  bytes: number;
}

function serializerOf(key: string): Serialize {
  const serialize = serializers.get(key);
  if (!serialize) throw new Error(`no serializer for '${key}'`);
  return serialize;
}

/** A long array in slices: no single step holds the event loop for long. */
async function serializeSliced(key: string, value: unknown[]): Promise<string> {
  const serialize = serializerOf(key);
  if (value.length <= SLICE) return serialize(value);
  const pieces: string[] = [];
  for (let start = 0; start < value.length; start += SLICE) {
    if (start > 0) await yieldToEventLoop();
    pieces.push(serialize(value.slice(start, start + SLICE)).slice(1, -1));
  }
  return `[${pieces.join(",")}]`;
}

/** The immutable properties of a version as the detail shows them. */
async function immutableValues(content: VersionContent): Promise<Partial<Record<DetailKey, unknown>>> {
  const values: Partial<Record<DetailKey, unknown>> = {
    id: content.id,
    version: content.version,
    description: content.description,
    author_name: content.author_name,
    license: content.license,
    keywords: JSON.parse(content.keywords),
    component_counts: JSON.parse(content.component_counts),
    created_at: content.created_at,
    artifact_sha256: content.artifact_sha256,
    runtime_digest: content.runtime_digest,
    size_bytes: Number(content.size_bytes),
    manifest: JSON.parse(content.manifest),
    flags: JSON.parse(content.flags),
    warnings: JSON.parse(content.warnings),
    published_by: content.published_by,
    // Findings never change after publish, so neither does their summary.
    scan: scanSummaryOf(content.scan_summary),
  };
  values.file_manifest = JSON.parse(content.file_manifest);
  await yieldToEventLoop();
  values.component_details = JSON.parse(content.component_details);
  await yieldToEventLoop();
  return values;
}

export async function buildDetailTemplate(content: VersionContent): Promise<DetailTemplate> {
  const values = await immutableValues(content);
  const parts: (Buffer | DetailKey)[] = [];
  let text = "{";
  for (const [index, key] of KEYS.entries()) {
    text += `${index === 0 ? "" : ","}${JSON.stringify(key)}:`;
    if (MUTABLE.has(key)) {
      parts.push(Buffer.from(text), key);
      text = "";
      continue;
    }
    if (!(key in values)) throw new Error(`artifact detail property '${key}' has no cached value`);
    const value = values[key];
    text += Array.isArray(value) ? await serializeSliced(key, value) : serializerOf(key)(value);
  }
  parts.push(Buffer.from(`${text}}`));
  let bytes = 0;
  for (const part of parts) if (typeof part !== "string") bytes += part.length;
  return { parts, bytes };
}

/**
 * The whole detail: the template's bytes with the mutable properties serialized in between, as the
 * chunks to write in order. The cached Buffers are written as they are, not copied into one: a
 * 1.5 MB copy per read was most of what a cached read still cost (and its garbage the rest).
 */
export interface RenderedDetail {
  chunks: Buffer[];
  length: number;
}

export function renderDetail(template: DetailTemplate, mutable: MutableDetail): RenderedDetail {
  let length = 0;
  const chunks = template.parts.map((part) => {
    const chunk =
      typeof part === "string" ? Buffer.from(serializerOf(part)(mutable[part as keyof MutableDetail])) : part;
    length += chunk.length;
    return chunk;
  });
  return { chunks, length };
}

/** The mutable properties of a version's detail, from rows read for this request. */
export function mutableDetail(
  displayName: string,
  isPublic: boolean,
  version: LiveVersion,
  newestFirstVersions: string[],
  signatures: MutableDetail["signatures"],
  tags: string[],
): MutableDetail {
  if (version.status === "deleted") throw new Error("a deleted version has no public view");
  return {
    name: displayName,
    is_public: isPublic,
    status: version.status,
    updated_at: version.updated_at,
    version_count: newestFirstVersions.length,
    versions: newestFirstVersions,
    deprecation_message: version.deprecation_message,
    signatures,
    tags,
  };
}

/**
 * Templates by version id, least recently used evicted first, bounded by their total bytes
 * (`CAPSTAN_DETAIL_CACHE_BYTES`). Concurrent first reads of one version share one fill. A template
 * larger than the whole budget is built for its request and not kept; a budget of 0 keeps nothing.
 */
export class ArtifactDetailCache {
  private readonly cache: ByteBoundedCache<DetailTemplate>;

  constructor(maxBytes: number) {
    this.cache = new ByteBoundedCache(maxBytes);
  }

  /** The template of a version; undefined when the version row is gone. */
  template(db: Db, versionId: string): Promise<DetailTemplate | undefined> {
    return this.cache.get(versionId, async () => {
      const content = await findVersionContent(db, versionId);
      return content && buildDetailTemplate(content);
    });
  }

  /** What the cache holds (tests read it). */
  stats(): { entries: number; bytes: number; maxBytes: number } {
    return this.cache.stats();
  }
}
