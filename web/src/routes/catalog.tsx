// The catalog (SPEC §5, §10): search (debounced, in the URL), facets with counts, include-public,
// sort, paging, cards or table. Every filter lives in the URL, so a filtered view can be shared.
import * as Switch from "@radix-ui/react-switch";
import { createRoute, Link, useNavigate } from "@tanstack/react-router";
import { useEffect, useId, useState } from "react";
import { type CapabilitySummary, type CatalogQuery, useCapabilityList, useFacets } from "../api/capabilities";
import { Badge, StatusBadge, VisibilityBadge } from "../components/Badge";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { EmptyState, Loading } from "../components/States";
import { formatDate, plural } from "../lib/format";
import { useDebounced } from "../lib/use-debounced";
import { orgRoute } from "./org";

const SORTS = ["name", "author_name", "license", "created_at", "updated_at"] as const;
type Sort = (typeof SORTS)[number];
const SORT_LABELS: Record<Sort, string> = {
  name: "Name",
  author_name: "Author",
  license: "License",
  created_at: "Created",
  updated_at: "Updated",
};
export const PAGE_SIZE = 24;

export interface CatalogSearch {
  q?: string;
  keywords?: string[];
  author?: string[];
  license?: string[];
  public?: boolean;
  sort?: Sort;
  dir?: "asc" | "desc";
  page?: number;
  view?: "cards" | "table";
}

const strings = (value: unknown): string[] | undefined => {
  const list = (Array.isArray(value) ? value : typeof value === "string" ? [value] : []).filter(
    (v): v is string => typeof v === "string" && v !== "",
  );
  return list.length > 0 ? list : undefined;
};

export const catalogRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "/catalog",
  validateSearch: (search: Record<string, unknown>): CatalogSearch => {
    const page = Number(search.page);
    return {
      q: typeof search.q === "string" && search.q !== "" ? search.q : undefined,
      keywords: strings(search.keywords),
      author: strings(search.author),
      license: strings(search.license),
      public: search.public === true || search.public === "true" ? true : undefined,
      sort: SORTS.includes(search.sort as Sort) ? (search.sort as Sort) : undefined,
      dir: search.dir === "desc" ? "desc" : search.dir === "asc" ? "asc" : undefined,
      page: Number.isInteger(page) && page > 1 ? page : undefined,
      view: search.view === "table" ? "table" : undefined,
    };
  },
  component: Catalog,
});

/** The URL's filters as the API's query. */
export function catalogQuery(search: CatalogSearch): CatalogQuery {
  return {
    search: search.q,
    keywords: search.keywords,
    author: search.author,
    license: search.license,
    include_public: search.public,
    sort_by: search.sort ?? "name",
    sort_dir: search.dir ?? "asc",
    page: search.page ?? 1,
    limit: PAGE_SIZE,
  };
}

