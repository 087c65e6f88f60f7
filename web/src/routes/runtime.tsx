// The runtime page's route: its URL state (tab). The screen itself is loaded on demand
// (runtime-page.tsx), so the runtimes list and the catalog do not carry it.
import { createRoute, lazyRouteComponent } from "@tanstack/react-router";
import { orgRoute } from "./org";

export const RUNTIME_TABS = ["capabilities", "config", "resolved"] as const;
export type RuntimeTab = (typeof RUNTIME_TABS)[number];

export const runtimeRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "/ws/$ws/runtimes/$runtime",
  validateSearch: (search: Record<string, unknown>): { tab?: RuntimeTab } => ({
    tab:
      RUNTIME_TABS.includes(search.tab as RuntimeTab) && search.tab !== "capabilities"
        ? (search.tab as RuntimeTab)
        : undefined,
  }),
  component: lazyRouteComponent(() => import("./runtime-page"), "RuntimePage"),
});
