// The shell of every organization screen: org and workspace switchers (remembered per browser),
// navigation, who is signed in, sign-out.
import * as DropdownMenu from "@radix-ui/react-dropdown-menu";
import { useQueryClient } from "@tanstack/react-query";
import { createRoute, Link, Navigate, Outlet, useNavigate, useRouterState } from "@tanstack/react-router";
import { useEffect, useReducer } from "react";
import { preferences, session } from "../api/session";
import { useMe, useOrganizations, useWorkspaces } from "../api/user";
import { authenticatedRoute } from "./authenticated";

export const orgRoute = createRoute({
  getParentRoute: () => authenticatedRoute,
  path: "/orgs/$org",
  component: Shell,
});

export const orgIndexRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "/",
  component: () => <Navigate to="/orgs/$org/catalog" params={{ org: orgRoute.useParams().org }} replace />,
});

/** The workspace the user last chose in `org`, else the org's default one. */
export function useCurrentWorkspace(org: string): string | null {
  const workspaces = useWorkspaces(org);
  const list = workspaces.data?.workspaces ?? [];
  const remembered = preferences.workspace(org);
  return (list.find((w) => w.key === remembered) ?? list.find((w) => w.is_default) ?? list[0])?.key ?? null;
}

const selectClass =
  "rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900";
const navClass =
  "rounded px-2 py-1 text-sm font-medium text-slate-700 hover:bg-slate-200 dark:text-slate-200 dark:hover:bg-slate-800";
const navActive = "bg-slate-200 text-slate-950 dark:bg-slate-800 dark:text-white";

function Shell() {
  const { org } = orgRoute.useParams();
  const orgs = useOrganizations();
  const me = useMe();
  const workspaces = useWorkspaces(org);
  const workspace = useCurrentWorkspace(org);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const pathname = useRouterState({ select: (state) => state.location.pathname });
  const role = orgs.data?.find((o) => o.key === org)?.role;
  // The remembered workspace is read on render; a switch re-renders.
  const [, rerender] = useReducer((n: number) => n + 1, 0);

  useEffect(() => {
    if (orgs.data?.some((o) => o.key === org)) preferences.setOrg(org);
  }, [org, orgs.data]);

  const signOut = () => {
    session.signOut();
    queryClient.clear();
    void navigate({ to: "/sign-in" });
  };

  return (
    <div className="min-h-screen">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-slate-900"
      >
        Skip to content
      </a>
      <header className="border-b border-slate-300 bg-white dark:border-slate-800 dark:bg-slate-900">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-2">
          <Link to="/orgs/$org/catalog" params={{ org }} className="text-lg font-bold tracking-tight">
            Capstan
          </Link>
          <div className="flex flex-wrap items-center gap-2">
            <label className="sr-only" htmlFor="org-switcher">
              Organization
            </label>
            <select
              id="org-switcher"
              className={selectClass}
              value={org}
              onChange={(event) => {
                preferences.setOrg(event.target.value);
                void navigate({ to: "/orgs/$org/catalog", params: { org: event.target.value } });
              }}
            >
              {(orgs.data ?? [{ key: org, name: org }]).map((o) => (
                <option key={o.key} value={o.key}>
                  {o.name === o.key ? o.key : `${o.name} (${o.key})`}
                </option>
              ))}
            </select>
            <label className="sr-only" htmlFor="workspace-switcher">
              Workspace
            </label>
            <select
              id="workspace-switcher"
              className={selectClass}
              value={workspace ?? ""}
              disabled={!workspaces.data}
              onChange={(event) => {
                preferences.setWorkspace(org, event.target.value);
                if (pathname.includes("/ws/"))
                  void navigate({
                    to: "/orgs/$org/ws/$ws/runtimes",
                    params: { org, ws: event.target.value },
                  });
                else rerender();
              }}
            >
              {(workspaces.data?.workspaces ?? []).map((w) => (
                <option key={w.key} value={w.key}>
                  {w.name === w.key ? w.key : `${w.name} (${w.key})`}
                </option>
              ))}
            </select>
          </div>
          <nav aria-label="Main" className="flex flex-wrap items-center gap-1">
            <Link
              to="/orgs/$org/catalog"
              params={{ org }}
              className={navClass}
              activeProps={{ className: navActive, "aria-current": "page" }}
            >
              Catalog
            </Link>
            {workspace && (
              <Link
                to="/orgs/$org/ws/$ws/runtimes"
                params={{ org, ws: workspace }}
                className={navClass}
                activeProps={{ className: navActive, "aria-current": "page" }}
              >
                Runtimes
              </Link>
            )}
            {role === "owner" && (
              <Link
                to="/orgs/$org/settings"
                params={{ org }}
                className={navClass}
                activeProps={{ className: navActive, "aria-current": "page" }}
              >
                Organization
              </Link>
            )}
          </nav>
          <div className="ml-auto">
            <DropdownMenu.Root>
              <DropdownMenu.Trigger
                className="rounded px-2 py-1 text-sm hover:bg-slate-200 dark:hover:bg-slate-800"
                data-testid="user-menu"
              >
                <span data-testid="whoami">{me.data ? me.data.name || me.data.email : "…"}</span>
                {role && <span className="ml-1 text-xs text-slate-600 dark:text-slate-400">({role})</span>} ▾
              </DropdownMenu.Trigger>
              <DropdownMenu.Portal>
                <DropdownMenu.Content
                  align="end"
                  sideOffset={4}
                  className="min-w-48 rounded border border-slate-300 bg-white p-1 text-sm shadow-lg dark:border-slate-700 dark:bg-slate-900"
                >
                  <DropdownMenu.Label className="px-2 py-1 text-xs text-slate-600 dark:text-slate-400">
                    {me.data?.email}
                  </DropdownMenu.Label>
                  <DropdownMenu.Separator className="my-1 h-px bg-slate-200 dark:bg-slate-700" />
                  <DropdownMenu.Item
                    onSelect={signOut}
                    className="cursor-pointer rounded px-2 py-1 outline-none data-[highlighted]:bg-slate-200 dark:data-[highlighted]:bg-slate-800"
                  >
                    Sign out
                  </DropdownMenu.Item>
                </DropdownMenu.Content>
              </DropdownMenu.Portal>
            </DropdownMenu.Root>
          </div>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-7xl px-4 py-4">
        <Outlet />
      </main>
    </div>
  );
}
