// The workspace's runtimes: project, bindings, updates waiting, resolved digest; filter by project
// and search by key or name (both in the URL); create and delete.
import { useQueryClient } from "@tanstack/react-query";
import { createRoute, Link, useNavigate } from "@tanstack/react-router";
import { useEffect, useState } from "react";
import {
  createRuntime,
  deleteRuntime,
  type Runtime,
  runtimeKeys,
  useBindings,
  useProjects,
  useResolved,
  useRuntimes,
} from "../api/runtimes";
import { preferences } from "../api/session";
import { useOrgRole } from "../api/user";
import { Badge } from "../components/Badge";
import { Button } from "../components/Button";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNotice } from "../components/ErrorNotice";
import { EmptyState, Loading } from "../components/States";
import { fieldErrors, toEnvelope } from "../lib/envelope";
import { formatDate } from "../lib/format";
import { orgRoute } from "./org";

interface RuntimesSearch {
  q?: string;
  project?: string;
}

export const runtimesRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "/ws/$ws/runtimes",
  validateSearch: (search: Record<string, unknown>): RuntimesSearch => ({
    q: typeof search.q === "string" && search.q !== "" ? search.q : undefined,
    project: typeof search.project === "string" && search.project !== "" ? search.project : undefined,
  }),
  component: Runtimes,
});

const inputClass =
  "rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900";

function Runtimes() {
  const { org, ws } = runtimesRoute.useParams();
  const search = runtimesRoute.useSearch();
  const navigate = useNavigate({ from: runtimesRoute.fullPath });
  const projects = useProjects(org, ws);
  const runtimes = useRuntimes(org, ws, search.project);
  const role = useOrgRole(org);
  const canWrite = role === "owner" || role === "contributor";
  useEffect(() => preferences.setWorkspace(org, ws), [org, ws]);
  const needle = (search.q ?? "").toLowerCase();
  const all = runtimes.data?.pages.flatMap((page) => page.items) ?? [];
  const items = needle
    ? all.filter((r) => r.key.includes(needle) || r.name.toLowerCase().includes(needle))
    : all;
  const projectName = (id: string) => projects.data?.find((p) => p.id === id)?.key ?? "…";
  return (
    <section aria-labelledby="runtimes-title" className="space-y-3">
      <h1 id="runtimes-title" className="text-xl font-semibold">
        Runtimes in <span className="font-mono">{ws}</span>
      </h1>
      <div className="flex flex-wrap items-end gap-3">
        <label className="text-sm">
          <span className="block">Search</span>
          <input
            id="runtime-search"
            type="search"
            className={inputClass}
            value={search.q ?? ""}
            onChange={(event) =>
              void navigate({
                search: (prev) => ({ ...prev, q: event.target.value || undefined }),
                replace: true,
              })
            }
          />
        </label>
        <label className="text-sm">
          <span className="block">Project</span>
          <select
            className={inputClass}
            value={search.project ?? ""}
            onChange={(event) =>
              void navigate({ search: (prev) => ({ ...prev, project: event.target.value || undefined }) })
            }
          >
            <option value="">All projects</option>
            {(projects.data ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.key}
              </option>
            ))}
          </select>
        </label>
      </div>
      {canWrite && <CreateRuntime org={org} ws={ws} projects={projects.data ?? []} />}
      {runtimes.isPending ? (
        <Loading label="Loading runtimes…" />
      ) : runtimes.isError ? (
        <ErrorNotice error={runtimes.error} onRetry={() => runtimes.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title={all.length === 0 ? "No runtimes in this workspace" : "No runtime matches"}>
          {all.length === 0 &&
            (canWrite
              ? "Create one above, or with capstan runtime create KEY."
              : "A contributor can create one.")}
        </EmptyState>
      ) : (
        <ul className="grid gap-2 md:grid-cols-2" data-testid="runtimes">
          {items.map((runtime) => (
            <RuntimeCard
              key={runtime.id}
              org={org}
              ws={ws}
              runtime={runtime}
              project={projectName(runtime.project_id)}
              canWrite={canWrite}
            />
          ))}
        </ul>
      )}
      {runtimes.hasNextPage && (
        <Button onClick={() => runtimes.fetchNextPage()} disabled={runtimes.isFetchingNextPage}>
          Show more
        </Button>
      )}
    </section>
  );
}

