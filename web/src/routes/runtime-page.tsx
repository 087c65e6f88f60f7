// The runtime page (SPEC §10, §7): the bindings with their switches, flag editor, upgrade preview and
// removal; adding a capability from the catalog; the config as YAML with its dry-run plan; the
// resolved set. Every write carries the revision the user saw (If-Match); a 409 opens the conflict
// dialog, which shows the binding as it is now and who changed it, and offers to re-apply.
import * as Dialog from "@radix-ui/react-dialog";
import * as Switch from "@radix-ui/react-switch";
import { useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { memo, type ReactNode, useCallback, useMemo, useState } from "react";
import { useCapability, useCapabilityList, useVersions } from "../api/capabilities";
import { type AuditEvent, lastChangeOf, useMembers } from "../api/organization";
import {
  type Binding,
  type BindingPatch,
  createBinding,
  deleteBinding,
  fetchBinding,
  patchBinding,
  type RuntimeScope,
  runtimeKeys,
  useBindings,
  useRefreshRuntime,
  useResolved,
  useRuntime,
  useUpgradePreview,
} from "../api/runtimes";
import { useOrgRole } from "../api/user";
import { Badge, StatusBadge } from "../components/Badge";
import { Button } from "../components/Button";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNotice } from "../components/ErrorNotice";
import { EmptyState, Loading } from "../components/States";
import { ApiError, fieldErrors, toEnvelope } from "../lib/envelope";
import { formatDate } from "../lib/format";
import { useDebounced } from "../lib/use-debounced";
import { RUNTIME_TABS, type RuntimeTab, runtimeRoute } from "./runtime";
import { ConfigTab } from "./runtime-config";

const TAB_LABELS: Record<RuntimeTab, string> = {
  capabilities: "Capabilities",
  config: "Config",
  resolved: "Resolved set",
};

/** Renders of each binding row, by binding id: the bench reads it to prove a toggle re-renders one row. */
const rowRenders = new Map<string, number>();
(window as unknown as { __capstanRowRenders: Map<string, number> }).__capstanRowRenders = rowRenders;

interface Conflict {
  label: string;
  attempted: BindingPatch;
  seen: Binding;
  now: Binding | null;
  event: AuditEvent | null;
}

export function RuntimePage() {
  const { org, ws, runtime } = runtimeRoute.useParams();
  const search = runtimeRoute.useSearch();
  const scope = useMemo<RuntimeScope>(() => ({ org, ws, runtime }), [org, ws, runtime]);
  const detail = useRuntime(scope);
  const role = useOrgRole(org);
  const canWrite = role === "owner" || role === "contributor";
  const tab = search.tab ?? "capabilities";

  if (detail.isPending) return <Loading label="Loading the runtime…" />;
  if (detail.isError)
    return (
      <div className="space-y-3">
        <ErrorNotice
          error={detail.error}
          title="This runtime could not be loaded"
          onRetry={() => detail.refetch()}
        />
        <Link
          to="/orgs/$org/ws/$ws/runtimes"
          params={{ org, ws }}
          className="text-blue-700 underline dark:text-blue-300"
        >
          Back to the runtimes
        </Link>
      </div>
    );
  const rt = detail.data;
  return (
    <article className="space-y-4" data-testid="runtime-page" data-can-write={canWrite}>
      <header className="space-y-1">
        <p className="text-sm">
          <Link
            to="/orgs/$org/ws/$ws/runtimes"
            params={{ org, ws }}
            className="text-blue-700 underline dark:text-blue-300"
          >
            Runtimes
          </Link>{" "}
          / <span className="font-mono">{rt.key}</span>
        </p>
        <h1 className="text-2xl font-semibold break-words">{rt.name}</h1>
        <p className="text-sm text-slate-700 dark:text-slate-300">
          <span className="font-mono">{rt.key}</span> · {rt.capability_count} capabilities · config{" "}
          <span className="font-mono break-all" data-testid="config-digest">
            {rt.config_digest}
          </span>
        </p>
        {!canWrite && role && (
          <p className="text-sm text-slate-700 dark:text-slate-300" data-testid="read-only-note">
            You are a {role} in this organization: you can read this runtime but not change it.
          </p>
        )}
      </header>
      <nav
        aria-label="Runtime sections"
        className="flex flex-wrap gap-1 border-b border-slate-300 dark:border-slate-700"
      >
        {RUNTIME_TABS.map((t) => (
          <Link
            key={t}
            from={runtimeRoute.fullPath}
            search={{ tab: t === "capabilities" ? undefined : t }}
            aria-current={tab === t ? "page" : undefined}
            className={`-mb-px border-b-2 px-3 py-2 text-sm font-medium whitespace-nowrap ${
              tab === t
                ? "border-blue-700 text-blue-800 dark:border-blue-300 dark:text-blue-200"
                : "border-transparent text-slate-700 hover:text-slate-950 dark:text-slate-300 dark:hover:text-white"
            }`}
          >
            {TAB_LABELS[t]}
          </Link>
        ))}
      </nav>
      {tab === "capabilities" && <Bindings scope={scope} canWrite={canWrite} isOwner={role === "owner"} />}
      {tab === "config" && <ConfigTab scope={scope} canWrite={canWrite} />}
      {tab === "resolved" && <Resolved scope={scope} />}
    </article>
  );
}

