// The capability page (SPEC §10): header with the install command, README, trust card, versions
// with their actions, files, flags.
import { Link, useNavigate } from "@tanstack/react-router";
import { useEffect, useState } from "react";
import Markdown from "react-markdown";
import {
  type CapabilityDetail,
  useCapability,
  useCapabilityFile,
  useDeleteVersion,
  useReadme,
  useSetVersionStatus,
  useVersions,
  type VersionItem,
} from "../api/capabilities";
import { useRuntimes } from "../api/runtimes";
import { useOrgRole } from "../api/user";
import { StatusBadge, VisibilityBadge } from "../components/Badge";
import { Button } from "../components/Button";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { CopyButton } from "../components/CopyButton";
import { ErrorNotice } from "../components/ErrorNotice";
import { EmptyState, Loading } from "../components/States";
import { TrustCard } from "../components/TrustCard";
import { ApiError } from "../lib/envelope";
import { formatBytes, formatDate, splitCapabilityName } from "../lib/format";
import { capabilityRoute, type Tab } from "./capability";
import { orgRoute, useCurrentWorkspace } from "./org";

const TAB_LABELS: Record<Tab, string> = {
  overview: "Overview",
  versions: "Versions",
  files: "Files",
  flags: "Flags",
};

export function CapabilityPage() {
  const { org } = orgRoute.useParams();
  const { name } = capabilityRoute.useParams();
  const search = capabilityRoute.useSearch();
  const navigate = useNavigate({ from: capabilityRoute.fullPath });
  const requested = search.version ?? "latest";
  const detail = useCapability(org, name, requested);
  const versions = useVersions(org, name);

  // Every version yanked: there is no "latest", but the versions are still worth showing.
  const noLatest = !search.version && detail.error instanceof ApiError && detail.error.status === 404;
  const fallback = versions.data?.versions[0]?.version;
  useEffect(() => {
    if (noLatest && fallback)
      void navigate({ search: (prev) => ({ ...prev, version: fallback }), replace: true });
  }, [noLatest, fallback, navigate]);

  if (detail.isPending) return <Loading label={`Loading ${name}…`} />;
  if (detail.isError)
    return (
      <div className="space-y-3">
        <h1 className="font-mono text-2xl font-semibold">{name}</h1>
        <ErrorNotice
          error={detail.error}
          title="This capability could not be loaded"
          onRetry={() => detail.refetch()}
        />
        <Link to="/orgs/$org/catalog" params={{ org }} className="text-blue-700 underline dark:text-blue-300">
          Back to the catalog
        </Link>
      </div>
    );
  const data = detail.data;
  const tab = search.tab ?? "overview";

  return (
    <article className="space-y-4" data-testid="capability-page" data-version={data.version}>
      <Header
        org={org}
        detail={data}
        latest={versions.data?.latest_version ?? null}
        versions={versions.data?.versions}
      />
      <nav
        aria-label="Capability sections"
        className="flex flex-wrap gap-1 border-b border-slate-300 dark:border-slate-700"
      >
        {(Object.keys(TAB_LABELS) as Tab[]).map((t) => (
          <Link
            key={t}
            from={capabilityRoute.fullPath}
            search={(prev) => ({
              ...prev,
              tab: t === "overview" ? undefined : t,
              file: t === "files" ? prev.file : undefined,
            })}
            aria-current={tab === t ? "page" : undefined}
            className={`-mb-px border-b-2 px-3 py-2 text-sm font-medium whitespace-nowrap ${
              tab === t
                ? "border-blue-700 text-blue-800 dark:border-blue-300 dark:text-blue-200"
                : "border-transparent text-slate-700 hover:text-slate-950 dark:text-slate-300 dark:hover:text-white"
            }`}
          >
            {TAB_LABELS[t]}
            {t === "versions" && versions.data && ` (${versions.data.versions.length})`}
            {t === "files" && ` (${data.file_manifest.length})`}
            {t === "flags" && ` (${Object.keys(data.flags).length})`}
          </Link>
        ))}
      </nav>
      {tab === "overview" && <Overview org={org} name={name} detail={data} />}
      {tab === "versions" && <Versions org={org} name={name} current={data.version} />}
      {tab === "files" && <Files org={org} name={name} detail={data} selected={search.file} />}
      {tab === "flags" && <Flags detail={data} />}
    </article>
  );
}

