// What the logs must never hold (SPEC §2.2): API keys, runtime tokens, the signatures of download
// URLs, and anything a client sends as a credential. Header redaction covers the places code logs
// request headers on purpose; the serializers below shape every request and error record; and a
// last pass over each finished line catches a credential that reached a log some other way (inside
// an error message, a URL in a driver's complaint, a path someone pasted a key into).
import pino from "pino";

/** Header paths pino blanks out wherever a record carries request headers. */
export const REDACTED_HEADER_PATHS = [
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  "headers.authorization",
  'headers["x-api-key"]',
];

export const REDACTED = "[REDACTED]";

/**
 * Query parameters whose value is a credential: the signature of a download URL, and the names
 * clients commonly use to pass a token in a URL (the API ignores them, but they still get logged).
 */
const SECRET_QUERY_NAME = /sig|token|key|secret|pass|auth|cred|code/i;

/**
 * Key-shaped text (`cst_<prefix>_<secret>`, SPEC §2.2), also when it is not quite well formed: the
 * prefix is kept, since listings show it anyway and it tells keys apart when reading a log.
 */
const KEY_LIKE = /(cst_[A-Za-z0-9-]{0,64}_)[A-Za-z0-9]{8,}/g;
/**
 * A query parameter inside any logged text (a JSON string: it ends at `"` or `\`). The name is
 * bounded, so a hostile URL of thousands of characters costs one pass, not one per character.
 */
const QUERY_PARAM_IN_TEXT = /([?&;])([^=&?#\s"\\]{1,64})=([^&#\s"\\]+)/g;

/** `url` with the values of credential-named query parameters replaced (the path is kept as is). */
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return url;
  const query = url.indexOf("?");
  if (query === -1) return url;
  const fragment = url.indexOf("#", query);
  const end = fragment === -1 ? url.length : fragment;
  const params = url
    .slice(query + 1, end)
    .split("&")
    .map((param) => {
      const equals = param.indexOf("=");
      if (equals === -1) return param;
      return SECRET_QUERY_NAME.test(param.slice(0, equals))
        ? `${param.slice(0, equals + 1)}${REDACTED}`
        : param;
    });
  return `${url.slice(0, query + 1)}${params.join("&")}${url.slice(end)}`;
}

/** A webhook signing secret (`whsec_` + base64, SPEC §15). */
const WEBHOOK_SECRET_LIKE = /whsec_[A-Za-z0-9+/=]{8,}/g;

/** The last pass over every log line: key-shaped text and credential-named query values. */
export function redactLine(line: string): string {
  let out = line;
  if (out.includes("cst_")) out = out.replace(KEY_LIKE, `$1${REDACTED}`);
  if (out.includes("whsec_")) out = out.replace(WEBHOOK_SECRET_LIKE, `whsec_${REDACTED}`);
  if (out.includes("=")) {
    out = out.replace(QUERY_PARAM_IN_TEXT, (param, separator: string, name: string) =>
      SECRET_QUERY_NAME.test(name) ? `${separator}${name}=${REDACTED}` : param,
    );
  }
  return out;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * Fastify's `req` serializer with the URL's credentials taken out. Fastify's request object and the
 * fast lane's look-alike both come through here, so both log the same fields.
 */
function serializeRequest(req: LoggedRequest) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    version: req.headers?.["accept-version"],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/**
 * pino's error serializer without Node's `rawPacket`: the bytes of a request the HTTP parser could
 * not read, headers and credentials included.
 */
function serializeError(error: unknown) {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  if (serialized && typeof serialized === "object" && "rawPacket" in serialized) {
    const { rawPacket: _dropped, ...rest } = serialized;
    return rest;
  }
  return serialized;
}

/** The logger options that keep credentials out of every record. */
export const redactingLoggerOptions = {
  redact: REDACTED_HEADER_PATHS,
  serializers: { req: serializeRequest, err: serializeError },
  hooks: { streamWrite: redactLine },
};
