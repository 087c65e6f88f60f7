// The organization's webhooks (owners, SPEC §15): list, register (the signing secret shown once,
// with a copy button), enable or disable, delete, and each webhook's deliveries with status,
// duration and the response excerpt, and redelivery. The webhook whose deliveries are open is in
// the URL (`?section=webhooks&webhook=<id>`).
import { useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useState } from "react";
import {
  createWebhook,
  deleteWebhook,
  redeliverWebhookDelivery,
  updateWebhook,
  useWebhookDeliveries,
  useWebhooks,
  type Webhook,
  type WebhookDelivery,
  webhookKeys,
} from "../api/webhooks";
import { Badge } from "../components/Badge";
import { Button } from "../components/Button";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { CopyButton } from "../components/CopyButton";
import { ErrorNotice } from "../components/ErrorNotice";
import { EmptyState, Loading } from "../components/States";
import { fieldErrors, toEnvelope } from "../lib/envelope";
import { formatDate } from "../lib/format";

const inputClass =
  "rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900";
const listClass =
  "divide-y divide-slate-200 rounded-lg border border-slate-300 bg-white dark:divide-slate-800 dark:border-slate-700 dark:bg-slate-900";

export function Webhooks({ org, selected }: { org: string; selected?: string }) {
  const hooks = useWebhooks(org);
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: webhookKeys.all(org) });
  const [rowError, setRowError] = useState<{ id: string; error: unknown } | null>(null);
  const open = hooks.data?.items.find((hook) => hook.id === selected);
  return (
    <div className="space-y-3">
      <h2 className="text-lg font-semibold">Webhooks</h2>
      <p className="text-sm text-slate-700 dark:text-slate-300">
        The organization's events, POSTed to your endpoint and signed as the Standard Webhooks specification
        says; failed deliveries are retried for 24 hours.
      </p>
      <CreateWebhook org={org} onCreated={refresh} />
      {hooks.isPending ? (
        <Loading label="Loading webhooks…" />
      ) : hooks.isError ? (
        <ErrorNotice error={hooks.error} onRetry={() => hooks.refetch()} />
      ) : hooks.data.items.length === 0 ? (
        <EmptyState title="No webhooks" />
      ) : (
        <ul className={listClass}>
          {hooks.data.items.map((hook) => (
            <li key={hook.id} className="space-y-2 p-3 text-sm" data-webhook={hook.url}>
              <div className="flex flex-wrap items-center gap-x-3 gap-y-2">
                <div className="min-w-0 flex-[1_1_16rem]">
                  <p className="font-mono break-all">{hook.url}</p>
                  <p className="text-xs text-slate-600 dark:text-slate-400">
                    {hook.events.join(", ")}
                    {hook.description ? ` · ${hook.description}` : ""} · since {formatDate(hook.created_at)}
                  </p>
                  {hook.status === "disabled" && hook.disabled_reason && (
                    <p className="text-xs text-red-800 dark:text-red-300">{hook.disabled_reason}</p>
                  )}
                  {hook.status === "active" && hook.failing_since && (
                    <p className="text-xs text-amber-800 dark:text-amber-300">
                      failing since {formatDate(hook.failing_since)}
                    </p>
                  )}
                </div>
                <Badge tone={hook.status === "active" ? "green" : "red"}>{hook.status}</Badge>
                <Link
                  to="."
                  search={{
                    section: "webhooks" as const,
                    webhook: selected === hook.id ? undefined : hook.id,
                  }}
                  className="text-sm text-blue-800 underline dark:text-blue-300"
                  aria-expanded={selected === hook.id}
                >
                  {selected === hook.id ? "Hide deliveries" : "Deliveries"}
                  <span className="sr-only"> of {hook.url}</span>
                </Link>
                <Button
                  size="sm"
                  onClick={() => {
                    setRowError(null);
                    updateWebhook(org, hook.id, { status: hook.status === "active" ? "disabled" : "active" })
                      .then(refresh)
                      .catch((error) => setRowError({ id: hook.id, error }));
                  }}
                >
                  {hook.status === "active" ? "Disable" : "Enable"}
                  <span className="sr-only"> {hook.url}</span>
                </Button>
                <ConfirmDialog
                  trigger={
                    <Button size="sm" variant="danger">
                      Delete<span className="sr-only"> {hook.url}</span>
                    </Button>
                  }
                  title="Delete this webhook?"
                  description={`${hook.url} stops receiving events, and its delivery log is deleted.`}
                  confirmLabel="Delete webhook"
                  danger
                  onConfirm={() => deleteWebhook(org, hook.id).then(refresh)}
                />
              </div>
              {rowError?.id === hook.id && <ErrorNotice error={rowError.error} />}
            </li>
          ))}
        </ul>
      )}
      {open && <Deliveries org={org} hook={open} />}
    </div>
  );
}