function Header({
  org,
  detail,
  latest,
  versions,
}: {
  org: string;
  detail: CapabilityDetail;
  latest: string | null;
  versions?: VersionItem[];
}) {
  const navigate = useNavigate({ from: capabilityRoute.fullPath });
  const { owner } = splitCapabilityName(detail.name, org);
  const [runtimeKey, setRuntimeKey] = useState("");
  const install = `capstan runtime install ${runtimeKey || "RUNTIME"} ${detail.name}@${detail.version}`;
  return (
    <header className="space-y-2">
      <div className="flex flex-wrap items-center gap-2">
        <h1 className="font-mono text-2xl font-semibold break-all">{detail.name}</h1>
        <StatusBadge status={detail.status} />
        <VisibilityBadge isPublic={detail.is_public} />
        {latest === detail.version && (
          <span className="text-xs text-slate-600 dark:text-slate-400">latest</span>
        )}
      </div>
      {detail.description && <p className="max-w-3xl">{detail.description}</p>}
      <dl className="flex flex-wrap gap-x-6 gap-y-1 text-sm">
        <div>
          <dt className="inline text-slate-600 dark:text-slate-400">Owner </dt>
          <dd className="inline font-mono">{owner}</dd>
        </div>
        <div>
          <dt className="inline text-slate-600 dark:text-slate-400">Latest </dt>
          <dd className="inline">{latest ?? "none (every version yanked)"}</dd>
        </div>
        {detail.author_name && (
          <div>
            <dt className="inline text-slate-600 dark:text-slate-400">Author </dt>
            <dd className="inline">{detail.author_name}</dd>
          </div>
        )}
        {detail.license && (
          <div>
            <dt className="inline text-slate-600 dark:text-slate-400">License </dt>
            <dd className="inline">{detail.license}</dd>
          </div>
        )}
        <div>
          <dt className="inline text-slate-600 dark:text-slate-400">Published </dt>
          <dd className="inline">{formatDate(detail.created_at)}</dd>
        </div>
        <div>
          <dt className="inline text-slate-600 dark:text-slate-400">Size </dt>
          <dd className="inline">{formatBytes(detail.size_bytes)}</dd>
        </div>
      </dl>
      <div className="flex flex-wrap items-center gap-2">
        <label htmlFor="version-picker" className="text-sm">
          Version
        </label>
        <select
          id="version-picker"
          value={detail.version}
          onChange={(event) =>
            navigate({ search: (prev) => ({ ...prev, version: event.target.value, file: undefined }) })
          }
          className="rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
        >
          {(versions ?? [{ version: detail.version, status: detail.status }]).map((v) => (
            <option key={v.version} value={v.version}>
              {v.version}
              {v.status !== "active" ? ` (${v.status})` : ""}
            </option>
          ))}
        </select>
      </div>
      <div className="flex max-w-full flex-wrap items-center gap-2 rounded border border-slate-300 bg-slate-100 p-2 dark:border-slate-700 dark:bg-slate-900">
        <code className="min-w-0 flex-1 font-mono text-sm break-all" data-testid="install-command">
          {install}
        </code>
        <CopyButton text={install} label="Copy the install command" />
      </div>
      <RuntimePicker org={org} value={runtimeKey} onChange={setRuntimeKey} />
      {detail.status === "deprecated" && (
        <p
          role="note"
          className="rounded border border-amber-300 bg-amber-50 p-2 text-sm dark:border-amber-700 dark:bg-amber-950"
        >
          Deprecated{detail.deprecation_message ? `: ${detail.deprecation_message}` : "."}
        </p>
      )}
      {detail.status === "yanked" && (
        <p
          role="note"
          className="rounded border border-red-300 bg-red-50 p-2 text-sm dark:border-red-700 dark:bg-red-950"
        >
          This version is yanked: existing bindings keep it, new installs cannot choose it.
        </p>
      )}
    </header>
  );
}

function Overview({ org, name, detail }: { org: string; name: string; detail: CapabilityDetail }) {
  const readme = useReadme(org, name, detail.version);
  return (
    <div className="grid gap-4 lg:grid-cols-[1fr_26rem]">
      <section
        aria-labelledby="readme-title"
        className="min-w-0 self-start rounded-lg border border-slate-300 bg-white p-4 dark:border-slate-700 dark:bg-slate-900"
      >
        <h2 id="readme-title" className="sr-only">
          README
        </h2>
        {readme.isPending ? (
          <Loading label="Loading the README…" />
        ) : readme.isError ? (
          <ErrorNotice error={readme.error} onRetry={() => readme.refetch()} />
        ) : readme.data === null ? (
          <EmptyState title="No README">This version has no README.md at its root.</EmptyState>
        ) : (
          // Raw HTML stays text: react-markdown renders no HTML from the source (no rehype-raw).
          <div className="markdown" data-testid="readme">
            <Markdown skipHtml>{readme.data.content}</Markdown>
          </div>
        )}
      </section>
      <TrustCard detail={detail} scope={{ org, name, version: detail.version }} />
    </div>
  );
}

