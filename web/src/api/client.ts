// The one way the console talks to the API: openapi-fetch typed from the committed
// openapi/openapi.json (generated into schema.d.ts at build time), so a contract change breaks the
// console's typecheck rather than its users. Every call sends the session's key; a 401 anywhere
// signs the user out and sends them to the sign-in screen with the envelope's detail.
import createClient, { type Middleware } from "openapi-fetch";
import { ApiError, type Envelope, isEnvelope } from "../lib/envelope";
import type { paths } from "./schema";
import { session } from "./session";

type UnauthorizedHandler = (envelope: Envelope) => void;
let onUnauthorized: UnauthorizedHandler = () => {};

/** main.tsx routes a 401 to the sign-in screen. */
export function setUnauthorizedHandler(handler: UnauthorizedHandler): void {
  onUnauthorized = handler;
}

const authenticate: Middleware = {
  onRequest({ request }) {
    const key = session.key();
    if (key) request.headers.set("Authorization", `Bearer ${key}`);
    request.headers.set("Accept", "application/json");
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin });
api.use(authenticate);

async function envelopeOf(response: Response, body: unknown): Promise<Envelope> {
  if (isEnvelope(body)) return body;
  return { code: response.status, type: "server_error", detail: `${response.status} ${response.statusText}` };
}

/** The data of a call, or an ApiError carrying the envelope (401 also signs out). */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    const envelope = await envelopeOf(response, error);
    if (response.status === 401) {
      session.signOut(envelope.detail);
      onUnauthorized(envelope);
    }
    throw new ApiError(envelope);
  }
  return data as T;
}

/** Raw bytes of a path the typed client cannot express (a capability file under `files/{*}`). */
export async function fetchRaw(path: string): Promise<Response> {
  const key = session.key();
  const response = await fetch(path, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  if (!response.ok) {
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    const envelope = await envelopeOf(response, body);
    if (response.status === 401) {
      session.signOut(envelope.detail);
      onUnauthorized(envelope);
    }
    throw new ApiError(envelope);
  }
  return response;
}
