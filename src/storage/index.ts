import type { Config } from "../config.js";
import type { DatabaseHandle } from "../db/connect.js";
import type { BlobStore } from "./blob-store.js";
import { FsBlobStore } from "./fs-blob-store.js";
import { PostgresBlobStore } from "./postgres-blob-store.js";

export function createBlobStore(config: Config, database: DatabaseHandle): BlobStore {
  if (config.blobStore.driver === "fs") return new FsBlobStore(config.blobStore.dir);
  return new PostgresBlobStore(database.db);
}
