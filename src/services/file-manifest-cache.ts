// A version's file manifest (SPEC §4.4), parsed once and kept by version id: the raw file route and
// the paged file list of a 10,000-file version would otherwise read and parse its 1.2 MB manifest
// on every request (a runtime syncing file by file: once per file). Immutable after publish, so
// per-instance caching needs no invalidation; bounded in bytes like the detail cache.
import { findVersionFileManifest } from "../db/repositories/capability-repository.js";
import type { Db } from "../db/schema.js";
import type { FileManifestEntry } from "../domain/types.js";
import { ByteBoundedCache, type Sized } from "./byte-bounded-cache.js";

export interface VersionFiles extends Sized {
  /** Sorted by path, as stored. */
  entries: FileManifestEntry[];
  /** Path → index in `entries`. */
  indexByPath: Map<string, number>;
}

/**
 * The parsed entries, their strings and the index cost about 1.8 times the JSON text on the heap
 * (a 10,000-file manifest: 1.3 MB of text, 2.3 MB of heap); counted as 3 to stay on the safe side.
 */
const HEAP_PER_TEXT_BYTE = 3;

export class FileManifestCache {
  private readonly cache: ByteBoundedCache<VersionFiles>;

  constructor(maxBytes: number) {
    this.cache = new ByteBoundedCache(maxBytes);
  }

  /** The files of a version; undefined when the version row is gone. */
  files(db: Db, versionId: string): Promise<VersionFiles | undefined> {
    return this.cache.get(versionId, async () => {
      const row = await findVersionFileManifest(db, versionId);
      if (!row) return undefined;
      const entries: FileManifestEntry[] = JSON.parse(row.file_manifest);
      const indexByPath = new Map(entries.map((entry, index) => [entry.path, index]));
      return { entries, indexByPath, bytes: row.file_manifest.length * HEAP_PER_TEXT_BYTE };
    });
  }

  stats(): { entries: number; bytes: number; maxBytes: number } {
    return this.cache.stats();
  }
}
