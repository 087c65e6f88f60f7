import type { RouteApp } from "./route-app.js";

export default async function memberRoutes(_app: RouteApp): Promise<void> {}
