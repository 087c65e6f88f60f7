// The typed HTTP client every command talks through: base URL, key, User-Agent (SPEC §2.5), and
// the error envelope (SPEC §2.4) turned into an ApiError. The server may be broken or hostile: bodies
// are read with a size cap and every request has a timeout.
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
  /** The deadline for the whole answer, when it differs from the client's (a held watch request). */
  timeoutMs?: number;
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

/**
 * The largest JSON answer read: the biggest legitimate ones (a page of at most 100 items, a
 * runtime's resolved set) are well under 1 MiB, so 16 MiB leaves ample room while a broken or
 * hostile server can no longer exhaust memory (a 2 GB body once took the CLI to 17 GB and a V8 crash).
 */
export const MAX_JSON_BODY_BYTES = 16 * 1024 * 1024;
/** An error envelope is a few hundred bytes; past this, the rest is a proxy's page or garbage. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
/**
 * A JSON request's overall deadline, from the end of the request body to the end of the answer.
 * undici's own timeouts restart with every chunk, so a server trickling a byte at a time, or never
 * answering at all, held the CLI (and a runtime's sync) forever.
 */
export const REQUEST_TIMEOUT_MS = 60_000;
/**
 * Bundle transfers may legitimately take long on a slow link: they fail only when no byte has moved
 * for this long, both while a download's body arrives and while an upload's body is being sent.
 */
export const IDLE_TIMEOUT_MS = 30_000;

/** Arms a timeout and returns what cancels it. */
export type SetTimer = (callback: () => void, ms: number) => () => void;

const realTimer: SetTimer = (callback, ms) => {
  const timer = setTimeout(callback, ms);
  return () => clearTimeout(timer);
};

export interface ApiClientOptions {
  baseUrl: string;
  token: string | null;
  userAgent: string;
  /** Defaults to REQUEST_TIMEOUT_MS and IDLE_TIMEOUT_MS; tests shorten them. */
  requestTimeoutMs?: number;
  idleTimeoutMs?: number;
  /**
   * Defaults to setTimeout. Whether a timeout must not fire while bytes keep moving cannot be shown
   * with real timers without racing them against I/O, so tests substitute a clock they move by hand.
   */
  setTimer?: SetTimer;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly requestTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly setTimer: SetTimer;

  constructor(private readonly options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    this.setTimer = options.setTimer ?? realTimer;
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
    const timer = new RequestTimer(options.signal, this.setTimer);
    const shown = withoutQuery(url);
    const requestTimeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const deadline = `no complete answer from ${shown} within ${seconds(requestTimeoutMs)}`;
    const awaitAnswer = () => timer.start(requestTimeoutMs, deadline);
    let body: string | ReadableStream<Uint8Array> | undefined;
    if (options.raw !== undefined) {
      headers["content-type"] = options.raw.contentType;
      headers["content-length"] = String(options.raw.data.length);
      // A large bundle on a slow link takes long to send: while it goes, only a stall fails it, and
      // the deadline for the answer starts once the whole body has been handed over.
      const stalled = `nothing could be sent to ${shown} for ${seconds(this.idleTimeoutMs)}`;
      const keepSending = () => timer.start(this.idleTimeoutMs, stalled);
      const { onProgress } = options.raw;
      keepSending();
      body = uploadStream(
        options.raw.data,
        (sent) => {
          keepSending();
          onProgress?.(sent);
        },
        awaitAnswer,
      );
    } else {
      if (options.json !== undefined) {
        headers["content-type"] = "application/json";
        body = JSON.stringify(options.json);
      }
      awaitAnswer();
    }
    try {
      const response = await send(url, { method, headers, body }, timer);
      const accepted = response.ok || (options.accept ?? []).includes(response.status);
      if (!accepted) throw await apiErrorOf(response);
      const { text, complete } = await readBody(response, MAX_JSON_BODY_BYTES).catch((error) => {
        throw timer.failure(error, (reason) => brokeOff(shown, reason));
      });
      if (!complete) {
        throw new ApiError(
          response.status,
          "invalid_response",
          `the answer from ${shown} is larger than ${MAX_JSON_BODY_BYTES} bytes`,
        );
      }
      return { status: response.status, headers: response.headers, body: parseJson(response, text) as T };
    } finally {
      timer.end();
    }
  }

