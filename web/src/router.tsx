import type { QueryClient } from "@tanstack/react-query";
import { createRouter } from "@tanstack/react-router";
import { authenticatedRoute, homeRoute } from "./routes/authenticated";
import { capabilityRoute } from "./routes/capability";
import { catalogRoute } from "./routes/catalog";
import { orgIndexRoute, orgRoute } from "./routes/org";
import { organizationRoute } from "./routes/organization";
import { rootRoute } from "./routes/root";
import { runtimeRoute } from "./routes/runtime";
import { runtimesRoute } from "./routes/runtimes";
import { signInRoute } from "./routes/sign-in";

const routeTree = rootRoute.addChildren([
  signInRoute,
  authenticatedRoute.addChildren([
    homeRoute,
    orgRoute.addChildren([
      orgIndexRoute,
      catalogRoute,
      capabilityRoute,
      runtimesRoute,
      runtimeRoute,
      organizationRoute,
    ]),
  ]),
]);

export function createAppRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree,
    context: { queryClient },
    defaultPreload: "intent",
    scrollRestoration: true,
  });
}

declare module "@tanstack/react-router" {
  interface Register {
    router: ReturnType<typeof createAppRouter>;
  }
}