function RuntimeCard({
  org,
  ws,
  runtime,
  project,
  canWrite,
}: {
  org: string;
  ws: string;
  runtime: Runtime;
  project: string;
  canWrite: boolean;
}) {
  const scope = { org, ws, runtime: runtime.id };
  const queryClient = useQueryClient();
  // One read of the bindings and one of the resolved set per runtime shown (at most a page of 50),
  // cached for a minute: the runtime object itself carries neither figure.
  const bindings = useBindings(scope, { staleTime: 60_000 });
  const resolved = useResolved(scope, { staleTime: 60_000 });
  const updates = bindings.data?.items.filter((b) => b.upgrade_available).length;
  const sync = runtime.sync;
  return (
    <li
      className="rounded-lg border border-slate-300 bg-white p-3 text-sm dark:border-slate-700 dark:bg-slate-900"
      data-runtime={runtime.key}
    >
      <div className="flex flex-wrap items-center justify-between gap-2">
        <Link
          to="/orgs/$org/ws/$ws/runtimes/$runtime"
          params={{ org, ws, runtime: runtime.id }}
          className="font-mono font-semibold break-all text-blue-800 underline dark:text-blue-200"
        >
          {runtime.key}
        </Link>
        {canWrite && (
          <ConfirmDialog
            trigger={
              <Button size="sm" variant="danger" aria-label={`Delete ${runtime.key}`}>
                Delete
              </Button>
            }
            title={`Delete the runtime ${runtime.key}?`}
            description="Its bindings go with it; runtimes using its token stop receiving capabilities."
            confirmLabel="Delete"
            danger
            onConfirm={() =>
              deleteRuntime(org, ws, runtime.id).then(() =>
                queryClient.invalidateQueries({ queryKey: runtimeKeys.list(org, ws) }),
              )
            }
          />
        )}
      </div>
      <p>{runtime.name}</p>
      <p className="mt-1 flex flex-wrap gap-1">
        <Badge>project {project}</Badge>
        <Badge>{runtime.capability_count} bindings</Badge>
        {updates !== undefined && (
          <Badge tone={updates > 0 ? "amber" : "slate"}>
            <span data-testid="updates-waiting">{updates}</span>&nbsp;updates waiting
          </Badge>
        )}
        <SyncBadge sync={sync} />
      </p>
      <p className="mt-1 font-mono text-xs break-all text-slate-700 dark:text-slate-300">
        {resolved.data ? resolved.data.runtime_digest : resolved.isError ? "resolved set unavailable" : "…"}
      </p>
      <p className="text-xs text-slate-600 dark:text-slate-400">updated {formatDate(runtime.updated_at)}</p>
    </li>
  );
}

function CreateRuntime({
  org,
  ws,
  projects,
}: {
  org: string;
  ws: string;
  projects: { id: string; key: string }[];
}) {
  const [key, setKey] = useState("");
  const [name, setName] = useState("");
  const [project, setProject] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const runtimes = useRuntimes(org, ws);
  const navigate = useNavigate();
  const errors = error ? fieldErrors(toEnvelope(error)) : {};
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const created = await createRuntime(org, ws, { key, name: name || key, project: project || undefined });
      await runtimes.refetch();
      void navigate({ to: "/orgs/$org/ws/$ws/runtimes/$runtime", params: { org, ws, runtime: created.id } });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="flex flex-wrap items-end gap-2 rounded border border-slate-300 p-2 dark:border-slate-700"
      aria-label="Create a runtime"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <label className="text-sm">
        <span className="block">Key</span>
        <input
          id="new-runtime-key"
          required
          className={inputClass}
          value={key}
          onChange={(event) => setKey(event.target.value)}
          aria-invalid={errors.key ? true : undefined}
          aria-describedby={errors.key ? "new-runtime-key-error" : undefined}
        />
        {errors.key && (
          <span id="new-runtime-key-error" className="block text-red-700 dark:text-red-300">
            {errors.key.join(" ")}
          </span>
        )}
      </label>
      <label className="text-sm">
        <span className="block">Name</span>
        <input className={inputClass} value={name} onChange={(event) => setName(event.target.value)} />
        {errors.name && <span className="block text-red-700 dark:text-red-300">{errors.name.join(" ")}</span>}
      </label>
      <label className="text-sm">
        <span className="block">Project</span>
        <select className={inputClass} value={project} onChange={(event) => setProject(event.target.value)}>
          <option value="">default</option>
          {projects.map((p) => (
            <option key={p.id} value={p.key}>
              {p.key}
            </option>
          ))}
        </select>
      </label>
      <Button type="submit" variant="primary" disabled={busy || key === ""}>
        Create runtime
      </Button>
      {error !== null && Object.keys(errors).length === 0 && <ErrorNotice error={error} />}
    </form>
  );
}

/** What the runtime last reported (SPEC §12): in sync, behind, or never reported. */
function SyncBadge({ sync }: { sync: Runtime["sync"] }) {
  if (sync.last_seen_at === null)
    return <Badge title="The runtime has not reported a sync yet">never synced</Badge>;
  const seen = `last report ${formatDate(sync.last_seen_at)}`;
  const failed = sync.checks_failed > 0 ? `, ${sync.checks_failed} checks failing` : "";
  return (
    <Badge tone={sync.in_sync && sync.checks_failed === 0 ? "green" : "amber"} title={seen}>
      <span data-testid="sync-state">{sync.in_sync ? "in sync" : "out of sync"}</span>
      {failed}
    </Badge>
  );
}