function Catalog() {
  const { org } = orgRoute.useParams();
  const search = catalogRoute.useSearch();
  const navigate = useNavigate({ from: catalogRoute.fullPath });
  const query = catalogQuery(search);
  const list = useCapabilityList(org, query);
  const facetQuery = { ...query, page: undefined, limit: undefined, sort_by: undefined, sort_dir: undefined };
  const facets = useFacets(org, facetQuery);

  const [text, setText] = useState(search.q ?? "");
  const settled = useDebounced(text, 300);
  useEffect(() => {
    setText(search.q ?? "");
  }, [search.q]);
  useEffect(() => {
    if ((settled || undefined) !== search.q)
      void navigate({
        search: (prev) => ({ ...prev, q: settled || undefined, page: undefined }),
        replace: true,
      });
  }, [settled, search.q, navigate]);

  const toggle = (facet: "keywords" | "author" | "license", value: string) =>
    navigate({
      search: (prev) => {
        const current = prev[facet] ?? [];
        const next = current.includes(value) ? current.filter((v) => v !== value) : [...current, value];
        return { ...prev, [facet]: next.length > 0 ? next : undefined, page: undefined };
      },
    });

  const filtered = Boolean(search.q || search.keywords || search.author || search.license);
  const selectedCount =
    (search.keywords?.length ?? 0) + (search.author?.length ?? 0) + (search.license?.length ?? 0);
  // The facets start folded on a phone, so the results come first; open on a wide screen.
  const [wideScreen] = useState(() => window.matchMedia("(min-width: 1024px)").matches);

  return (
    <div className="grid gap-4 lg:grid-cols-[15rem_1fr]">
      <h1 className="sr-only">Catalog</h1>
      <aside aria-label="Filters" className="space-y-4">
        <div>
          <label htmlFor="catalog-search" className="block text-sm font-medium">
            Search
          </label>
          <input
            id="catalog-search"
            type="search"
            value={text}
            placeholder="Name, description, keyword"
            onChange={(event) => setText(event.target.value)}
            className="mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1.5 text-sm dark:border-slate-600 dark:bg-slate-900"
          />
        </div>
        <PublicSwitch
          checked={search.public === true}
          onChange={(checked) =>
            navigate({ search: (prev) => ({ ...prev, public: checked || undefined, page: undefined }) })
          }
        />
        <details open={wideScreen} className="group">
          <summary className="cursor-pointer text-sm font-medium">
            Filters{selectedCount > 0 ? ` (${selectedCount} chosen)` : ""}
          </summary>
          <div className="mt-2 space-y-4">
            {facets.isError ? (
              <ErrorNotice
                error={facets.error}
                title="Facets could not be loaded"
                onRetry={() => facets.refetch()}
              />
            ) : (
              <>
                <FacetGroup
                  title="Keywords"
                  facet="keywords"
                  counts={facets.data?.keywords}
                  selected={search.keywords}
                  onToggle={toggle}
                />
                <FacetGroup
                  title="Authors"
                  facet="author"
                  counts={facets.data?.authors}
                  selected={search.author}
                  onToggle={toggle}
                />
                <FacetGroup
                  title="Licenses"
                  facet="license"
                  counts={facets.data?.licenses}
                  selected={search.license}
                  onToggle={toggle}
                />
              </>
            )}
          </div>
        </details>
      </aside>

      <section aria-labelledby="results-title" className="min-w-0">
        <div className="mb-3 flex flex-wrap items-center gap-2">
          <h2 id="results-title" className="mr-auto text-lg font-semibold" aria-live="polite">
            {list.data ? plural(list.data.total, "capability", "capabilities") : "Capabilities"}
          </h2>
          <label htmlFor="catalog-sort" className="text-sm">
            Sort by
          </label>
          <select
            id="catalog-sort"
            value={search.sort ?? "name"}
            onChange={(event) =>
              navigate({ search: (prev) => ({ ...prev, sort: event.target.value as Sort, page: undefined }) })
            }
            className="rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
          >
            {SORTS.map((sort) => (
              <option key={sort} value={sort}>
                {SORT_LABELS[sort]}
              </option>
            ))}
          </select>
          <label htmlFor="catalog-dir" className="sr-only">
            Order
          </label>
          <select
            id="catalog-dir"
            value={search.dir ?? "asc"}
            onChange={(event) =>
              navigate({
                search: (prev) => ({
                  ...prev,
                  dir: event.target.value === "desc" ? "desc" : undefined,
                  page: undefined,
                }),
              })
            }
            className="rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
          >
            <option value="asc">Ascending</option>
            <option value="desc">Descending</option>
          </select>
          <fieldset className="flex overflow-hidden rounded border border-slate-300 dark:border-slate-600">
            <legend className="sr-only">View</legend>
            {(["cards", "table"] as const).map((view) => (
              <button
                key={view}
                type="button"
                aria-pressed={(search.view ?? "cards") === view}
                onClick={() =>
                  navigate({ search: (prev) => ({ ...prev, view: view === "table" ? "table" : undefined }) })
                }
                className="px-2 py-1 text-sm aria-pressed:bg-slate-800 aria-pressed:text-white dark:aria-pressed:bg-slate-200 dark:aria-pressed:text-slate-900"
              >
                {view === "cards" ? "Cards" : "Table"}
              </button>
            ))}
          </fieldset>
        </div>

        {list.isPending ? (
          <Loading label="Loading capabilities…" />
        ) : list.isError ? (
          <ErrorNotice
            error={list.error}
            title="The catalog could not be loaded"
            onRetry={() => list.refetch()}
          />
        ) : list.data.capabilities.length === 0 ? (
          <EmptyState title={filtered ? "Nothing matches these filters" : "No capabilities yet"}>
            {filtered ? (
              <Link
                to="/orgs/$org/catalog"
                params={{ org }}
                className="text-blue-700 underline dark:text-blue-300"
              >
                Clear the filters
              </Link>
            ) : (
              <>
                Publish one with <code className="font-mono">capstan capability push DIR</code>.
              </>
            )}
          </EmptyState>
        ) : (
          <div aria-busy={list.isFetching} data-testid="catalog-results">
            {search.view === "table" ? (
              <CatalogTable org={org} items={list.data.capabilities} />
            ) : (
              <CatalogCards org={org} items={list.data.capabilities} />
            )}
            <nav aria-label="Pages" className="mt-4 flex items-center justify-between gap-2 text-sm">
              <Button
                disabled={!list.data.has_previous}
                onClick={() =>
                  navigate({
                    search: (prev) => ({
                      ...prev,
                      page: (prev.page ?? 1) - 1 > 1 ? (prev.page ?? 1) - 1 : undefined,
                    }),
                  })
                }
              >
                ← Previous
              </Button>
              <span>
                Page {list.data.page} of {Math.max(1, list.data.total_pages)}
              </span>
              <Button
                disabled={!list.data.has_next}
                onClick={() => navigate({ search: (prev) => ({ ...prev, page: (prev.page ?? 1) + 1 }) })}
              >
                Next →
              </Button>
            </nav>
          </div>
        )}
      </section>
    </div>
  );
}

