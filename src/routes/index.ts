// Every route module, registered under one app. One file per resource.
import adminRoutes from "./admin.js";
import auditRoutes from "./audit.js";
import bindingRoutes from "./bindings.js";
import blobRoutes from "./blobs.js";
import capabilityRoutes from "./capabilities.js";
import capabilityTagRoutes from "./capability-tags.js";
import eventRoutes from "./events.js";
import mcpRegistryRoutes from "./mcp-registry.js";
import memberRoutes from "./members.js";
import operationalRoutes from "./operational.js";
import orgRoutes from "./orgs.js";
import projectRoutes from "./projects.js";
import type { RouteApp } from "./route-app.js";
import runtimeStatusRoutes from "./runtime-status.js";
import runtimeRoutes from "./runtimes.js";
import scanRoutes from "./scan.js";
import schemaRoutes from "./schemas.js";
import secretRoutes from "./secrets.js";
import serviceAccountRoutes from "./service-accounts.js";
import signingRoutes from "./signing.js";
import userRoutes from "./users.js";
import workspaceRoutes from "./workspaces.js";

export async function registerRoutes(app: RouteApp): Promise<void> {
  await app.register(operationalRoutes);
  await app.register(schemaRoutes);
  await app.register(mcpRegistryRoutes);
  const api = { prefix: "/api/v1" };
  await app.register(userRoutes, api);
  await app.register(orgRoutes, api);
  await app.register(memberRoutes, api);
  await app.register(serviceAccountRoutes, api);
  await app.register(adminRoutes, api);
  await app.register(workspaceRoutes, api);
  await app.register(projectRoutes, api);
  await app.register(auditRoutes, api);
  await app.register(runtimeRoutes, api);
  await app.register(runtimeStatusRoutes, api);
  await app.register(bindingRoutes, api);
  await app.register(capabilityRoutes, api);
  await app.register(scanRoutes, api);
  await app.register(capabilityTagRoutes, api);
  await app.register(blobRoutes, api);
  await app.register(secretRoutes, api);
  await app.register(signingRoutes, api);
  await app.register(eventRoutes, api);
}
