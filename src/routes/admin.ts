// Instance administration (SPEC §3): users and their first keys, and who administers the instance.
// Instance admins only (403 for everyone else).
import path from "node:path";
import type { Static } from "typebox";
import { BackupCreated } from "../contract/backups.js";
import { CursorQuery, errorResponses } from "../contract/common.js";
import {
  AdminUser,
  AdminUserCreateBody,
  AdminUserPage,
  AdminUserUpdateBody,
  ApiKeyCreateBody,
  ApiKeyCreated,
  UserParams,
} from "../contract/users.js";
import type { Row } from "../db/schema.js";
import { createUser, listUsers, setUserAdmin } from "../services/admin-service.js";
import { createUserApiKeyAsAdmin } from "../services/api-key-service.js";
import { createServerBackup, MAX_SERVER_BACKUPS } from "../services/backup-service.js";
import { type RouteApp, scopeOf } from "./route-app.js";
import { presentCreatedApiKey } from "./users.js";

const tags = ["admin"];
const DEFAULT_LIMIT = 50;

function presentUser(row: Row<"users">): Static<typeof AdminUser> {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    is_admin: row.is_admin === 1,
    service_org_id: row.service_org_id,
    created_at: row.created_at,
  };
}

export default async function adminRoutes(app: RouteApp): Promise<void> {
  app.post(
    "/admin/users",
    {
      schema: {
        operationId: "createUser",
        tags,
        summary: "Create a user (instance admin); give them a key with POST /admin/users/{user_id}/api-keys",
        body: AdminUserCreateBody,
        response: { 201: AdminUser, ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = await createUser(app.deps, scopeOf(request), request.body);
      return reply.code(201).send(presentUser(user));
    },
  );

  app.get(
    "/admin/users",
    {
      schema: {
        operationId: "listUsers",
        tags,
        summary: "Every user of the instance, service accounts included, oldest first (instance admin)",
        querystring: CursorQuery,
        response: { 200: AdminUserPage, ...errorResponses },
      },
    },
    async (request) => {
      const { limit = DEFAULT_LIMIT, cursor } = request.query;
      const page = await listUsers(app.deps, scopeOf(request).actor, { limit, cursor });
      return { items: page.items.map(presentUser), next_cursor: page.nextCursor };
    },
  );

  app.put(
    "/admin/users/:user_id",
    {
      schema: {
        operationId: "setUserAdmin",
        tags,
        summary: "Grant or remove instance admin (instance admin); the last admin cannot be removed",
        params: UserParams,
        body: AdminUserUpdateBody,
        response: { 200: AdminUser, ...errorResponses },
      },
    },
    async (request) =>
      presentUser(
        await setUserAdmin(
          app.deps,
          scopeOf(request),
          request.params.user_id.toLowerCase(),
          request.body.is_admin,
        ),
      ),
  );

  app.post(
    "/admin/users/:user_id/api-keys",
    {
      schema: {
        operationId: "createUserApiKey",
        tags,
        summary: "Mint an API key for a user (instance admin); the key is shown only in this response",
        description: "A service account's key is always limited to its org.",
        params: UserParams,
        body: ApiKeyCreateBody,
        response: { 201: ApiKeyCreated, ...errorResponses },
      },
    },
    async (request, reply) => {
      const minted = await createUserApiKeyAsAdmin(
        app.deps,
        scopeOf(request),
        request.params.user_id.toLowerCase(),
        request.body,
      );
      return reply.code(201).send(presentCreatedApiKey(minted));
    },
  );

  app.post(
    "/admin/backups",
    {
      schema: {
        operationId: "createBackup",
        tags,
        summary: "Back up the instance while it serves (instance admin; embedded default only)",
        description: `Writes a consistent snapshot (database, the blobs it names, a manifest of sha256 digests) into a new directory under <DATA_DIR>/backups on the server and returns its name; the caller chooses no path. 409 while another API backup is being written, or when ${MAX_SERVER_BACKUPS} of them are kept under <DATA_DIR>/backups (the operator moves or deletes old ones). In scale mode (PostgreSQL) 409: back up with pg_dump instead.`,
        response: { 201: BackupCreated, ...errorResponses },
      },
    },
    async (request, reply) => {
      const backup = await createServerBackup(app.deps, scopeOf(request));
      const { dir, ...summary } = backup;
      return reply.code(201).send({ name: path.basename(dir), ...summary });
    },
  );
}
