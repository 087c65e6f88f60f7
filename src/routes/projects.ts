import type { RouteApp } from "./route-app.js";

export default async function projectRoutes(_app: RouteApp): Promise<void> {}
