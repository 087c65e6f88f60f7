import type { RouteApp } from "./route-app.js";

export default async function runtimeRoutes(_app: RouteApp): Promise<void> {}
