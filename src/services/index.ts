// The services that keep state between requests (caches, the publish worker pool), created once per
// app by createServices(deps) and attached to it (src/app.ts); route modules and the fast lane use
// these instances and never build their own. Stateless services are plain functions of ServiceDeps.
import { ArtifactDetailCache } from "./artifact-detail-cache.js";
import { BindingService } from "./binding-service.js";
import type { ServiceDeps } from "./deps.js";
import { type EventStreamOptions, EventStreams } from "./event-service.js";
import { FileManifestCache } from "./file-manifest-cache.js";
import { OrgRoleCache } from "./org-role-cache.js";
import { PublishPipeline } from "./publish-service.js";
import { ResolvedService } from "./resolved-service.js";
import { ResolvedWatch, type WatchLimits } from "./resolved-watch.js";
import { SecretService } from "./secret-service.js";
import { type DispatcherOptions, WebhookDispatcher } from "./webhook-dispatcher.js";
import { WebhookService } from "./webhook-service.js";
import { type ResolveHost, systemResolve } from "./webhook-transport.js";

export interface Services {
  /** Org roles per user, cached for the hot runtime reads (shared by bindings and resolved). */
  roles: OrgRoleCache;
  bindings: BindingService;
  resolved: ResolvedService;
  /** Requests held until a runtime's resolved set changes (SPEC §12 watch). */
  watch: ResolvedWatch;
  /** Serialized version details by version id: bytes sent as they are, not through the schema. */
  details: ArtifactDetailCache;
  /** Parsed file manifests by version id, for single-file reads, the readme and the paged list. */
  manifests: FileManifestCache;
  /** Admission and the worker pool that unpacks published bundles. */
  publish: PublishPipeline;
  /** Workspace secrets, with the master keyring loaded and checked once. */
  secrets: SecretService;
  /** Webhook registration and the delivery log (SPEC §15). */
  webhooks: WebhookService;
  /** Fans events out to webhooks and sends them; started when the app is ready. */
  webhookDispatcher: WebhookDispatcher;
  /** Server-Sent Events streams of org events (SPEC §15), capped and woken by the change feed. */
  events: EventStreams;
  /** Stops the worker pool; the app calls it when it closes. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Caps on held watch requests (small ones let a test fill them). */
  watchLimits?: WatchLimits;
  /** How webhook hosts are resolved (tests play DNS rebinding with their own). */
  webhookResolve?: ResolveHost;
  webhookDispatch?: DispatcherOptions;
  /** Event stream limits and intervals (tests shorten the heartbeat). */
  eventStreams?: Partial<EventStreamOptions>;
}

export function createServices(deps: ServiceDeps, options: ServiceOptions = {}): Services {
  const roles = new OrgRoleCache(deps);
  const publish = new PublishPipeline(deps.config);
  // CAPSTAN_DETAIL_CACHE_BYTES: three quarters for details, a quarter for parsed file manifests.
  const budget = deps.config.detailCacheBytes;
  const resolved = new ResolvedService(deps, roles);
  const secrets = new SecretService(deps);
  const webhookPolicy = {
    allowPrivate: deps.config.webhookAllowPrivate,
    resolve: options.webhookResolve ?? systemResolve,
  };
  const webhookDispatcher = new WebhookDispatcher(deps, secrets, webhookPolicy, options.webhookDispatch);
  return {
    roles,
    bindings: new BindingService(deps, roles),
    resolved,
    // Subscribes after the resolved set's cache, so a change has evicted it when a watcher wakes.
    watch: new ResolvedWatch(resolved, deps.changes, options.watchLimits),
    details: new ArtifactDetailCache(budget - Math.floor(budget / 4)),
    manifests: new FileManifestCache(Math.floor(budget / 4)),
    publish,
    secrets,
    webhooks: new WebhookService(deps, secrets, webhookPolicy, webhookDispatcher),
    webhookDispatcher,
    events: new EventStreams(deps, options.eventStreams),
    close: async () => {
      await webhookDispatcher.close();
      await publish.close();
    },
  };
}
