// Sign-in (SPEC §10): paste an API key; it is kept in sessionStorage and checked with who-am-I.
import { useQueryClient } from "@tanstack/react-query";
import { createRoute, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { session } from "../api/session";
import { meQuery } from "../api/user";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { rootRoute } from "./root";

interface SignInSearch {
  message?: string;
  redirect?: string;
}

/** Only a path of this console: never another origin (`//host`) from a crafted link. */
export function safeRedirect(target: string | undefined): string {
  return target?.startsWith("/") && !target.startsWith("//") && !target.startsWith("/sign-in") ? target : "/";
}

export const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/sign-in",
  validateSearch: (search: Record<string, unknown>): SignInSearch => ({
    message: typeof search.message === "string" ? search.message : undefined,
    redirect: typeof search.redirect === "string" ? search.redirect : undefined,
  }),
  component: SignIn,
});

function SignIn() {
  const search = signInRoute.useSearch();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [key, setKey] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    session.signIn(key.trim());
    try {
      queryClient.clear();
      await queryClient.fetchQuery(meQuery);
      await navigate({ href: safeRedirect(search.redirect), replace: true });
    } catch (failure) {
      session.signOut();
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <div className="w-full max-w-md rounded-lg border border-slate-300 bg-white p-6 shadow-sm dark:border-slate-700 dark:bg-slate-900">
        <h1 className="text-2xl font-semibold">Sign in to Capstan</h1>
        <p className="mt-1 text-sm text-slate-600 dark:text-slate-300">
          Paste an API key (<code className="font-mono">cst_…</code>). It stays in this browser tab and is
          forgotten when you close it or sign out.
        </p>
        <form className="mt-4 space-y-3" onSubmit={submit}>
          <div>
            <label htmlFor="api-key" className="block text-sm font-medium">
              API key
            </label>
            <input
              id="api-key"
              name="api-key"
              type="password"
              autoComplete="off"
              spellCheck={false}
              required
              value={key}
              onChange={(event) => setKey(event.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={error || search.message ? "sign-in-error" : undefined}
              className="mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1.5 font-mono text-sm dark:border-slate-600 dark:bg-slate-950"
            />
          </div>
          <div id="sign-in-error">
            {error !== null ? (
              <ErrorNotice error={error} title="That key was not accepted" />
            ) : (
              search.message && (
                <ErrorNotice
                  error={{ code: 401, type: "authentication_error", detail: search.message }}
                  title="You were signed out"
                />
              )
            )}
          </div>
          <Button type="submit" variant="primary" disabled={busy || key.trim() === ""}>
            {busy ? "Signing in…" : "Sign in"}
          </Button>
        </form>
      </div>
    </main>
  );
}
