import type { RouteApp } from "./route-app.js";

export default async function bindingRoutes(_app: RouteApp): Promise<void> {}
