// The service container: one instance of each service per app, sharing the same deps and caches.
import type { KeyCache } from "../http/auth.js";
import type { ServiceDeps } from "./deps.js";

// biome-ignore lint/complexity/noBannedTypes: filled in as services are added
export type Services = {};

export function createServices(_deps: ServiceDeps, _keyCache: KeyCache): Services {
  return {};
}
