// What every service gets: framework-free handles, no Fastify types.
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Dialect } from "../db/connect.js";
import type { Database } from "../db/schema.js";
import type { BlobStore } from "../storage/blob-store.js";
import type { ChangeFeed } from "./change-feed.js";

export interface ServiceDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  blobs: BlobStore;
  config: Config;
  logger: Logger;
  /** Current time as ISO-8601; injectable so tests can move the clock (key expiry, signed URLs). */
  now: () => Date;
  /** Change notifications that in-memory caches listen to (and, in scale mode, other instances). */
  changes: ChangeFeed;
}

/** Who is acting, for permission checks and the audit trail. */
export interface Actor {
  userId: string;
  apiKeyId: string;
  readOnly: boolean;
  /** Set for runtime tokens: the only runtime this credential may read. */
  runtimeId: string | null;
  /** The org the key is limited to: any other org answers 404, as to a non-member (SPEC §3). */
  keyOrgId: string | null;
}

export interface RequestScope {
  actor: Actor;
  requestId: string;
}
