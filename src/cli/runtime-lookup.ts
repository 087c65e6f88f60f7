// Finds what a command names: a runtime by key or id (SPEC §9: `RT` = key or id), a binding by the
// capability's name.
import { ApiError, apiPath } from "./api-client.js";
import type { Binding, Runtime, RuntimePage } from "./api-types.js";
import { CliError } from "./cli-errors.js";
import type { WorkspaceScope } from "./command.js";

export interface RuntimeTarget extends WorkspaceScope {
  runtimeId: string;
  /** How to name it in messages: the key when known, else the id. */
  label: string;
  /** `/org/{org}/ws/{workspace}/runtimes/{id}` */
  path: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PAGE_SIZE = 100;

export function workspacePath(scope: WorkspaceScope): string {
  return apiPath`/org/${scope.org}/ws/${scope.workspace}`;
}

export async function resolveRuntime(scope: WorkspaceScope, ref: string): Promise<RuntimeTarget> {
  if (UUID.test(ref)) return target(scope, ref.toLowerCase(), ref.toLowerCase());
  const matches = (await listRuntimes(scope, ref)).filter((runtime) => runtime.key === ref);
  if (matches.length === 0) {
    throw new CliError(
      `no runtime with key '${ref}' in ${scope.org}/${scope.workspace}`,
      [],
      "See 'capstan runtime list'.",
    );
  }
  if (matches.length > 1) {
    const ids = matches.map((runtime) => runtime.id).join(", ");
    throw new CliError(`several runtimes have the key '${ref}' (one per project): name one by id: ${ids}`);
  }
  return target(scope, matches[0].id, ref);
}

/** Every runtime of the workspace, following the cursor. */
export async function listRuntimes(scope: WorkspaceScope, keyForHint?: string): Promise<Runtime[]> {
  const runtimes: Runtime[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  do {
    const page: RuntimePage = await scope.api
      .get<RuntimePage>(`${workspacePath(scope)}/runtimes`, { query: { limit: PAGE_SIZE, cursor } })
      .then((response) => response.body)
      .catch((error) => {
        throw explainRuntimeTokenLimit(error, keyForHint);
      });
    runtimes.push(...page.items);
    // A cursor seen before, or an empty page that points on, would go round forever.
    if (page.next_cursor !== null && (seen.has(page.next_cursor) || page.items.length === 0)) {
      throw new CliError("the server's runtime list does not advance; giving up");
    }
    cursor = page.next_cursor;
    if (cursor !== null) seen.add(cursor);
  } while (cursor !== null);
  return runtimes;
}

export async function listBindings(runtime: RuntimeTarget): Promise<Binding[]> {
  const response = await runtime.api.get<{ items: Binding[] }>(`${runtime.path}/capabilities`);
  return response.body.items;
}

export async function findBinding(runtime: RuntimeTarget, name: string): Promise<Binding> {
  const binding = (await listBindings(runtime)).find((item) => item.capability_name === name);
  if (binding === undefined) {
    throw new CliError(
      `runtime '${runtime.label}' does not bind '${name}'`,
      [],
      `See 'capstan runtime caps ${runtime.label}'.`,
    );
  }
  return binding;
}

function target(scope: WorkspaceScope, runtimeId: string, label: string): RuntimeTarget {
  return { ...scope, runtimeId, label, path: `${workspacePath(scope)}${apiPath`/runtimes/${runtimeId}`}` };
}

/** A runtime token may read only its own runtime, not the list: it has to be named by id. */
function explainRuntimeTokenLimit(error: unknown, key: string | undefined): unknown {
  if (!(error instanceof ApiError) || error.status !== 403 || key === undefined) return error;
  return new CliError(
    `cannot look up runtime '${key}' by key: ${error.detail}`,
    [],
    "A runtime token cannot list runtimes: pass the runtime's id instead of its key.",
  );
}
