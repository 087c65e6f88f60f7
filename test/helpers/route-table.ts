// The routes an app really serves, read from its router rather than from a list kept by hand, so a
// test built on them notices a route added tomorrow.
import type { TestApp } from "./test-app.js";

export interface RegisteredRoute {
  method: string;
  /** The template as registered, e.g. `/api/v1/org/:org/ws/:workspace`. */
  url: string;
}

/**
 * Every method and URL template in the router; HEAD only when asked for (Fastify derives each HEAD
 * route from its GET route, with the same options and hooks).
 */
export function registeredRoutes(app: TestApp["app"], options: { head?: boolean } = {}): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  const prefixes: string[] = [];
  // The radix-tree print: each line adds its segment to its parent's path.
  for (const line of app.printRoutes().split("\n")) {
    const match = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    const url = (depth === 0 ? "" : prefixes[depth - 1]) + match[2];
    prefixes[depth] = url;
    for (const method of (match[3] ?? "").split(", ").filter(Boolean)) {
      if (method !== "HEAD" || options.head) routes.push({ method, url });
    }
  }
  return routes;
}
