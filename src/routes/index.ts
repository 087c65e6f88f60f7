// Every route module, registered under one app. One file per resource.
import type { App } from "../app.js";
import operationalRoutes from "./operational.js";
import userRoutes from "./users.js";

export async function registerRoutes(app: App): Promise<void> {
  await app.register(operationalRoutes);
  await app.register(userRoutes, { prefix: "/api/v1" });
}
