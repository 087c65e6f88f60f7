// The services that keep state between requests (caches, the publish worker pool), created once per
// app by createServices(deps) and attached to it (src/app.ts); route modules and the fast lane use
// these instances and never build their own. Stateless services are plain functions of ServiceDeps.
import { BindingService } from "./binding-service.js";
import type { ServiceDeps } from "./deps.js";
import { OrgRoleCache } from "./org-role-cache.js";
import { PublishPipeline } from "./publish-service.js";
import { ResolvedService } from "./resolved-service.js";

export interface Services {
  /** Org roles per user, cached for the hot runtime reads (shared by bindings and resolved). */
  roles: OrgRoleCache;
  bindings: BindingService;
  resolved: ResolvedService;
  /** Admission and the worker pool that unpacks published bundles. */
  publish: PublishPipeline;
  /** Stops the worker pool; the app calls it when it closes. */
  close(): Promise<void>;
}

export function createServices(deps: ServiceDeps): Services {
  const roles = new OrgRoleCache(deps);
  const publish = new PublishPipeline(deps.config);
  return {
    roles,
    bindings: new BindingService(deps, roles),
    resolved: new ResolvedService(deps, roles),
    publish,
    close: () => publish.close(),
  };
}
