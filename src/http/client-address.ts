// Who sent a request, behind a reverse proxy or not (CAPSTAN_TRUST_PROXY). Fastify works this out
// for its routes with its `trustProxy` option; the fast lane answers before Fastify and logs the
// same request fields, so both take the one trust function built here.
import type { IncomingMessage } from "node:http";
import proxyAddr from "@fastify/proxy-addr";
import type { TrustProxy } from "../config.js";

/** Whether the peer at `address`, `hop` steps from the server, is a proxy whose headers count. */
export type ProxyTrust = (address: string, hop: number) => boolean;

/** The trust function of a CAPSTAN_TRUST_PROXY setting; false when no proxy is trusted. */
export function proxyTrust(setting: TrustProxy): ProxyTrust | false {
  if (setting === false) return false;
  if (setting === true) return () => true;
  return proxyAddr.compile([...setting]);
}

/**
 * The client's address and the host it asked for, as Fastify's `request.ip` and `request.host`
 * give them under the same trust: the forwarded values only when the socket's peer is trusted.
 */
export function clientOf(
  request: IncomingMessage,
  trust: ProxyTrust | false,
): { ip: string | undefined; host: string | undefined } {
  const host = request.headers.host;
  if (trust === false) return { ip: request.socket.remoteAddress, host };
  const forwardedHost = request.headers["x-forwarded-host"];
  const peer = request.socket.remoteAddress;
  return {
    ip: proxyAddr.all(request, trust).at(-1),
    host:
      typeof forwardedHost === "string" && forwardedHost !== "" && peer !== undefined && trust(peer, 0)
        ? lastEntry(forwardedHost)
        : host,
  };
}

/** A header sent more than once arrives comma-joined; the proxy nearest to us added the last one. */
function lastEntry(value: string): string {
  return value.slice(value.lastIndexOf(",") + 1).trim();
}
