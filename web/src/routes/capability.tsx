// The capability page's route: its URL state (version, tab, open file). The screen itself is loaded
// on demand (capability-page.tsx), so the Markdown renderer is not part of the first download.
import { createRoute, lazyRouteComponent } from "@tanstack/react-router";
import { orgRoute } from "./org";

export const TABS = ["overview", "versions", "files", "flags"] as const;
export type Tab = (typeof TABS)[number];

export interface CapabilitySearch {
  version?: string;
  tab?: Tab;
  file?: string;
}

export const capabilityRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "/capabilities/$name",
  validateSearch: (search: Record<string, unknown>): CapabilitySearch => ({
    version: typeof search.version === "string" && search.version !== "" ? search.version : undefined,
    tab: TABS.includes(search.tab as Tab) && search.tab !== "overview" ? (search.tab as Tab) : undefined,
    file: typeof search.file === "string" && search.file !== "" ? search.file : undefined,
  }),
  component: lazyRouteComponent(() => import("./capability-page"), "CapabilityPage"),
});
