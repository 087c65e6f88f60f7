// Everything behind sign-in. Without a key in the session, any screen sends the user to sign-in
// and back to where they were going.
import { useQuery } from "@tanstack/react-query";
import { createRoute, Navigate, Outlet, redirect } from "@tanstack/react-router";
import { preferences, session } from "../api/session";
import { organizationsQuery } from "../api/user";
import { ErrorNotice } from "../components/ErrorNotice";
import { EmptyState, Loading } from "../components/States";
import { rootRoute } from "./root";

export const authenticatedRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "authenticated",
  beforeLoad: ({ location }) => {
    // A 401 both signs out and navigates to sign-in with its detail; when this guard's redirect
    // lands after that navigation (a route still loading), it must carry the same detail.
    if (!session.key())
      throw redirect({ to: "/sign-in", search: { redirect: location.href, message: session.refusal() } });
  },
  component: Outlet,
});

/** `/`: the remembered organization's catalog, else the first one the caller belongs to. */
export const homeRoute = createRoute({
  getParentRoute: () => authenticatedRoute,
  path: "/",
  component: Home,
});

function Home() {
  const orgs = useQuery(organizationsQuery);
  if (orgs.isPending) return <Loading />;
  if (orgs.isError)
    return (
      <main className="p-6">
        <ErrorNotice error={orgs.error} onRetry={() => orgs.refetch()} />
      </main>
    );
  const remembered = preferences.org();
  const org = orgs.data.find((o) => o.key === remembered) ?? orgs.data[0];
  if (!org)
    return (
      <main className="p-6">
        <EmptyState title="You belong to no organization yet">
          Ask an owner to add you, or create one with <code>capstan org create</code>.
        </EmptyState>
      </main>
    );
  return <Navigate to="/orgs/$org/catalog" params={{ org: org.key }} replace />;
}
