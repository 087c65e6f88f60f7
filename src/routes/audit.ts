import type { RouteApp } from "./route-app.js";

export default async function auditRoutes(_app: RouteApp): Promise<void> {}