function CreateWebhook({ org, onCreated }: { org: string; onCreated: () => void }) {
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState("*");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<{ url: string; secret: string } | null>(null);
  const errors = error ? fieldErrors(toEnvelope(error)) : {};
  // `events` errors point at an index (["body", "events", 1]); shown under the events field.
  const eventErrors = Object.entries(errors)
    .filter(([field]) => field === "events" || /^\d+$/.test(field))
    .flatMap(([, messages]) => messages);
  return (
    <>
      <form
        aria-label="Register a webhook"
        className="flex flex-wrap items-end gap-2 rounded border border-slate-300 p-2 dark:border-slate-700"
        onSubmit={(event) => {
          event.preventDefault();
          setError(null);
          createWebhook(org, {
            url: url.trim(),
            events: events
              .split(/[\s,]+/)
              .map((value) => value.trim())
              .filter((value) => value !== ""),
            ...(description.trim() ? { description: description.trim() } : {}),
          })
            .then((hook) => {
              setCreated({ url: hook.url, secret: hook.secret });
              setUrl("");
              setDescription("");
              onCreated();
            })
            .catch(setError);
        }}
      >
        <label className="min-w-0 flex-[1_1_18rem] text-sm">
          <span className="block">Endpoint URL</span>
          <input
            id="webhook-url"
            type="url"
            required
            className={`${inputClass} w-full`}
            value={url}
            placeholder="https://example.com/hooks/capstan"
            onChange={(event) => setUrl(event.target.value)}
            aria-invalid={errors.url ? true : undefined}
            aria-describedby={errors.url ? "webhook-url-error" : undefined}
          />
          {errors.url && (
            <span id="webhook-url-error" className="block text-red-700 dark:text-red-300">
              {errors.url.join(" ")}
            </span>
          )}
        </label>
        <label className="text-sm">
          <span className="block">Events (comma-separated: a type, prefix.* or *)</span>
          <input
            id="webhook-events"
            required
            className={inputClass}
            value={events}
            onChange={(event) => setEvents(event.target.value)}
            aria-invalid={eventErrors.length > 0 ? true : undefined}
            aria-describedby={eventErrors.length > 0 ? "webhook-events-error" : undefined}
          />
          {eventErrors.length > 0 && (
            <span id="webhook-events-error" className="block text-red-700 dark:text-red-300">
              {eventErrors.join(" ")}
            </span>
          )}
        </label>
        <label className="text-sm">
          <span className="block">Description (optional)</span>
          <input
            id="webhook-description"
            className={inputClass}
            value={description}
            onChange={(event) => setDescription(event.target.value)}
          />
        </label>
        <Button type="submit" variant="primary">
          Register webhook
        </Button>
        {error !== null && !errors.url && eventErrors.length === 0 && (
          <div className="w-full">
            <ErrorNotice error={error} />
          </div>
        )}
      </form>
      {created && (
        <div
          role="status"
          data-testid="new-webhook"
          className="space-y-2 rounded border border-amber-400 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100"
        >
          <p className="font-semibold">
            Copy the signing secret of {created.url} now: it is shown only once. Your endpoint verifies each
            delivery's webhook-signature with it.
          </p>
          <div className="flex flex-wrap items-center gap-2">
            <code className="font-mono break-all" data-testid="new-webhook-secret">
              {created.secret}
            </code>
            <CopyButton text={created.secret} label="Copy the secret" />
          </div>
          <Button size="sm" onClick={() => setCreated(null)}>
            I have stored it
          </Button>
        </div>
      )}
    </>
  );
}

