import type { RouteApp } from "./route-app.js";

export default async function orgRoutes(_app: RouteApp): Promise<void> {}