/** Applies `patch` to a binding the way the server will (flags merge, null clears), for the optimistic view. */
function applyPatch(binding: Binding, patch: BindingPatch): Binding {
  const flags = { ...binding.flags };
  for (const [name, value] of Object.entries(patch.flags ?? {})) {
    if (value === null) delete flags[name];
    else flags[name] = value === true;
  }
  return {
    ...binding,
    enabled: patch.enabled ?? binding.enabled,
    flags,
    version: patch.version && patch.version !== "latest" ? patch.version : binding.version,
    upgrade_available:
      patch.version !== undefined && patch.version === binding.latest_version
        ? false
        : binding.upgrade_available,
  };
}

/** Overrides as `name=value`, sorted by name as the API sorts them. */
const overridesText = (flags: Record<string, boolean>) =>
  Object.keys(flags)
    .sort()
    .map((name) => `${name}=${flags[name]}`)
    .join(", ");

type Writer = (binding: Binding, patch: BindingPatch, label: string) => Promise<void>;

function Bindings({
  scope,
  canWrite,
  isOwner,
}: {
  scope: RuntimeScope;
  canWrite: boolean;
  isOwner: boolean;
}) {
  const bindings = useBindings(scope);
  const queryClient = useQueryClient();
  const refresh = useRefreshRuntime(scope);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [rowErrors, setRowErrors] = useState<Record<string, unknown>>({});
  const [filter, setFilter] = useState("");

  const replaceItem = useCallback(
    (id: string, next: Binding | null) =>
      queryClient.setQueryData(runtimeKeys.bindings(scope), (old: { items: Binding[] } | undefined) =>
        old
          ? {
              items: next
                ? old.items.map((item) => (item.id === id ? next : item))
                : old.items.filter((item) => item.id !== id),
            }
          : old,
      ),
    [queryClient, scope],
  );

  // One writer for every binding change: optimistic, If-Match, rollback, and the conflict flow.
  const write = useCallback<Writer>(
    async (binding, patch, label) => {
      setRowErrors((errors) => (binding.id in errors ? { ...errors, [binding.id]: undefined } : errors));
      replaceItem(binding.id, applyPatch(binding, patch));
      try {
        const saved = await patchBinding(scope, binding.id, binding.revision, patch);
        replaceItem(binding.id, saved);
        refresh();
      } catch (error) {
        replaceItem(binding.id, binding);
        if (error instanceof ApiError && error.status === 409 && error.envelope.type === "conflict_error") {
          const now = await fetchBinding(scope, binding.id).catch(() => null);
          if (now) replaceItem(binding.id, now);
          // The audit log is the owners'; others are told that someone changed it, not who.
          const event = isOwner ? await lastChangeOf(scope.org, binding.id).catch(() => null) : null;
          setConflict({ label, attempted: patch, seen: binding, now, event });
          return;
        }
        setRowErrors((errors) => ({ ...errors, [binding.id]: error }));
        throw error;
      }
    },
    [scope, replaceItem, refresh, isOwner],
  );

  const items = bindings.data?.items ?? [];
  const shown = filter
    ? items.filter((b) => b.capability_name.toLowerCase().includes(filter.trim().toLowerCase()))
    : items;
  return (
    <section aria-labelledby="bindings-title" className="space-y-3">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <h2 id="bindings-title" className="text-lg font-semibold">
          Capabilities
        </h2>
        <div className="flex flex-wrap items-end gap-2">
          <label className="text-sm">
            <span className="block">Filter</span>
            <input
              type="search"
              value={filter}
              onChange={(event) => setFilter(event.target.value)}
              className="rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
            />
          </label>
          {canWrite && <AddCapability scope={scope} bound={items.map((b) => b.capability_name)} />}
        </div>
      </div>
      {bindings.isPending ? (
        <Loading label="Loading capabilities…" />
      ) : bindings.isError ? (
        <ErrorNotice error={bindings.error} onRetry={() => bindings.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title="No capabilities on this runtime">
          {canWrite ? "Add one from the catalog." : "A contributor can add one from the catalog."}
        </EmptyState>
      ) : shown.length === 0 ? (
        <EmptyState title="No capability matches the filter" />
      ) : (
        <ul className="space-y-2" data-testid="bindings">
          {shown.map((binding) => (
            <BindingRow
              key={binding.id}
              binding={binding}
              scope={scope}
              canWrite={canWrite}
              write={write}
              error={rowErrors[binding.id]}
            />
          ))}
        </ul>
      )}
      <ConflictDialog conflict={conflict} scope={scope} write={write} onClose={() => setConflict(null)} />
    </section>
  );
}

const BindingRow = memo(function BindingRow({
  binding,
  scope,
  canWrite,
  write,
  error,
}: {
  binding: Binding;
  scope: RuntimeScope;
  canWrite: boolean;
  write: Writer;
  error: unknown;
}) {
  rowRenders.set(binding.id, (rowRenders.get(binding.id) ?? 0) + 1);
  const [flagsOpen, setFlagsOpen] = useState(false);
  const counts = binding.component_counts;
  const switchId = `enabled-${binding.id}`;
  return (
    <li
      className="rounded-lg border border-slate-300 bg-white p-3 dark:border-slate-700 dark:bg-slate-900"
      data-binding={binding.capability_name}
      data-version={binding.version}
      data-enabled={binding.enabled}
      data-revision={binding.revision}
    >
      <div className="flex flex-wrap items-center gap-x-3 gap-y-2">
        <div className="min-w-0 flex-[1_1_16rem]">
          <div className="flex flex-wrap items-center gap-2">
            <Link
              to="/orgs/$org/capabilities/$name"
              params={{ org: scope.org, name: binding.capability_name }}
              search={{ version: binding.version }}
              className="font-mono font-semibold break-all text-blue-800 underline dark:text-blue-200"
            >
              {binding.capability_name}
            </Link>
            <span className="font-mono text-sm" data-testid="binding-version">
              {binding.version}
            </span>
            <StatusBadge status={binding.status} />
            {binding.upgrade_available && (
              <Badge tone="amber">
                <span data-testid="update-badge">update {binding.latest_version}</span>
              </Badge>
            )}
            <Badge tone={binding.source === "org" ? "slate" : "blue"}>{binding.source}</Badge>
          </div>
          <p className="mt-1 text-xs text-slate-700 dark:text-slate-300">
            latest {binding.latest_version ?? "none visible"} · {counts.agents} agents · {counts.tools} tools
            · {counts.skills} skills · {counts.mcp_servers} MCP servers · {counts.workers} workers
            {Object.keys(binding.flags).length > 0 && (
              <>
                {" "}
                · overrides{" "}
                <span className="font-mono" data-testid="overrides">
                  {overridesText(binding.flags)}
                </span>
              </>
            )}
          </p>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          {canWrite ? (
            <span className="inline-flex items-center gap-2">
              <label htmlFor={switchId} className="text-sm">
                Enabled
              </label>
              <Switch.Root
                id={switchId}
                checked={binding.enabled}
                onCheckedChange={(enabled) =>
                  void write(binding, { enabled }, enabled ? "enable" : "disable").catch(() => {})
                }
                className="relative h-5 w-9 rounded-full bg-slate-400 data-[state=checked]:bg-blue-700"
                data-testid="enabled-switch"
              >
                <Switch.Thumb className="block h-4 w-4 translate-x-0.5 rounded-full bg-white transition-transform data-[state=checked]:translate-x-[1.125rem]" />
              </Switch.Root>
            </span>
          ) : (
            <Badge tone={binding.enabled ? "green" : "slate"}>
              {binding.enabled ? "enabled" : "disabled"}
            </Badge>
          )}
          <Button size="sm" aria-expanded={flagsOpen} onClick={() => setFlagsOpen((open) => !open)}>
            Flags
          </Button>
          {canWrite && <UpgradeDialog binding={binding} scope={scope} write={write} />}
          {canWrite && <RemoveBinding binding={binding} scope={scope} />}
        </div>
      </div>
      {error !== undefined && error !== null && (
        <div className="mt-2">
          <ErrorNotice error={error} />
        </div>
      )}
      {flagsOpen && <FlagEditor binding={binding} scope={scope} canWrite={canWrite} write={write} />}
    </li>
  );
});

function FlagEditor({
  binding,
  scope,
  canWrite,
  write,
}: {
  binding: Binding;
  scope: RuntimeScope;
  canWrite: boolean;
  write: Writer;
}) {
  const detail = useCapability(scope.org, binding.capability_name, binding.version);
  if (detail.isPending) return <Loading label="Loading the flags…" />;
  if (detail.isError) return <ErrorNotice error={detail.error} onRetry={() => detail.refetch()} />;
  const declared = Object.entries(detail.data.flags).sort(([a], [b]) => a.localeCompare(b));
  if (declared.length === 0) return <p className="mt-2 text-sm">This version declares no flags.</p>;
  return (
    <table className="mt-2 w-full text-left text-sm" data-testid="flag-editor">
      <thead>
        <tr>
          <th scope="col" className="py-1 pr-2">
            Flag
          </th>
          <th scope="col" className="py-1 pr-2">
            Default
          </th>
          <th scope="col" className="py-1 pr-2">
            Override
          </th>
          <th scope="col" className="py-1">
            Effective
          </th>
        </tr>
      </thead>
      <tbody>
        {declared.map(([name, flag]) => {
          const override = binding.flags[name];
          const effective = override ?? flag.default;
          const id = `flag-${binding.id}-${name}`;
          return (
            <tr
              key={name}
              data-flag={name}
              data-effective={effective}
              className="border-t border-slate-200 dark:border-slate-800"
            >
              <td className="py-1 pr-2">
                <label htmlFor={id} className="font-mono">
                  {name}
                </label>
                {flag.description && (
                  <span className="block text-xs text-slate-600 dark:text-slate-400">{flag.description}</span>
                )}
              </td>
              <td className="py-1 pr-2">{flag.default ? "on" : "off"}</td>
              <td className="py-1 pr-2">
                {canWrite ? (
                  <select
                    id={id}
                    value={override === undefined ? "default" : override ? "on" : "off"}
                    onChange={(event) => {
                      const value = event.target.value;
                      const next = value === "default" ? null : value === "on";
                      void write(binding, { flags: { [name]: next } }, `flag ${name}`).catch(() => {});
                    }}
                    className="rounded border border-slate-300 bg-white px-1 py-0.5 dark:border-slate-600 dark:bg-slate-950"
                  >
                    <option value="default">default</option>
                    <option value="on">on</option>
                    <option value="off">off</option>
                  </select>
                ) : (
                  <span id={id}>{override === undefined ? "default" : override ? "on" : "off"}</span>
                )}
              </td>
              <td className="py-1">
                <Badge tone={effective ? "green" : "slate"}>{effective ? "on" : "off"}</Badge>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function PreviewList({ title, items, testId }: { title: string; items: string[]; testId: string }) {
  if (items.length === 0) return null;
  return (
    <div data-testid={testId}>
      <h4 className="font-medium">{title}</h4>
      <ul className="list-disc pl-5 font-mono text-xs">
        {items.map((item) => (
          <li key={item}>{item}</li>
        ))}
      </ul>
    </div>
  );
}

function Modal({
  open,
  onOpenChange,
  title,
  trigger,
  children,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  trigger?: ReactNode;
  children: ReactNode;
}) {
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      {trigger && <Dialog.Trigger asChild>{trigger}</Dialog.Trigger>}
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-black/50" />
        <Dialog.Content
          aria-describedby={undefined}
          className="fixed top-1/2 left-1/2 max-h-[90vh] w-[min(94vw,36rem)] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg bg-white p-5 shadow-xl dark:bg-slate-900"
        >
          <Dialog.Title className="text-lg font-semibold">{title}</Dialog.Title>
          {children}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/**
 * The row's version button. The dialog, its two queries and its Radix tree mount only once it is
 * opened: a runtime page of 200 rows must not pay for 200 closed dialogs when it renders.
 */
function UpgradeDialog({ binding, scope, write }: { binding: Binding; scope: RuntimeScope; write: Writer }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button
        size="sm"
        variant={binding.upgrade_available ? "primary" : "secondary"}
        aria-haspopup="dialog"
        onClick={() => setOpen(true)}
      >
        {binding.upgrade_available ? "Upgrade…" : "Version…"}
      </Button>
      {open && (
        <OpenUpgradeDialog binding={binding} scope={scope} write={write} onClose={() => setOpen(false)} />
      )}
    </>
  );
}

function OpenUpgradeDialog({
  binding,
  scope,
  write,
  onClose,
}: {
  binding: Binding;
  scope: RuntimeScope;
  write: Writer;
  onClose: () => void;
}) {
  const open = true;
  const [target, setTarget] = useState<string>("latest");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // Read when the dialog opens: a row per binding must not cost a request per binding.
  const versions = useVersions(scope.org, binding.capability_name, open);
  const preview = useUpgradePreview(scope, binding.id, open ? target : null);
  const change = (next: boolean) => {
    if (!next) onClose();
  };
  const confirm = async () => {
    if (!preview.data) return;
    setBusy(true);
    setError(null);
    try {
      await write(binding, { version: preview.data.to }, `change the version to ${preview.data.to}`);
      change(false);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const p = preview.data;
  const component = (c: { type: string; name: string }) => `${c.type} ${c.name}`;
  return (
    <Modal open={open} onOpenChange={change} title={`Change the version of ${binding.capability_name}`}>
      <div className="mt-3 space-y-3 text-sm">
        <label className="block">
          <span className="block font-medium">Version</span>
          <select
            value={target}
            onChange={(event) => setTarget(event.target.value)}
            className="mt-1 rounded border border-slate-300 bg-white px-2 py-1 dark:border-slate-600 dark:bg-slate-950"
          >
            <option value="latest">
              latest{versions.data?.latest_version ? ` (${versions.data.latest_version})` : ""}
            </option>
            {(versions.data?.versions ?? []).map((v) => (
              <option key={v.version} value={v.version} disabled={v.status === "yanked"}>
                {v.version} — {v.status}
                {v.version === binding.version ? " (bound)" : ""}
              </option>
            ))}
          </select>
        </label>
        {preview.isPending ? (
          <Loading label="Loading the preview…" />
        ) : preview.isError ? (
          <ErrorNotice error={preview.error} />
        ) : p ? (
          <div className="space-y-2" data-testid="upgrade-preview" data-to={p.to}>
            <p>
              <span className="font-mono">{p.from}</span> → <span className="font-mono">{p.to}</span>{" "}
              <Badge tone={p.upgrade_kind === "major" || p.upgrade_kind === "downgrade" ? "amber" : "slate"}>
                {p.upgrade_kind}
              </Badge>
            </p>
            <PreviewList
              title="Components added"
              items={p.components.added.map(component)}
              testId="preview-components-added"
            />
            <PreviewList
              title="Components removed"
              items={p.components.removed.map(component)}
              testId="preview-components-removed"
            />
            <PreviewList title="Flags added" items={p.flags.added.map(String)} testId="preview-flags-added" />
            <PreviewList
              title="Flags removed"
              items={p.flags.removed.map(String)}
              testId="preview-flags-removed"
            />
            <PreviewList
              title="Your overrides that will be dropped"
              items={p.dropped_overrides.map(String)}
              testId="preview-dropped-overrides"
            />
            <PreviewList
              title="MCP servers changed"
              items={p.mcp_servers_changed.map(String)}
              testId="preview-mcp"
            />
            <PreviewList
              title="Workers changed"
              items={p.workers_changed.map(String)}
              testId="preview-workers"
            />
            {p.dependencies_changed && <p>The dependencies change.</p>}
            {p.upgrade_kind === "none" && <p>This is the version already bound.</p>}
          </div>
        ) : null}
        {error !== null && <ErrorNotice error={error} />}
        <div className="flex justify-end gap-2">
          <Dialog.Close asChild>
            <Button>Cancel</Button>
          </Dialog.Close>
          <Button
            variant="primary"
            disabled={busy || !p || p.upgrade_kind === "none"}
            onClick={() => void confirm()}
          >
            {busy ? "Working…" : p ? `Change to ${p.to}` : "Change"}
          </Button>
        </div>
      </div>
    </Modal>
  );
}

function RemoveBinding({ binding, scope }: { binding: Binding; scope: RuntimeScope }) {
  const refresh = useRefreshRuntime(scope);
  return (
    <ConfirmDialog
      trigger={
        <Button size="sm" variant="danger">
          Remove
        </Button>
      }
      title={`Remove ${binding.capability_name}?`}
      description={`The runtime stops receiving ${binding.capability_name} ${binding.version} and its flag overrides are lost.`}
      confirmLabel="Remove"
      danger
      onConfirm={async () => {
        try {
          await deleteBinding(scope, binding.id, binding.revision);
        } finally {
          refresh();
        }
      }}
    />
  );
}

function describeBinding(b: Binding | null): Record<string, string> {
  if (!b) return { state: "removed" };
  return {
    version: b.version,
    enabled: b.enabled ? "yes" : "no",
    overrides: overridesText(b.flags) || "none",
  };
}

function ConflictDialog({
  conflict,
  scope,
  write,
  onClose,
}: {
  conflict: Conflict | null;
  scope: RuntimeScope;
  write: Writer;
  onClose: () => void;
}) {
  const members = useMembers(scope.org);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (!conflict) return null;
  const seen = describeBinding(conflict.seen);
  const now = describeBinding(conflict.now);
  const who = conflict.event
    ? (members.data?.find((m) => m.user_id === conflict.event?.actor_user_id)?.email ??
      conflict.event.actor_user_id ??
      "an API key")
    : null;
  const reapply = async () => {
    if (!conflict.now) return;
    setBusy(true);
    setError(null);
    try {
      await write(conflict.now, conflict.attempted, conflict.label);
      onClose();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title="Someone else changed this capability">
      <div className="mt-3 space-y-3 text-sm" data-testid="conflict">
        <p>
          Your change ({conflict.label}) to <span className="font-mono">{conflict.seen.capability_name}</span>{" "}
          was not applied: it was changed after you loaded it.
        </p>
        {who && conflict.event && (
          <p data-testid="conflict-who">
            Changed by <strong>{who}</strong> at {formatDate(conflict.event.at)} ({conflict.event.action}).
          </p>
        )}
        <table className="w-full text-left">
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">You saw</th>
              <th scope="col">Now</th>
            </tr>
          </thead>
          <tbody>
            {Object.keys({ ...seen, ...now }).map((field) => (
              <tr
                key={field}
                data-field={field}
                className={seen[field] !== now[field] ? "font-semibold" : ""}
              >
                <td>{field}</td>
                <td className="font-mono">{seen[field] ?? "—"}</td>
                <td className="font-mono" data-testid={`conflict-now-${field}`}>
                  {now[field] ?? "—"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {error !== null && <ErrorNotice error={error} />}
        <div className="flex flex-wrap justify-end gap-2">
          <Button onClick={onClose}>Keep the current state</Button>
          {conflict.now && (
            <Button variant="primary" disabled={busy} onClick={() => void reapply()}>
              Re-apply my change
            </Button>
          )}
        </div>
      </div>
    </Modal>
  );
}

function AddCapability({ scope, bound }: { scope: RuntimeScope; bound: string[] }) {
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState("");
  const [chosen, setChosen] = useState<string | null>(null);
  const debounced = useDebounced(query, 250);
  const list = useCapabilityList(
    scope.org,
    { search: debounced || undefined, include_public: true, limit: 20 },
    open,
  );
  const change = (next: boolean) => {
    setOpen(next);
    if (!next) {
      setChosen(null);
      setQuery("");
    }
  };
  // The list already names another org's capability `owner/name`, as a binding does.
  const candidates = (list.data?.capabilities ?? []).map((c) => c.name);
  return (
    <Modal
      open={open}
      onOpenChange={change}
      title="Add a capability"
      trigger={<Button variant="primary">Add capability</Button>}
    >
      {chosen ? (
        <AddForm scope={scope} name={chosen} onBack={() => setChosen(null)} onDone={() => change(false)} />
      ) : (
        <div className="mt-3 space-y-2 text-sm">
          <label className="block">
            <span className="block font-medium">Search the catalog</span>
            <input
              type="search"
              value={query}
              onChange={(event) => setQuery(event.target.value)}
              className="mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1 dark:border-slate-600 dark:bg-slate-950"
              data-testid="add-search"
            />
          </label>
          {list.isPending ? (
            <Loading label="Searching…" />
          ) : list.isError ? (
            <ErrorNotice error={list.error} />
          ) : candidates.length === 0 ? (
            <EmptyState title="No capability matches" />
          ) : (
            <ul className="divide-y divide-slate-200 dark:divide-slate-800">
              {candidates.map((name) => (
                <li key={name} className="flex items-center justify-between gap-2 py-1">
                  <span className="font-mono">{name}</span>
                  {bound.includes(name) ? (
                    <span className="text-xs">already bound</span>
                  ) : (
                    <Button size="sm" onClick={() => setChosen(name)} data-choose={name}>
                      Choose
                    </Button>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </Modal>
  );
}

function AddForm({
  scope,
  name,
  onBack,
  onDone,
}: {
  scope: RuntimeScope;
  name: string;
  onBack: () => void;
  onDone: () => void;
}) {
  const versions = useVersions(scope.org, name);
  const [version, setVersion] = useState("latest");
  const detail = useCapability(scope.org, name, version);
  const [enabled, setEnabled] = useState(true);
  const [flags, setFlags] = useState<Record<string, boolean>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const refresh = useRefreshRuntime(scope);
  const errors = error ? fieldErrors(toEnvelope(error)) : {};
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await createBinding(scope, { name, version, enabled, flags });
      refresh();
      onDone();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="mt-3 space-y-3 text-sm"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <p>
        <span className="font-mono font-semibold">{name}</span>{" "}
        <Button size="sm" variant="ghost" onClick={onBack}>
          Choose another
        </Button>
      </p>
      <label className="block">
        <span className="block font-medium">Version</span>
        <select
          value={version}
          onChange={(event) => {
            setVersion(event.target.value);
            setFlags({});
          }}
          className="mt-1 rounded border border-slate-300 bg-white px-2 py-1 dark:border-slate-600 dark:bg-slate-950"
          data-testid="add-version"
        >
          <option value="latest">
            latest{versions.data?.latest_version ? ` (${versions.data.latest_version})` : ""}
          </option>
          {(versions.data?.versions ?? []).map((v) => (
            <option key={v.version} value={v.version} disabled={v.status === "yanked"}>
              {v.version} — {v.status}
            </option>
          ))}
        </select>
        {errors.version && (
          <span className="block text-red-700 dark:text-red-300">{errors.version.join(" ")}</span>
        )}
      </label>
      <label className="flex items-center gap-2">
        <input type="checkbox" checked={enabled} onChange={(event) => setEnabled(event.target.checked)} />
        Enabled
      </label>
      {detail.data && Object.keys(detail.data.flags).length > 0 && (
        <fieldset className="space-y-1">
          <legend className="font-medium">Initial flags</legend>
          {Object.entries(detail.data.flags).map(([flag, spec]) => (
            <label key={flag} className="flex items-center gap-2">
              <select
                value={flag in flags ? (flags[flag] ? "on" : "off") : "default"}
                onChange={(event) => {
                  const value = event.target.value;
                  setFlags((current) => {
                    const next = { ...current };
                    if (value === "default") delete next[flag];
                    else next[flag] = value === "on";
                    return next;
                  });
                }}
                className="rounded border border-slate-300 bg-white px-1 py-0.5 dark:border-slate-600 dark:bg-slate-950"
              >
                <option value="default">default ({spec.default ? "on" : "off"})</option>
                <option value="on">on</option>
                <option value="off">off</option>
              </select>
              <span className="font-mono">{flag}</span>
              {errors[flag] && (
                <span className="text-red-700 dark:text-red-300">{errors[flag].join(" ")}</span>
              )}
            </label>
          ))}
        </fieldset>
      )}
      {error !== null && <ErrorNotice error={error} />}
      <div className="flex justify-end gap-2">
        <Dialog.Close asChild>
          <Button>Cancel</Button>
        </Dialog.Close>
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? "Adding…" : "Add to the runtime"}
        </Button>
      </div>
    </form>
  );
}

function Resolved({ scope }: { scope: RuntimeScope }) {
  const resolved = useResolved(scope);
  if (resolved.isPending) return <Loading label="Loading the resolved set…" />;
  if (resolved.isError) return <ErrorNotice error={resolved.error} onRetry={() => resolved.refetch()} />;
  const set = resolved.data;
  return (
    <section aria-labelledby="resolved-title" className="space-y-3" data-testid="resolved">
      <h2 id="resolved-title" className="text-lg font-semibold">
        Resolved set
      </h2>
      <p className="text-sm">
        What the runtime receives (enabled capabilities only). Digest{" "}
        <span className="font-mono break-all" data-testid="runtime-digest">
          {set.runtime_digest}
        </span>
      </p>
      {set.capabilities.length === 0 ? (
        <EmptyState title="Nothing enabled on this runtime" />
      ) : (
        <ul className="space-y-2">
          {set.capabilities.map((cap) => (
            <li
              key={cap.name}
              data-resolved={cap.name}
              className="rounded border border-slate-300 p-2 text-sm dark:border-slate-700"
            >
              <p>
                <span className="font-mono font-semibold">{cap.name}</span>{" "}
                <span className="font-mono">{cap.version}</span>
              </p>
              <p className="font-mono text-xs break-all">{cap.artifact_digest}</p>
              <ul className="mt-1 flex flex-wrap gap-1" aria-label={`Effective flags of ${cap.name}`}>
                {Object.entries(cap.effective_flags)
                  .sort(([a], [b]) => a.localeCompare(b))
                  .map(([flag, on]) => (
                    <li key={flag} data-flag={flag} data-effective={on}>
                      <Badge tone={on ? "green" : "slate"}>
                        {flag} {on ? "on" : "off"}
                      </Badge>
                    </li>
                  ))}
              </ul>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
