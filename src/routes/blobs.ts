import type { RouteApp } from "./route-app.js";

export default async function blobRoutes(_app: RouteApp): Promise<void> {}
