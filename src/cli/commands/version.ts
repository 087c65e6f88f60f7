// `capstan --version`: the CLI's version and, when a server is configured, the server's (from the
// header of its /healthz). An unreachable server is reported, not an error: the CLI's version is
// what was asked for first.
import { cliVersion } from "../cli-version.js";
import type { CommandSpec } from "../command.js";

/** Short: --version must answer promptly even when the configured server is down or far away. */
export const SERVER_VERSION_TIMEOUT_MS = 3000;

interface ServerVersion {
  url: string;
  reachable: boolean;
  version: string | null;
  error?: string;
}

export const versionCommand: CommandSpec = {
  name: "version",
  summary: "Print the CLI's version and the configured server's",
  details: `Also 'capstan --version'. The server's version is asked for (GET /healthz, no key needed)
when a profile or CAPSTAN_URL names a server; an unreachable server is reported and the exit code
stays 0.`,
  async run(ctx) {
    // A broken config file must not hide the CLI's own version: that is what was asked for first.
    const url = await ctx.connection().then(
      (connection) => connection.url,
      (error: Error) => {
        ctx.out.note(`capstan: cannot tell which server to ask: ${error.message}`);
        return null;
      },
    );
    const server = url === null ? null : await serverVersion(url);
    if (ctx.json) {
      ctx.out.data({ cli: cliVersion(), server });
      return;
    }
    ctx.out.line(`capstan-cli ${cliVersion()}`);
    if (server === null) return;
    if (server.reachable) {
      ctx.out.line(`server ${server.url}: ${server.version ?? "version not reported (an older server?)"}`);
    } else ctx.out.line(`server ${server.url}: unreachable (${server.error})`);
  },
};

async function serverVersion(url: string): Promise<ServerVersion> {
  const base = url.replace(/\/+$/, "");
  try {
    const response = await fetch(`${base}/healthz`, {
      signal: AbortSignal.timeout(SERVER_VERSION_TIMEOUT_MS),
      headers: { accept: "application/json" },
    });
    await response.body?.cancel();
    if (!response.ok) return { url: base, reachable: false, version: null, error: `HTTP ${response.status}` };
    const reported = response.headers.get("x-capstan-version");
    // Printed to a terminal: only something that looks like a version, never a server's arbitrary text.
    const version = reported !== null && /^[0-9A-Za-z.+-]{1,64}$/.test(reported) ? reported : null;
    return { url: base, reachable: true, version };
  } catch (error) {
    const reason =
      error instanceof Error && error.name === "TimeoutError"
        ? `no answer within ${SERVER_VERSION_TIMEOUT_MS / 1000} s`
        : causeOf(error);
    return { url: base, reachable: false, version: null, error: reason };
  }
}

function causeOf(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
