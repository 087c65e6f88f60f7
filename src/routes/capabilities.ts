import type { RouteApp } from "./route-app.js";

export default async function capabilityRoutes(_app: RouteApp): Promise<void> {}
