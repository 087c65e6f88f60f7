// The workspace's runtimes, listed; each runtime's own page arrives with the next part of the console.
import { createRoute } from "@tanstack/react-router";
import { useEffect } from "react";
import { useRuntimes } from "../api/runtimes";
import { preferences } from "../api/session";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { EmptyState, Loading } from "../components/States";
import { formatDate } from "../lib/format";
import { orgRoute } from "./org";

export const runtimesRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "/ws/$ws/runtimes",
  component: Runtimes,
});

function Runtimes() {
  const { org, ws } = runtimesRoute.useParams();
  const runtimes = useRuntimes(org, ws);
  useEffect(() => preferences.setWorkspace(org, ws), [org, ws]);
  const items = runtimes.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <section aria-labelledby="runtimes-title" className="space-y-3">
      <h1 id="runtimes-title" className="text-xl font-semibold">
        Runtimes in <span className="font-mono">{ws}</span>
      </h1>
      {runtimes.isPending ? (
        <Loading label="Loading runtimes…" />
      ) : runtimes.isError ? (
        <ErrorNotice error={runtimes.error} onRetry={() => runtimes.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title="No runtimes in this workspace">
          Create one with <code className="font-mono">capstan runtime create KEY</code>.
        </EmptyState>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-slate-300 dark:border-slate-700">
          <table className="w-full text-left text-sm">
            <thead className="bg-slate-100 dark:bg-slate-800">
              <tr>
                <th scope="col" className="px-3 py-2">
                  Key
                </th>
                <th scope="col" className="px-3 py-2">
                  Name
                </th>
                <th scope="col" className="px-3 py-2">
                  Capabilities
                </th>
                <th scope="col" className="px-3 py-2">
                  Updated
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-200 bg-white dark:divide-slate-800 dark:bg-slate-900">
              {items.map((runtime) => (
                <tr key={runtime.id}>
                  <td className="px-3 py-2 font-mono">{runtime.key}</td>
                  <td className="px-3 py-2">{runtime.name}</td>
                  <td className="px-3 py-2">{runtime.capability_count}</td>
                  <td className="px-3 py-2 whitespace-nowrap">{formatDate(runtime.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {runtimes.hasNextPage && (
        <Button onClick={() => runtimes.fetchNextPage()} disabled={runtimes.isFetchingNextPage}>
          Show more
        </Button>
      )}
    </section>
  );
}