  /**
   * A long-lived GET below `/api/v1` (Server-Sent Events): the key is sent, a non-2xx answer throws
   * its envelope as an ApiError, and the body is returned unread. Only the connection has a deadline;
   * the caller decides how long the body may stay silent (a heartbeat is expected).
   */
  async stream(
    path: string,
    options: { query?: RequestOptions["query"]; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const url = `${this.baseUrl}/api/v1${path}${queryString(options.query)}`;
    const headers: Record<string, string> = {
      accept: "text/event-stream",
      "user-agent": this.options.userAgent,
      ...options.headers,
    };
    if (this.options.token !== null) headers.authorization = `Bearer ${this.options.token}`;
    const timer = new RequestTimer(options.signal, this.setTimer);
    timer.start(
      this.requestTimeoutMs,
      `no answer from ${withoutQuery(url)} within ${seconds(this.requestTimeoutMs)}`,
    );
    try {
      const response = await send(url, { method: "GET", headers }, timer);
      if (!response.ok) throw await apiErrorOf(response);
      return response;
    } finally {
      timer.pause();
    }
  }

  /**
   * A signed download URL: no key is sent, since the signature is the credential. The body fails
   * with a NetworkError when nothing arrives for the idle timeout or the connection breaks.
   */
  async download(url: string, signal?: AbortSignal): Promise<Response> {
    const absolute = new URL(url, `${this.baseUrl}/`).toString();
    const shown = withoutQuery(absolute);
    const timer = new RequestTimer(signal, this.setTimer);
    const stalled = `nothing received from ${shown} for ${seconds(this.idleTimeoutMs)}`;
    const waitForData = () => timer.start(this.idleTimeoutMs, stalled);
    // The download URL's origin comes from the server's public URL, not from the profile.
    const forDownload = (error: unknown) =>
      error instanceof NetworkError ? new NetworkError(`cannot download a bundle: ${error.message}`) : error;
    waitForData();
    let response: Response;
    try {
      response = await send(absolute, { headers: { "user-agent": this.options.userAgent } }, timer);
      if (!response.ok) throw await apiErrorOf(response);
    } catch (error) {
      timer.end();
      throw forDownload(error);
    }
    if (response.body === null) {
      timer.end();
      return response;
    }
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        waitForData();
        try {
          const { done, value } = await reader.read();
          timer.pause();
          if (done) {
            timer.end();
            controller.close();
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          timer.end();
          controller.error(forDownload(timer.failure(error, (reason) => brokeOff(shown, reason))));
        }
      },
      cancel(reason) {
        timer.end();
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  }
}

/** A request's timeout, combined with the caller's signal; `start` (re)arms it, `end` retires it. */
class RequestTimer {
  readonly signal: AbortSignal;
  /** Set once the time ran out: the error the request fails with. */
  private expired: NetworkError | null = null;
  private readonly controller = new AbortController();
  private cancel: (() => void) | undefined;
  private ended = false;

  constructor(
    private readonly callerSignal: AbortSignal | undefined,
    private readonly setTimer: SetTimer,
  ) {
    this.signal =
      callerSignal === undefined
        ? this.controller.signal
        : AbortSignal.any([callerSignal, this.controller.signal]);
  }

  /** After `ms`, the request is aborted and fails with `message`. */
  start(ms: number, message: string): void {
    // An upload's body may still be pulled after its answer arrived: that must not arm it again.
    if (this.ended) return;
    this.cancel?.();
    this.cancel = this.setTimer(() => {
      this.expired = new NetworkError(message);
      this.controller.abort(this.expired);
    }, ms);
  }

  /** Until the next `start`: a download's reader may take its time between chunks. */
  pause(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  end(): void {
    this.ended = true;
    this.pause();
  }

  /** What a failed fetch or body read is reported as; the caller's own abort passes through as is. */
  failure(error: unknown, describe: (reason: string) => string): unknown {
    if (this.expired !== null) return this.expired;
    if (this.callerSignal?.aborted) return error;
    return new NetworkError(describe(reasonOf(error)));
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

async function send(
  url: string,
  init: RequestInit & { duplex?: "half" },
  timer: RequestTimer,
): Promise<Response> {
  try {
    // A streamed request body needs half-duplex mode in Node's fetch.
    const streamed = init.body instanceof ReadableStream;
    return await fetch(url, { ...init, signal: timer.signal, ...(streamed ? { duplex: "half" } : {}) });
  } catch (error) {
    throw timer.failure(error, (reason) => `cannot reach ${new URL(url).origin}: ${reason}`);
  }
}

/** `onPull` runs as each chunk is asked for (the socket took the previous one), `onEnd` after the last. */
function uploadStream(
  data: Buffer,
  onPull: (sentBytes: number) => void,
  onEnd: () => void,
): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= data.length) {
        controller.close();
        onEnd();
        return;
      }
      const chunk = data.subarray(offset, offset + UPLOAD_CHUNK_BYTES);
      offset += chunk.length;
      controller.enqueue(chunk);
      onPull(offset);
    },
  });
}

/** The body as text, read as it streams: past `limit` bytes, the rest is cancelled unread. */
async function readBody(response: Response, limit: number): Promise<{ text: string; complete: boolean }> {
  if (response.body === null) return { text: "", complete: true };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: new TextDecoder().decode(Buffer.concat(chunks)), complete: true };
    chunks.push(value);
    size += value.length;
    if (size > limit) {
      reader.cancel().catch(() => {});
      return { text: new TextDecoder().decode(Buffer.concat(chunks).subarray(0, limit)), complete: false };
    }
  }
}

function parseJson(response: Response, text: string): unknown {
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
  // An envelope is small: a body that runs on is cut, and one that breaks off still leaves the status.
  const { text } = await readBody(response, MAX_ERROR_BODY_BYTES).catch(() => ({ text: "" }));
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

/** Signed URLs are credentials until they expire, and queries may carry secrets: messages omit them. */
export function withoutQuery(url: string): string {
  return url.split("?")[0];
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

function brokeOff(shown: string, reason: string): string {
  return `the connection to ${shown} broke off before the whole answer arrived: ${reason}`;
}

/** undici's own codes (UND_ERR_SOCKET) say less than their messages ("other side closed"). */
function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code !== undefined && !cause.code.startsWith("UND_ERR")) return cause.code;
  return cause?.message ?? (error as Error).message;
}

function snippet(text: string): string {
  const line = text.trim().replace(/\s+/g, " ");
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