function PublicSwitch({ checked, onChange }: { checked: boolean; onChange: (checked: boolean) => void }) {
  const id = useId();
  return (
    <div className="flex items-center gap-2">
      <Switch.Root
        id={id}
        checked={checked}
        onCheckedChange={onChange}
        className="relative h-5 w-9 shrink-0 rounded-full bg-slate-400 data-[state=checked]:bg-blue-700"
      >
        <Switch.Thumb className="block h-4 w-4 translate-x-0.5 rounded-full bg-white transition-transform data-[state=checked]:translate-x-[1.125rem]" />
      </Switch.Root>
      <label htmlFor={id} className="text-sm">
        Include public capabilities of other organizations
      </label>
    </div>
  );
}

function FacetGroup({
  title,
  facet,
  counts,
  selected = [],
  onToggle,
}: {
  title: string;
  facet: "keywords" | "author" | "license";
  counts?: { value: string; count: number }[];
  selected?: string[];
  onToggle: (facet: "keywords" | "author" | "license", value: string) => void;
}) {
  // A selected value stays listed even when the other filters leave it no match.
  const values = [...(counts ?? [])];
  for (const value of selected) if (!values.some((v) => v.value === value)) values.push({ value, count: 0 });
  return (
    <fieldset data-testid={`facet-${facet}`}>
      <legend className="text-sm font-medium">{title}</legend>
      {counts === undefined ? (
        <p className="text-xs text-slate-500">Loading…</p>
      ) : values.length === 0 ? (
        <p className="text-xs text-slate-600 dark:text-slate-400">None</p>
      ) : (
        <ul className="mt-1 max-h-56 space-y-0.5 overflow-y-auto">
          {values.map(({ value, count }) => (
            <li key={value}>
              <label className="flex items-center gap-2 text-sm">
                <input
                  type="checkbox"
                  checked={selected.includes(value)}
                  onChange={() => onToggle(facet, value)}
                />
                <span className="truncate">{value}</span>
                <span className="ml-auto text-xs text-slate-600 dark:text-slate-400" data-facet-count={count}>
                  {count}
                  <span className="sr-only"> matching</span>
                </span>
              </label>
            </li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}

function componentSummary(item: CapabilitySummary): string {
  const c = item.component_counts;
  const parts = [
    [c.agents, "agent"],
    [c.tools, "tool"],
    [c.skills, "skill"],
    [c.mcp_servers, "MCP server"],
    [c.workers, "worker"],
  ] as const;
  return (
    parts
      .filter(([n]) => n > 0)
      .map(([n, label]) => plural(n, label))
      .join(" · ") || "no components"
  );
}

function CapabilityLink({ org, item }: { org: string; item: CapabilitySummary }) {
  return (
    <Link
      to="/orgs/$org/capabilities/$name"
      params={{ org, name: item.name }}
      className="font-mono font-semibold text-blue-800 hover:underline dark:text-blue-300"
    >
      {item.name}
    </Link>
  );
}

function CatalogCards({ org, items }: { org: string; items: CapabilitySummary[] }) {
  return (
    <ul className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3">
      {items.map((item) => (
        <li
          key={item.id}
          data-capability={item.name}
          className="flex flex-col rounded-lg border border-slate-300 bg-white p-3 dark:border-slate-700 dark:bg-slate-900"
        >
          <div className="flex flex-wrap items-center gap-2">
            <CapabilityLink org={org} item={item} />
            <span className="text-sm text-slate-600 dark:text-slate-400">{item.version}</span>
            {item.status !== "active" && <StatusBadge status={item.status} />}
            <VisibilityBadge isPublic={item.is_public} />
          </div>
          <p className="mt-1 line-clamp-3 text-sm">{item.description}</p>
          <p className="mt-2 text-xs text-slate-600 dark:text-slate-400">{componentSummary(item)}</p>
          <div className="mt-auto flex flex-wrap gap-1 pt-2">
            {item.author_name && <Badge>{item.author_name}</Badge>}
            {item.license && <Badge>{item.license}</Badge>}
            {item.keywords.map((keyword) => (
              <Badge key={keyword} tone="blue">
                {keyword}
              </Badge>
            ))}
          </div>
        </li>
      ))}
    </ul>
  );
}

function CatalogTable({ org, items }: { org: string; items: CapabilitySummary[] }) {
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-300 dark:border-slate-700">
      <table className="w-full text-left text-sm">
        <thead className="bg-slate-100 dark:bg-slate-800">
          <tr>
            <th scope="col" className="px-3 py-2">
              Name
            </th>
            <th scope="col" className="px-3 py-2">
              Latest
            </th>
            <th scope="col" className="px-3 py-2">
              Author
            </th>
            <th scope="col" className="px-3 py-2">
              License
            </th>
            <th scope="col" className="px-3 py-2">
              Components
            </th>
            <th scope="col" className="px-3 py-2">
              Updated
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-200 bg-white dark:divide-slate-800 dark:bg-slate-900">
          {items.map((item) => (
            <tr key={item.id} data-capability={item.name}>
              <td className="px-3 py-2">
                <CapabilityLink org={org} item={item} /> {item.is_public && <VisibilityBadge isPublic />}
              </td>
              <td className="px-3 py-2 whitespace-nowrap">
                {item.version} {item.status !== "active" && <StatusBadge status={item.status} />}
              </td>
              <td className="px-3 py-2">{item.author_name ?? "—"}</td>
              <td className="px-3 py-2">{item.license ?? "—"}</td>
              <td className="px-3 py-2">{componentSummary(item)}</td>
              <td className="px-3 py-2 whitespace-nowrap">{formatDate(item.updated_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
