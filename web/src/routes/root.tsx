import * as Tooltip from "@radix-ui/react-tooltip";
import type { QueryClient } from "@tanstack/react-query";
import { createRootRouteWithContext, Link, Outlet } from "@tanstack/react-router";

export interface RouterContext {
  queryClient: QueryClient;
}

export const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: () => (
    <Tooltip.Provider delayDuration={300}>
      <Outlet />
    </Tooltip.Provider>
  ),
  notFoundComponent: () => (
    <main className="mx-auto max-w-xl p-6">
      <h1 className="text-xl font-semibold">Page not found</h1>
      <p className="mt-2">
        Nothing lives at this address.{" "}
        <Link to="/" className="text-blue-700 underline dark:text-blue-300">
          Go to the catalog
        </Link>
      </p>
    </main>
  ),
});
