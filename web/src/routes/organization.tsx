// The organization screen (owners, SPEC §10): members (add, change role, remove), the signed-in
// user's API keys (create with expiry and read-only, the secret shown once, revoke), and the audit
// log (filter by actor, action and time; paged; each record expandable). The section is in the URL.
import { useQueryClient } from "@tanstack/react-query";
import { createRoute, Link, useNavigate } from "@tanstack/react-router";
import { useState } from "react";
import {
  type AuditFilter,
  addMember,
  apiKeyKeys,
  changeMemberRole,
  createApiKey,
  type MemberRole,
  organizationKeys,
  removeMember,
  revokeApiKey,
  useAudit,
  useMembers,
  useMyApiKeys,
  useOrganization,
} from "../api/organization";
import { useMe } from "../api/user";
import { Badge } from "../components/Badge";
import { Button } from "../components/Button";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { CopyButton } from "../components/CopyButton";
import { ErrorNotice } from "../components/ErrorNotice";
import { EmptyState, Loading } from "../components/States";
import { ApiError, fieldErrors, toEnvelope } from "../lib/envelope";
import { formatDate } from "../lib/format";
import { orgRoute } from "./org";
import { Webhooks } from "./organization-webhooks";

const SECTIONS = ["members", "keys", "audit", "webhooks"] as const;
type Section = (typeof SECTIONS)[number];
const SECTION_LABELS: Record<Section, string> = {
  members: "Members",
  keys: "API keys",
  audit: "Audit log",
  webhooks: "Webhooks",
};

interface OrganizationSearch {
  section?: Section;
  actor?: string;
  action?: string;
  since?: string;
  until?: string;
  /** The webhook whose deliveries are open. */
  webhook?: string;
}

const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);

export const organizationRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "/settings",
  validateSearch: (search: Record<string, unknown>): OrganizationSearch => ({
    section:
      SECTIONS.includes(search.section as Section) && search.section !== "members"
        ? (search.section as Section)
        : undefined,
    actor: text(search.actor),
    action: text(search.action),
    since: text(search.since),
    until: text(search.until),
    webhook: text(search.webhook),
  }),
  component: Organization,
});

const inputClass =
  "rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900";
const ROLES: MemberRole[] = ["reader", "contributor", "owner"];

function Organization() {
  const { org } = organizationRoute.useParams();
  const search = organizationRoute.useSearch();
  const organization = useOrganization(org);
  const section = search.section ?? "members";
  return (
    <section aria-labelledby="org-title" className="space-y-4">
      <div>
        <h1 id="org-title" className="text-xl font-semibold">
          {organization.data?.name ?? org}
        </h1>
        {organization.data?.description && <p>{organization.data.description}</p>}
      </div>
      <nav
        aria-label="Organization sections"
        className="flex flex-wrap gap-1 border-b border-slate-300 dark:border-slate-700"
      >
        {SECTIONS.map((s) => (
          <Link
            key={s}
            from={organizationRoute.fullPath}
            search={{ section: s === "members" ? undefined : s }}
            aria-current={section === s ? "page" : undefined}
            className={`-mb-px border-b-2 px-3 py-2 text-sm font-medium whitespace-nowrap ${
              section === s
                ? "border-blue-700 text-blue-800 dark:border-blue-300 dark:text-blue-200"
                : "border-transparent text-slate-700 hover:text-slate-950 dark:text-slate-300 dark:hover:text-white"
            }`}
          >
            {SECTION_LABELS[s]}
          </Link>
        ))}
      </nav>
      {section === "members" && <Members org={org} />}
      {section === "keys" && <ApiKeys />}
      {section === "audit" && <Audit org={org} search={search} />}
      {section === "webhooks" && <Webhooks org={org} selected={search.webhook} />}
    </section>
  );
}

