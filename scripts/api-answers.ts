// Shared by the backup and upgrade tests and scripts/make-upgrade-fixture.ts: every read answer of
// an instance, keyed by request, to compare two instances (a restored one with the snapshot it came
// from; a migrated fixture with the answers recorded when it was made). Walks every org the key
// belongs to: its workspaces, projects, runtimes (bindings, resolved sets, config), secrets (names
// only), capabilities (every version's detail, files, signatures, tags), signing keys, members and
// audit events. Values that depend on the moment of the request, not on the data, are normalised.

export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** One GET with the caller's key, answering the status and the parsed JSON body. */
export type ApiGet = (url: string) => Promise<ApiAnswer>;

const API = "/api/v1";

export async function captureApiAnswers(get: ApiGet): Promise<Record<string, ApiAnswer>> {
  const answers: Record<string, ApiAnswer> = {};
  const read = async (url: string): Promise<unknown> => {
    const answer = await get(url);
    answers[url] = { status: answer.status, body: normalise(answer.body) };
    return answer.status === 200 ? answer.body : null;
  };
  const orgs = ((await read(`${API}/user/organizations`)) ?? []) as Array<{ key: string }>;
  for (const { key: org } of orgs) {
    const base = `${API}/org/${org}`;
    await read(base);
    await read(`${base}/members`);
    await read(`${base}/signing-keys`);
    await read(`${base}/audit?limit=100`);
    const workspaces = (
      (await read(`${base}/ws?page=1&page_size=100`)) as { workspaces?: Array<{ key: string }> }
    )?.workspaces;
    for (const { key: ws } of workspaces ?? []) {
      const wsBase = `${base}/ws/${ws}`;
      await read(wsBase);
      await read(`${wsBase}/projects`);
      await read(`${wsBase}/secrets`);
      let cursor: string | null = null;
      do {
        const query: string =
          cursor === null ? "limit=100" : `limit=100&cursor=${encodeURIComponent(cursor)}`;
        const page = (await read(`${wsBase}/runtimes?${query}`)) as {
          items: Array<{ id: string }>;
          next_cursor: string | null;
        } | null;
        for (const { id } of page?.items ?? []) {
          const runtime = `${wsBase}/runtimes/${id}`;
          await read(runtime);
          await read(`${runtime}/config`);
          await read(`${runtime}/capabilities`);
          await read(`${runtime}/capabilities/resolved`);
        }
        cursor = page?.next_cursor ?? null;
      } while (cursor !== null);
    }
    const list = (await read(`${base}/capabilities?page=1&limit=100`)) as {
      capabilities?: Array<{ name: string }>;
    } | null;
    for (const { name } of list?.capabilities ?? []) {
      const capability = `${base}/capabilities/${name}`;
      await read(capability);
      await read(`${capability}/tags`);
      const versions = (await read(`${capability}/versions`)) as {
        versions?: Array<{ version: string }>;
      } | null;
      for (const { version } of versions?.versions ?? []) {
        await read(`${capability}/${version}`);
        await read(`${capability}/${version}/files`);
        await read(`${capability}/${version}/signatures`);
      }
    }
  }
  return answers;
}

/** Signed download URLs carry an expiry counted from the request; `last_used_at` moves with every use of a key. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === "last_used_at") continue;
    if ((key === "download_url" || key.endsWith("_url")) && typeof item === "string") {
      out[key] = item.replace(/\?.*$/, "?<signed>");
    } else {
      out[key] = normalise(item);
    }
  }
  return out;
}
