import type { RouteApp } from "./route-app.js";

export default async function workspaceRoutes(_app: RouteApp): Promise<void> {}
