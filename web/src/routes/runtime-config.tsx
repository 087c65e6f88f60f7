// The runtime's config as YAML (SPEC §6): edit, see the dry-run plan (install / update / remove),
// then apply exactly the text that was planned. js-yaml is loaded with this tab only.
import { useEffect, useState } from "react";
import {
  applyConfig,
  type ConfigBody,
  type ConfigPlan,
  planConfig,
  type RuntimeScope,
  useRefreshRuntime,
  useRuntimeConfig,
} from "../api/runtimes";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { EmptyState, Loading } from "../components/States";

type Yaml = typeof import("js-yaml");
let yamlModule: Promise<Yaml> | null = null;
const loadYaml = () => {
  yamlModule ??= import("js-yaml");
  return yamlModule;
};

export function ConfigTab({ scope, canWrite }: { scope: RuntimeScope; canWrite: boolean }) {
  const config = useRuntimeConfig(scope);
  const refresh = useRefreshRuntime(scope);
  const [text, setText] = useState<string | null>(null);
  const [parseError, setParseError] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [plan, setPlan] = useState<{ text: string; plan: ConfigPlan } | null>(null);
  const [busy, setBusy] = useState(false);
  const [applied, setApplied] = useState(false);

  // The server's config, as YAML, until the user starts editing.
  useEffect(() => {
    if (!config.data || text !== null) return;
    let live = true;
    void loadYaml().then((yaml) => {
      if (live) setText(yaml.dump(config.data.config, { noRefs: true, lineWidth: 120 }));
    });
    return () => {
      live = false;
    };
  }, [config.data, text]);

  const parse = async (source: string): Promise<ConfigBody | null> => {
    const yaml = await loadYaml();
    try {
      const value = yaml.load(source, { json: true });
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        setParseError("The config must be a YAML mapping (version: v2, capabilities: …).");
        return null;
      }
      setParseError(null);
      return { config: value } as ConfigBody;
    } catch (failure) {
      setParseError(failure instanceof Error ? failure.message : String(failure));
      return null;
    }
  };

  const preview = async () => {
    if (text === null) return;
    setError(null);
    setPlan(null);
    setApplied(false);
    const body = await parse(text);
    if (!body) return;
    setBusy(true);
    try {
      setPlan({ text, plan: await planConfig(scope, body) });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  const apply = async () => {
    if (!plan) return;
    const body = await parse(plan.text);
    if (!body) return;
    setBusy(true);
    setError(null);
    try {
      await applyConfig(scope, body);
      setApplied(true);
      setPlan(null);
      setText(null);
      refresh();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  if (config.isPending || (config.data && text === null)) return <Loading label="Loading the config…" />;
  if (config.isError) return <ErrorNotice error={config.error} onRetry={() => config.refetch()} />;
  const planned = plan !== null && plan.text === text;
  const nothing = plan && plan.plan.install.length + plan.plan.update.length + plan.plan.remove.length === 0;
  return (
    <section aria-labelledby="config-title" className="space-y-3">
      <h2 id="config-title" className="text-lg font-semibold">
        Config
      </h2>
      <p className="text-sm text-slate-700 dark:text-slate-300">
        The whole config (version v2). Its <span className="font-mono">capabilities</span> list is what the
        runtime binds: applying it installs what is missing, changes versions and switches, and removes what
        is not listed.
      </p>
      <label htmlFor="config-yaml" className="block text-sm font-medium">
        config.yaml
      </label>
      <textarea
        id="config-yaml"
        value={text ?? ""}
        readOnly={!canWrite}
        onChange={(event) => {
          setText(event.target.value);
          setApplied(false);
        }}
        spellCheck={false}
        rows={16}
        aria-invalid={parseError ? true : undefined}
        aria-describedby={parseError ? "config-yaml-error" : undefined}
        className="w-full rounded border border-slate-300 bg-white p-2 font-mono text-sm dark:border-slate-600 dark:bg-slate-950"
      />
      {parseError && (
        <p id="config-yaml-error" role="alert" className="text-sm text-red-700 dark:text-red-300">
          Not valid YAML: {parseError}
        </p>
      )}
      {error !== null && <ErrorNotice error={error} />}
      {applied && (
        <p role="status" className="text-sm text-green-800 dark:text-green-300" data-testid="config-applied">
          Applied.
        </p>
      )}
      {canWrite && (
        <div className="flex flex-wrap gap-2">
          <Button onClick={() => void preview()} disabled={busy}>
            Preview the plan
          </Button>
          <Button variant="primary" onClick={() => void apply()} disabled={busy || !planned}>
            Apply
          </Button>
        </div>
      )}
      {plan && (
        <div
          className="rounded border border-slate-300 p-3 text-sm dark:border-slate-700"
          data-testid="config-plan"
        >
          <h3 className="font-semibold">Plan{planned ? "" : " (for an earlier text: preview again)"}</h3>
          {nothing ? (
            <EmptyState title="No binding changes" />
          ) : (
            <ul className="mt-1 space-y-0.5 font-mono text-xs">
              {plan.plan.install.map((i) => (
                <li key={`i-${i.name}`} data-plan="install" data-name={i.name}>
                  + install {i.name}@{i.version}
                  {i.enabled ? "" : " (disabled)"}
                </li>
              ))}
              {plan.plan.update.map((u) => (
                <li key={`u-${u.name}`} data-plan="update" data-name={u.name}>
                  ~ update {u.name} {u.from} → {u.to}
                  {u.enabled ? "" : " (disabled)"}
                </li>
              ))}
              {plan.plan.remove.map((r) => (
                <li key={`r-${r.name}`} data-plan="remove" data-name={r.name}>
                  − remove {r.name}@{r.version}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