function Versions({ org, name, current }: { org: string; name: string; current: string }) {
  const versions = useVersions(org, name);
  const role = useOrgRole(org);
  const setStatus = useSetVersionStatus(org, name);
  const remove = useDeleteVersion(org, name);
  const navigate = useNavigate({ from: capabilityRoute.fullPath });
  // Changes go through the owning org: another org's public capability is read-only here.
  const own = !name.includes("/");
  const canChange = own && (role === "owner" || role === "contributor");
  const canDelete = own && role === "owner";

  if (versions.isPending) return <Loading label="Loading versions…" />;
  if (versions.isError) return <ErrorNotice error={versions.error} onRetry={() => versions.refetch()} />;
  if (versions.data.versions.length === 0) return <EmptyState title="No versions" />;
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-300 dark:border-slate-700">
      <table className="w-full text-left text-sm" data-testid="versions">
        <thead className="bg-slate-100 dark:bg-slate-800">
          <tr>
            <th scope="col" className="px-3 py-2">
              Version
            </th>
            <th scope="col" className="px-3 py-2">
              Status
            </th>
            <th scope="col" className="hidden px-3 py-2 sm:table-cell">
              Published
            </th>
            <th scope="col" className="hidden px-3 py-2 sm:table-cell">
              Size
            </th>
            <th scope="col" className="hidden px-3 py-2 sm:table-cell">
              Digest
            </th>
            {canChange && (
              <th scope="col" className="px-3 py-2">
                Actions
              </th>
            )}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-200 bg-white dark:divide-slate-800 dark:bg-slate-900">
          {versions.data.versions.map((v) => (
            <tr key={v.id} data-version={v.version}>
              <td className="px-3 py-2 font-mono">
                <Link
                  from={capabilityRoute.fullPath}
                  search={(prev) => ({ ...prev, version: v.version, tab: undefined })}
                  className="text-blue-800 hover:underline dark:text-blue-300"
                >
                  {v.version}
                </Link>
                {v.version === versions.data.latest_version && (
                  <span className="ml-2 text-xs text-slate-600 dark:text-slate-400">latest</span>
                )}
                {v.version === current && (
                  <span className="ml-2 text-xs text-slate-600 dark:text-slate-400">(shown)</span>
                )}
              </td>
              <td className="px-3 py-2">
                <StatusBadge status={v.status} />
                {v.deprecation_message && <p className="text-xs">{v.deprecation_message}</p>}
                {/* Narrow screens drop the date, size and digest columns; the date stays here. */}
                <p className="text-xs text-slate-600 sm:hidden dark:text-slate-400">
                  {formatDate(v.created_at)}
                </p>
              </td>
              <td className="hidden px-3 py-2 whitespace-nowrap sm:table-cell">{formatDate(v.created_at)}</td>
              <td className="hidden px-3 py-2 whitespace-nowrap sm:table-cell">
                {formatBytes(v.size_bytes)}
              </td>
              <td className="hidden px-3 py-2 font-mono text-xs sm:table-cell" title={v.runtime_digest}>
                {v.runtime_digest.slice(0, 19)}…
              </td>
              {canChange && (
                <td className="px-3 py-2">
                  <div className="flex flex-wrap gap-1">
                    {v.status !== "active" && (
                      <ConfirmDialog
                        trigger={<Button size="sm">Reactivate</Button>}
                        title={`Reactivate ${name}@${v.version}?`}
                        description="It becomes installable again and may become the latest version."
                        confirmLabel="Reactivate"
                        onConfirm={() =>
                          setStatus.mutateAsync({ version: v.version, body: { status: "active" } })
                        }
                      />
                    )}
                    {v.status !== "deprecated" && (
                      <ConfirmDialog
                        trigger={<Button size="sm">Deprecate</Button>}
                        title={`Deprecate ${name}@${v.version}?`}
                        description="It stays installable; runtimes and the catalog show your message."
                        confirmLabel="Deprecate"
                        messageField={{
                          label: "Message (optional, up to 500 characters)",
                          name: "message",
                          maxLength: 500,
                        }}
                        onConfirm={(message) =>
                          setStatus.mutateAsync({
                            version: v.version,
                            body: message ? { status: "deprecated", message } : { status: "deprecated" },
                          })
                        }
                      />
                    )}
                    {v.status !== "yanked" && (
                      <ConfirmDialog
                        trigger={<Button size="sm">Yank</Button>}
                        title={`Yank ${name}@${v.version}?`}
                        description="It is hidden from latest and from new installs; runtimes that bind it keep it and show that it is yanked."
                        confirmLabel="Yank"
                        danger
                        onConfirm={() =>
                          setStatus.mutateAsync({ version: v.version, body: { status: "yanked" } })
                        }
                      />
                    )}
                    {canDelete && (
                      <ConfirmDialog
                        trigger={
                          <Button size="sm" variant="danger">
                            Delete
                          </Button>
                        }
                        title={`Delete ${name}@${v.version}?`}
                        description="The version is removed for good; its number can never be published again. A version that a runtime binds cannot be deleted."
                        confirmLabel="Delete for good"
                        danger
                        onConfirm={async () => {
                          await remove.mutateAsync({ version: v.version });
                          if (v.version === current)
                            void navigate({
                              search: (prev) => ({ ...prev, version: undefined }),
                              replace: true,
                            });
                        }}
                      />
                    )}
                  </div>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface TreeNode {
  name: string;
  path: string;
  size?: number;
  children: Map<string, TreeNode>;
}

function buildTree(paths: { path: string; size: number }[]): TreeNode {
  const root: TreeNode = { name: "", path: "", children: new Map() };
  for (const file of paths) {
    let node = root;
    const parts = file.path.split("/");
    parts.forEach((part, i) => {
      const path = parts.slice(0, i + 1).join("/");
      let child = node.children.get(part);
      if (!child) {
        child = { name: part, path, children: new Map() };
        node.children.set(part, child);
      }
      if (i === parts.length - 1) child.size = file.size;
      node = child;
    });
  }
  return root;
}

function FileTree({ node, selected }: { node: TreeNode; selected?: string }) {
  const entries = [...node.children.values()].sort(
    (a, b) => Number(a.size !== undefined) - Number(b.size !== undefined) || a.name.localeCompare(b.name),
  );
  return (
    <ul className="pl-3 text-sm">
      {entries.map((entry) =>
        entry.size === undefined ? (
          <li key={entry.path}>
            <details open>
              <summary className="cursor-pointer font-mono">{entry.name}/</summary>
              <FileTree node={entry} selected={selected} />
            </details>
          </li>
        ) : (
          <li key={entry.path}>
            <Link
              from={capabilityRoute.fullPath}
              search={(prev) => ({ ...prev, tab: "files", file: entry.path })}
              aria-current={selected === entry.path ? "true" : undefined}
              className="block truncate rounded px-1 font-mono hover:bg-slate-200 aria-[current=true]:bg-blue-100 dark:hover:bg-slate-800 dark:aria-[current=true]:bg-blue-900"
            >
              {entry.name}
            </Link>
          </li>
        ),
      )}
    </ul>
  );
}

function Files({
  org,
  name,
  detail,
  selected,
}: {
  org: string;
  name: string;
  detail: CapabilityDetail;
  selected?: string;
}) {
  const tree = buildTree(detail.file_manifest);
  const chosen = selected && detail.file_manifest.some((f) => f.path === selected) ? selected : null;
  return (
    <div className="grid gap-4 md:grid-cols-[16rem_1fr]">
      <nav
        aria-label="Files"
        className="max-h-[70vh] overflow-auto rounded-lg border border-slate-300 bg-white py-2 dark:border-slate-700 dark:bg-slate-900"
      >
        <FileTree node={tree} selected={chosen ?? undefined} />
      </nav>
      <section aria-label="File viewer" className="min-w-0">
        {chosen ? (
          <FileViewer org={org} name={name} version={detail.version} path={chosen} />
        ) : (
          <EmptyState title="Choose a file">{detail.file_manifest.length} files in this version.</EmptyState>
        )}
      </section>
    </div>
  );
}

function FileViewer({
  org,
  name,
  version,
  path,
}: {
  org: string;
  name: string;
  version: string;
  path: string;
}) {
  const file = useCapabilityFile(org, name, version, path);
  if (file.isPending) return <Loading label={`Loading ${path}…`} />;
  if (file.isError) return <ErrorNotice error={file.error} onRetry={() => file.refetch()} />;
  const download = () => {
    const url = URL.createObjectURL(file.data.blob);
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.download = path.split("/").pop() ?? "file";
    anchor.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return (
    <div className="rounded-lg border border-slate-300 bg-white dark:border-slate-700 dark:bg-slate-900">
      <div className="flex flex-wrap items-center gap-2 border-b border-slate-300 px-3 py-2 text-sm dark:border-slate-700">
        <h2 className="font-mono font-medium break-all">{path}</h2>
        <span className="text-slate-600 dark:text-slate-400">
          {formatBytes(file.data.size)} · {file.data.contentType.split(";")[0]}
        </span>
        <Button size="sm" className="ml-auto" onClick={download}>
          Download
        </Button>
      </div>
      {file.data.text === null ? (
        <p className="p-4 text-sm" data-testid="binary-file">
          A binary file: download it to inspect it.
        </p>
      ) : (
        <section
          className="max-h-[70vh] overflow-auto"
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
          tabIndex={0}
          aria-label={`Contents of ${path}`}
        >
          <pre className="p-0 text-sm" data-testid="file-text">
            <code className="grid grid-cols-[auto_1fr]">
              {file.data.text.split("\n").map((line, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
                <span key={i} className="contents">
                  <span
                    aria-hidden="true"
                    className="select-none border-r border-slate-200 px-2 text-right text-slate-500 dark:border-slate-700"
                  >
                    {i + 1}
                  </span>
                  <span className="px-3 whitespace-pre">{line}</span>
                </span>
              ))}
            </code>
          </pre>
        </section>
      )}
    </div>
  );
}

function Flags({ detail }: { detail: CapabilityDetail }) {
  const names = Object.keys(detail.flags).sort();
  if (names.length === 0)
    return <EmptyState title="No flags">Every component of this version is always on.</EmptyState>;
  const gates = (flag: string) =>
    detail.component_details
      .filter((c) => {
        const gatedBy = (c.metadata as { gated_by?: unknown } | undefined)?.gated_by;
        return Array.isArray(gatedBy) && gatedBy.includes(flag);
      })
      .map((c) => `${c.type === "mcp_server" ? "MCP server" : "worker"} ${c.name}`);
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-300 dark:border-slate-700">
      <table className="w-full text-left text-sm" data-testid="flags">
        <thead className="bg-slate-100 dark:bg-slate-800">
          <tr>
            <th scope="col" className="px-3 py-2">
              Flag
            </th>
            <th scope="col" className="px-3 py-2">
              Default
            </th>
            <th scope="col" className="px-3 py-2">
              Description
            </th>
            <th scope="col" className="px-3 py-2">
              Gates
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-200 bg-white dark:divide-slate-800 dark:bg-slate-900">
          {names.map((flag) => (
            <tr key={flag} data-flag={flag}>
              <td className="px-3 py-2 font-mono">{flag}</td>
              <td className="px-3 py-2">{detail.flags[flag].default ? "on" : "off"}</td>
              <td className="px-3 py-2">{detail.flags[flag].description}</td>
              <td className="px-3 py-2">{gates(flag).join(", ") || "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Fills the install command with one of the current workspace's runtimes (RUNTIME until chosen). */
function RuntimePicker({
  org,
  value,
  onChange,
}: {
  org: string;
  value: string;
  onChange: (key: string) => void;
}) {
  const workspace = useCurrentWorkspace(org);
  const runtimes = useRuntimes(org, workspace ?? "", undefined, workspace !== null);
  const items = runtimes.data?.pages.flatMap((page) => page.items) ?? [];
  if (items.length === 0)
    return (
      <p className="text-xs text-slate-600 dark:text-slate-400">Replace RUNTIME with your runtime's key.</p>
    );
  return (
    <label className="flex flex-wrap items-center gap-2 text-xs">
      Runtime in {workspace}
      <select
        id="install-runtime"
        value={value}
        onChange={(event) => onChange(event.target.value)}
        className="rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
      >
        <option value="">RUNTIME (choose)</option>
        {items.map((r) => (
          <option key={r.id} value={r.key}>
            {r.key}
          </option>
        ))}
      </select>
    </label>
  );
}