function Members({ org }: { org: string }) {
  const members = useMembers(org);
  const me = useMe();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: organizationKeys.members(org) });
  const [rowError, setRowError] = useState<{ id: string; error: unknown } | null>(null);
  return (
    <div className="space-y-3">
      <h2 className="text-lg font-semibold">Members</h2>
      <AddMember org={org} onAdded={refresh} />
      {members.isPending ? (
        <Loading label="Loading members…" />
      ) : members.isError ? (
        <ErrorNotice error={members.error} onRetry={() => members.refetch()} />
      ) : members.data.length === 0 ? (
        <EmptyState title="No members" />
      ) : (
        <ul className="divide-y divide-slate-200 rounded-lg border border-slate-300 bg-white dark:divide-slate-800 dark:border-slate-700 dark:bg-slate-900">
          {members.data.map((member) => (
            <li key={member.user_id} className="p-3 text-sm" data-member={member.email}>
              <div className="flex flex-wrap items-center gap-x-3 gap-y-2">
                <div className="min-w-0 flex-[1_1_16rem]">
                  <p className="font-medium break-words">
                    {member.name} {member.user_id === me.data?.id && <Badge tone="blue">you</Badge>}
                  </p>
                  <p className="break-all text-slate-700 dark:text-slate-300">{member.email}</p>
                  <p className="text-xs text-slate-600 dark:text-slate-400">
                    since {formatDate(member.created_at)}
                  </p>
                </div>
                <label className="text-sm">
                  <span className="sr-only">Role of {member.email}</span>
                  <select
                    className={inputClass}
                    value={member.role}
                    data-testid="member-role"
                    onChange={(event) => {
                      setRowError(null);
                      changeMemberRole(org, member.user_id, event.target.value as MemberRole)
                        .catch((error: unknown) => setRowError({ id: member.user_id, error }))
                        .finally(() => void refresh());
                    }}
                  >
                    {ROLES.map((role) => (
                      <option key={role} value={role}>
                        {role}
                      </option>
                    ))}
                  </select>
                </label>
                <ConfirmDialog
                  trigger={
                    <Button size="sm" variant="danger" aria-label={`Remove ${member.email}`}>
                      Remove
                    </Button>
                  }
                  title={`Remove ${member.email}?`}
                  description="They lose access to this organization at once; their API keys stop working here."
                  confirmLabel="Remove"
                  danger
                  onConfirm={() => removeMember(org, member.user_id).catch(lastOwnerInWords).then(refresh)}
                />
              </div>
              {rowError?.id === member.user_id && (
                <div className="mt-2">
                  <ErrorNotice error={lastOwnerOrSame(rowError.error)} />
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The last-owner rule's 409 (SPEC §3) in words a person acts on. */
function lastOwnerOrSame(error: unknown): unknown {
  if (error instanceof ApiError && error.status === 409 && error.envelope.type === "conflict_error") {
    return new ApiError({
      ...error.envelope,
      detail: `This is the organization's last owner: make someone else an owner first. (${error.envelope.detail})`,
    });
  }
  return error;
}

function lastOwnerInWords(error: unknown): never {
  throw lastOwnerOrSame(error);
}

function AddMember({ org, onAdded }: { org: string; onAdded: () => void }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<MemberRole>("reader");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const errors = error ? fieldErrors(toEnvelope(error)) : {};
  return (
    <form
      aria-label="Add a member"
      className="flex flex-wrap items-end gap-2 rounded border border-slate-300 p-2 dark:border-slate-700"
      onSubmit={(event) => {
        event.preventDefault();
        setBusy(true);
        setError(null);
        addMember(org, { email: email.trim(), role })
          .then(() => {
            setEmail("");
            onAdded();
          })
          .catch(setError)
          .finally(() => setBusy(false));
      }}
    >
      <label className="text-sm">
        <span className="block">E-mail</span>
        <input
          id="member-email"
          type="email"
          required
          className={inputClass}
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          aria-invalid={errors.email ? true : undefined}
          aria-describedby={errors.email ? "member-email-error" : undefined}
        />
        {errors.email && (
          <span id="member-email-error" className="block text-red-700 dark:text-red-300">
            {errors.email.join(" ")}
          </span>
        )}
      </label>
      <label className="text-sm">
        <span className="block">Role</span>
        <select
          id="member-role"
          className={inputClass}
          value={role}
          onChange={(event) => setRole(event.target.value as MemberRole)}
        >
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <Button type="submit" variant="primary" disabled={busy}>
        Add member
      </Button>
      {error !== null && !errors.email && (
        <div className="w-full">
          <ErrorNotice error={error} />
        </div>
      )}
    </form>
  );
}

function ApiKeys() {
  const keys = useMyApiKeys();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: apiKeyKeys.mine });
  const [name, setName] = useState("");
  const [days, setDays] = useState("90");
  const [readOnly, setReadOnly] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const errors = error ? fieldErrors(toEnvelope(error)) : {};
  return (
    <div className="space-y-3">
      <h2 className="text-lg font-semibold">Your API keys</h2>
      <form
        aria-label="Create an API key"
        className="flex flex-wrap items-end gap-2 rounded border border-slate-300 p-2 dark:border-slate-700"
        onSubmit={(event) => {
          event.preventDefault();
          setError(null);
          createApiKey({
            name: name.trim(),
            expires_in_days: days === "" ? undefined : Number(days),
            read_only: readOnly,
          })
            .then((key) => {
              setCreated({ name: key.name, key: key.key });
              setName("");
              void refresh();
            })
            .catch(setError);
        }}
      >
        <label className="text-sm">
          <span className="block">Name</span>
          <input
            id="key-name"
            required
            className={inputClass}
            value={name}
            onChange={(event) => setName(event.target.value)}
          />
          {errors.name && (
            <span className="block text-red-700 dark:text-red-300">{errors.name.join(" ")}</span>
          )}
        </label>
        <label className="text-sm">
          <span className="block">Expires in (days; empty: never)</span>
          <input
            id="key-days"
            type="number"
            min={1}
            className={inputClass}
            value={days}
            onChange={(event) => setDays(event.target.value)}
          />
          {errors.expires_in_days && (
            <span className="block text-red-700 dark:text-red-300">{errors.expires_in_days.join(" ")}</span>
          )}
        </label>
        <label className="flex items-center gap-1 text-sm">
          <input
            id="key-read-only"
            type="checkbox"
            checked={readOnly}
            onChange={(event) => setReadOnly(event.target.checked)}
          />
          Read-only
        </label>
        <Button type="submit" variant="primary">
          Create key
        </Button>
        {error !== null && !errors.name && !errors.expires_in_days && (
          <div className="w-full">
            <ErrorNotice error={error} />
          </div>
        )}
      </form>
      {created && (
        <div
          role="status"
          data-testid="new-key"
          className="space-y-2 rounded border border-amber-400 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100"
        >
          <p className="font-semibold">Copy the key “{created.name}” now: it is shown only once.</p>
          <div className="flex flex-wrap items-center gap-2">
            <code className="font-mono break-all" data-testid="new-key-secret">
              {created.key}
            </code>
            <CopyButton text={created.key} label="Copy the key" />
          </div>
          <Button size="sm" onClick={() => setCreated(null)}>
            I have stored it
          </Button>
        </div>
      )}
      {keys.isPending ? (
        <Loading label="Loading keys…" />
      ) : keys.isError ? (
        <ErrorNotice error={keys.error} onRetry={() => keys.refetch()} />
      ) : keys.data.length === 0 ? (
        <EmptyState title="No API keys" />
      ) : (
        <ul className="divide-y divide-slate-200 rounded-lg border border-slate-300 bg-white dark:divide-slate-800 dark:border-slate-700 dark:bg-slate-900">
          {keys.data.map((key) => (
            <li
              key={key.id}
              className="flex flex-wrap items-center gap-x-3 gap-y-1 p-3 text-sm"
              data-key={key.name}
            >
              <div className="min-w-0 flex-[1_1_16rem]">
                <p className="font-medium break-words">
                  {key.name} <span className="font-mono text-xs">cst_{key.prefix}_…</span>{" "}
                  {key.read_only && <Badge>read-only</Badge>}
                </p>
                <p className="text-xs text-slate-600 dark:text-slate-400">
                  created {formatDate(key.created_at)} ·{" "}
                  {key.expires_at ? `expires ${formatDate(key.expires_at)}` : "never expires"} ·{" "}
                  {key.last_used_at ? `last used ${formatDate(key.last_used_at)}` : "never used"}
                </p>
              </div>
              <ConfirmDialog
                trigger={
                  <Button size="sm" variant="danger" aria-label={`Revoke ${key.name}`}>
                    Revoke
                  </Button>
                }
                title={`Revoke the key ${key.name}?`}
                description="Every request with it is refused from now on. If you are signed in with it, you will be signed out."
                confirmLabel="Revoke"
                danger
                onConfirm={() => revokeApiKey(key.id).then(refresh)}
              />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** `datetime-local` (the user's local time) → ISO 8601 UTC for the API. */
const toIso = (local: string | undefined) => (local ? new Date(local).toISOString() : undefined);

function Audit({ org, search }: { org: string; search: OrganizationSearch }) {
  const navigate = useNavigate({ from: organizationRoute.fullPath });
  const members = useMembers(org);
  const filter: AuditFilter = {
    actor_user_id: search.actor,
    action: search.action,
    since: toIso(search.since),
    until: toIso(search.until),
  };
  const audit = useAudit(org, filter);
  const [open, setOpen] = useState<string | null>(null);
  const events = audit.data?.pages.flatMap((page) => page.items) ?? [];
  const who = (id: string | null) =>
    id ? (members.data?.find((m) => m.user_id === id)?.email ?? id) : "system";
  const set = (patch: Partial<OrganizationSearch>) =>
    void navigate({ search: (prev) => ({ ...prev, ...patch }), replace: true });
  const errors = audit.error ? fieldErrors(toEnvelope(audit.error)) : {};
  return (
    <div className="space-y-3">
      <h2 className="text-lg font-semibold">Audit log</h2>
      <div className="flex flex-wrap items-end gap-2">
        <label className="text-sm">
          <span className="block">Actor</span>
          <select
            id="audit-actor"
            className={inputClass}
            value={search.actor ?? ""}
            onChange={(event) => set({ actor: event.target.value || undefined })}
          >
            <option value="">Anyone</option>
            {(members.data ?? []).map((m) => (
              <option key={m.user_id} value={m.user_id}>
                {m.email}
              </option>
            ))}
          </select>
        </label>
        <label className="text-sm">
          <span className="block">Action (exact, or a prefix ending in “.”)</span>
          <input
            id="audit-action"
            className={inputClass}
            defaultValue={search.action ?? ""}
            onBlur={(event) => set({ action: event.target.value.trim() || undefined })}
            onKeyDown={(event) => {
              if (event.key === "Enter") set({ action: event.currentTarget.value.trim() || undefined });
            }}
          />
          {errors.action && (
            <span className="block text-red-700 dark:text-red-300">{errors.action.join(" ")}</span>
          )}
        </label>
        <label className="text-sm">
          <span className="block">From</span>
          <input
            id="audit-since"
            type="datetime-local"
            className={inputClass}
            value={search.since ?? ""}
            onChange={(event) => set({ since: event.target.value || undefined })}
          />
        </label>
        <label className="text-sm">
          <span className="block">Until</span>
          <input
            id="audit-until"
            type="datetime-local"
            className={inputClass}
            value={search.until ?? ""}
            onChange={(event) => set({ until: event.target.value || undefined })}
          />
        </label>
      </div>
      {audit.isPending ? (
        <Loading label="Loading the audit log…" />
      ) : audit.isError ? (
        <ErrorNotice error={audit.error} onRetry={() => audit.refetch()} />
      ) : events.length === 0 ? (
        <EmptyState title="No audit event matches" />
      ) : (
        <ul
          className="divide-y divide-slate-200 rounded-lg border border-slate-300 bg-white dark:divide-slate-800 dark:border-slate-700 dark:bg-slate-900"
          data-testid="audit"
        >
          {events.map((event) => (
            <li key={event.id} className="p-2 text-sm" data-action={event.action}>
              <button
                type="button"
                aria-expanded={open === event.id}
                onClick={() => setOpen(open === event.id ? null : event.id)}
                className="flex w-full flex-wrap items-baseline gap-x-3 text-left"
              >
                <span className="font-mono font-medium">{event.action}</span>
                <span className="break-all">{who(event.actor_user_id)}</span>
                <span className="text-xs text-slate-600 dark:text-slate-400">{formatDate(event.at)}</span>
              </button>
              {open === event.id && (
                <pre
                  className="mt-1 overflow-x-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800"
                  data-testid="audit-record"
                >
                  {JSON.stringify(event, null, 2)}
                </pre>
              )}
            </li>
          ))}
        </ul>
      )}
      {audit.hasNextPage && (
        <Button onClick={() => audit.fetchNextPage()} disabled={audit.isFetchingNextPage}>
          Older events
        </Button>
      )}
    </div>
  );
}
