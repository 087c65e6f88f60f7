// The caller's own account: profile, organizations, API keys (SPEC §3).
import { Type } from "typebox";
import { errorResponses, Timestamp, Uuid } from "../contract/common.js";
import { AppError } from "../http/errors.js";
import { type RouteApp, scopeOf } from "./route-app.js";

const User = Type.Object({ id: Uuid, email: Type.String(), name: Type.String(), created_at: Timestamp });

export default async function userRoutes(app: RouteApp): Promise<void> {
  app.get(
    "/user/me",
    { schema: { tags: ["users"], summary: "The caller", response: { 200: User, ...errorResponses } } },
    async (request) => {
      const { actor } = scopeOf(request);
      const user = await app.deps.db.selectFrom("users").selectAll().where("id", "=", actor.userId).executeTakeFirst();
      if (!user) throw new AppError("authentication_error", "The key's user no longer exists");
      return user;
    },
  );
}
