// The typed HTTP client every command talks through: base URL, key, User-Agent (SPEC §2.5), and
// the error envelope (SPEC §2.4) turned into an ApiError.
import type { ApiErrorItem, ErrorEnvelope } from "./api-types.js";

export type QueryValue = string | number | boolean | undefined | null | readonly string[];

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is, with `contentType`; `onProgress` sees the bytes as they are handed to the socket. */
  raw?: { data: Buffer; contentType: string; onProgress?: (sentBytes: number) => void };
  headers?: Record<string, string>;
  /** Statuses outside 2xx that are answers rather than errors (304 for If-None-Match). */
  accept?: number[];
  signal?: AbortSignal;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** A non-2xx answer, carrying the server's error envelope. */
export class ApiError extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly status: number,
    readonly type: string,
    readonly detail: string,
    readonly items: ApiErrorItem[] = [],
  ) {
    super(`${type}: ${detail}`);
  }
}

/** The server could not be reached or the connection broke. */
export class NetworkError extends Error {
  override readonly name = "NetworkError";
}

const UPLOAD_CHUNK_BYTES = 64 * 1024;

export interface ApiClientOptions {
  baseUrl: string;
  token: string | null;
  userAgent: string;
}

export class ApiClient {
  readonly baseUrl: string;

  constructor(private readonly options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
  }

  get<T>(path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    return this.request<T>("GET", path, options);
  }

  post<T>(path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    return this.request<T>("POST", path, options);
  }

  put<T>(path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    return this.request<T>("PUT", path, options);
  }

  patch<T>(path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    return this.request<T>("PATCH", path, options);
  }

  delete(path: string, options: RequestOptions = {}): Promise<ApiResponse<null>> {
    return this.request<null>("DELETE", path, options);
  }

  /** `path` is below `/api/v1`; its parameters must already be encoded (see `apiPath`). */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const url = `${this.baseUrl}/api/v1${path}${queryString(options.query)}`;
    const headers: Record<string, string> = {
      accept: "application/json",
      "user-agent": this.options.userAgent,
      ...options.headers,
    };
    if (this.options.token !== null) headers.authorization = `Bearer ${this.options.token}`;
    let body: string | ReadableStream<Uint8Array> | undefined;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.raw !== undefined) {
      headers["content-type"] = options.raw.contentType;
      headers["content-length"] = String(options.raw.data.length);
      body = uploadStream(options.raw.data, options.raw.onProgress);
    }
    const response = await send(url, { method, headers, body, signal: options.signal });
    const accepted = response.ok || (options.accept ?? []).includes(response.status);
    if (!accepted) throw await apiErrorOf(response);
    return { status: response.status, headers: response.headers, body: (await readJson(response)) as T };
  }

  /** A signed download URL: no key is sent, since the signature is the credential. */
  async download(url: string, signal?: AbortSignal): Promise<Response> {
    const absolute = new URL(url, `${this.baseUrl}/`).toString();
    const response = await send(absolute, {
      headers: { "user-agent": this.options.userAgent },
      signal,
    }).catch((error) => {
      // The download URL's origin comes from the server's public URL, not from the profile.
      if (error instanceof NetworkError) throw new NetworkError(`cannot download a bundle: ${error.message}`);
      throw error;
    });
    if (!response.ok) throw await apiErrorOf(response);
    return response;
  }
}

/** Encodes each interpolated value as one path segment: `apiPath\`/org/${org}/capabilities/${name}\``. */
export function apiPath(strings: TemplateStringsArray, ...values: string[]): string {
  return strings.reduce((path, text, index) => {
    const value = index < values.length ? encodeURIComponent(values[index]) : "";
    return path + text + value;
  }, "");
}

function queryString(query: Record<string, QueryValue> | undefined): string {
  if (query === undefined) return "";
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) params.append(name, item);
    else params.append(name, String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

async function send(url: string, init: RequestInit & { duplex?: "half" }): Promise<Response> {
  try {
    // A streamed request body needs half-duplex mode in Node's fetch.
    return await fetch(url, init.body instanceof ReadableStream ? { ...init, duplex: "half" } : init);
  } catch (error) {
    if (init.signal?.aborted) throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new NetworkError(`cannot reach ${new URL(url).origin}: ${reason}`);
  }
}

function uploadStream(data: Buffer, onProgress?: (sentBytes: number) => void): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= data.length) {
        controller.close();
        return;
      }
      const chunk = data.subarray(offset, offset + UPLOAD_CHUNK_BYTES);
      offset += chunk.length;
      controller.enqueue(chunk);
      onProgress?.(offset);
    },
  });
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(
      response.status,
      "invalid_response",
      `the server sent a body that is not JSON: ${snippet(text)}`,
    );
  }
}

async function apiErrorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  const envelope = parseEnvelope(text);
  if (envelope !== null) {
    return new ApiError(response.status, envelope.type, envelope.detail, envelope.errors ?? []);
  }
  // Not Capstan's envelope: a proxy or another server answered.
  const detail = text.trim() === "" ? response.statusText || "no details" : snippet(text);
  return new ApiError(response.status, `http_${response.status}`, detail);
}

function parseEnvelope(text: string): ErrorEnvelope | null {
  try {
    const value = JSON.parse(text) as Partial<ErrorEnvelope>;
    return typeof value?.type === "string" && typeof value.detail === "string"
      ? (value as ErrorEnvelope)
      : null;
  } catch {
    return null;
  }
}

function snippet(text: string): string {
  const line = text.trim().replace(/\s+/g, " ");
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