function Deliveries({ org, hook }: { org: string; hook: Webhook }) {
  const deliveries = useWebhookDeliveries(org, hook.id);
  const queryClient = useQueryClient();
  const [rowError, setRowError] = useState<{ id: string; error: unknown } | null>(null);
  const items = deliveries.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <section aria-labelledby="deliveries-title" className="space-y-2">
      <div className="flex flex-wrap items-center gap-2">
        <h3 id="deliveries-title" className="font-semibold break-all">
          Deliveries to {hook.url}
        </h3>
        <Button size="sm" onClick={() => deliveries.refetch()}>
          Refresh
        </Button>
      </div>
      {deliveries.isPending ? (
        <Loading label="Loading deliveries…" />
      ) : deliveries.isError ? (
        <ErrorNotice error={deliveries.error} onRetry={() => deliveries.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title="No deliveries yet" />
      ) : (
        <ul className={listClass}>
          {items.map((delivery) => (
            <li key={delivery.id} className="space-y-1 p-3 text-sm" data-delivery={delivery.event_type}>
              <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
                <span className="font-medium">{delivery.event_type}</span>
                <DeliveryStatus delivery={delivery} />
                <span className="text-xs text-slate-600 dark:text-slate-400">
                  {delivery.attempts} attempt{delivery.attempts === 1 ? "" : "s"}
                  {delivery.last_status_code !== null && ` · HTTP ${delivery.last_status_code}`}
                  {delivery.last_duration_ms !== null && ` · ${delivery.last_duration_ms} ms`}
                  {delivery.last_attempt_at && ` · ${formatDate(delivery.last_attempt_at)}`}
                  {delivery.next_attempt_at && ` · next ${formatDate(delivery.next_attempt_at)}`}
                </span>
                <Button
                  size="sm"
                  disabled={hook.status !== "active"}
                  onClick={() => {
                    setRowError(null);
                    redeliverWebhookDelivery(org, hook.id, delivery.id)
                      .then(() =>
                        queryClient.invalidateQueries({ queryKey: webhookKeys.deliveries(org, hook.id) }),
                      )
                      .catch((error) => setRowError({ id: delivery.id, error }));
                  }}
                >
                  Redeliver
                  <span className="sr-only">
                    {" "}
                    {delivery.event_type} event {delivery.event_id}
                  </span>
                </Button>
              </div>
              {delivery.last_error && (
                <p className="text-xs break-words text-red-800 dark:text-red-300">{delivery.last_error}</p>
              )}
              {delivery.log.length > 0 && (
                <details>
                  <summary className="cursor-pointer text-xs">Attempts and responses</summary>
                  <ol className="mt-1 space-y-1">
                    {delivery.log.map((attempt) => (
                      <li key={attempt.attempt} className="text-xs">
                        #{attempt.attempt} {attempt.trigger} · {formatDate(attempt.started_at)} ·{" "}
                        {attempt.status_code === null ? "no answer" : `HTTP ${attempt.status_code}`} ·{" "}
                        {attempt.duration_ms} ms{attempt.error ? ` · ${attempt.error}` : ""}
                        {attempt.response && (
                          <pre className="mt-1 max-h-40 overflow-auto rounded bg-slate-100 p-2 whitespace-pre-wrap break-all dark:bg-slate-800">
                            {attempt.response}
                          </pre>
                        )}
                      </li>
                    ))}
                  </ol>
                </details>
              )}
              {rowError?.id === delivery.id && <ErrorNotice error={rowError.error} />}
            </li>
          ))}
        </ul>
      )}
      {deliveries.hasNextPage && (
        <Button onClick={() => deliveries.fetchNextPage()} disabled={deliveries.isFetchingNextPage}>
          Older deliveries
        </Button>
      )}
    </section>
  );
}

function DeliveryStatus({ delivery }: { delivery: WebhookDelivery }) {
  const tone = delivery.status === "succeeded" ? "green" : delivery.status === "failed" ? "red" : "amber";
  return <Badge tone={tone}>{delivery.status}</Badge>;
}
