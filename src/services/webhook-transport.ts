// Sends one webhook message (SPEC §15) without letting the URL reach what it must not.
//
// SSRF: a webhook URL is checked when it is registered, but DNS may answer differently later
// (rebinding), so the check that counts is made on the address actually connected to: the request's
// own `lookup` refuses a host name when any of its addresses is forbidden, and the socket's peer
// address is checked again once connected (it also covers IP literals, which skip the lookup).
// Redirects are never followed (a 3xx is a failed attempt), so a public endpoint cannot bounce the
// request inwards. Connections to an endpoint are kept alive and reused while it has deliveries
// (WebhookAgents); only new sockets need the checks, and each new one gets both. Only the first 1 KiB of a response is read; then the connection is dropped.
import { lookup as dnsLookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { WEBHOOK_RESPONSE_EXCERPT_BYTES } from "../domain/webhooks.js";

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Every address of a host name (tests inject their own to play DNS rebinding). */
export type ResolveHost = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolve: ResolveHost = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface TargetPolicy {
  /** CAPSTAN_WEBHOOK_ALLOW_PRIVATE: loopback and private targets allowed (tests, labs). */
  allowPrivate: boolean;
  resolve: ResolveHost;
}

const FORBIDDEN = new net.BlockList();
const RANGES: [string, number, "ipv4" | "ipv6", string][] = [
  ["0.0.0.0", 8, "ipv4", "unspecified"],
  ["10.0.0.0", 8, "ipv4", "private"],
  ["100.64.0.0", 10, "ipv4", "shared (CGNAT)"],
  ["127.0.0.0", 8, "ipv4", "loopback"],
  ["169.254.0.0", 16, "ipv4", "link-local (cloud metadata)"],
  ["172.16.0.0", 12, "ipv4", "private"],
  ["192.0.0.0", 24, "ipv4", "IETF protocol"],
  ["192.0.2.0", 24, "ipv4", "documentation"],
  ["192.88.99.0", 24, "ipv4", "6to4 relay"],
  ["192.168.0.0", 16, "ipv4", "private"],
  ["198.18.0.0", 15, "ipv4", "benchmarking"],
  ["198.51.100.0", 24, "ipv4", "documentation"],
  ["203.0.113.0", 24, "ipv4", "documentation"],
  ["224.0.0.0", 4, "ipv4", "multicast"],
  ["240.0.0.0", 4, "ipv4", "reserved"],
  ["::", 128, "ipv6", "unspecified"],
  ["::1", 128, "ipv6", "loopback"],
  ["::", 96, "ipv6", "IPv4-compatible"],
  ["::ffff:0:0:0", 96, "ipv6", "IPv4-translated"],
  ["2001::", 32, "ipv6", "Teredo"],
  ["64:ff9b::", 96, "ipv6", "NAT64"],
  ["64:ff9b:1::", 48, "ipv6", "NAT64"],
  ["100::", 64, "ipv6", "discard"],
  ["2001:db8::", 32, "ipv6", "documentation"],
  ["2002::", 16, "ipv6", "6to4"],
  ["fc00::", 7, "ipv6", "unique-local"],
  ["fe80::", 10, "ipv6", "link-local"],
  ["fec0::", 10, "ipv6", "site-local"],
  ["ff00::", 8, "ipv6", "multicast"],
];
for (const [prefix, bits, family] of RANGES) FORBIDDEN.addSubnet(prefix, bits, family);

/**
 * Why a webhook may not connect to `address` (an IP literal), or null when it may. IPv4-mapped IPv6
 * addresses (`::ffff:127.0.0.1`) are judged as the IPv4 address they carry.
 */
export function forbiddenAddressReason(address: string): string | null {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const family = net.isIP(bare);
  if (family === 0) return `'${address}' is not an IP address`;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(mappedAsDotted(bare));
  const [ip, kind] = mapped
    ? [mapped[1], "ipv4" as const]
    : [bare, family === 4 ? ("ipv4" as const) : ("ipv6" as const)];
  if (!FORBIDDEN.check(ip, kind)) return null;
  for (const [prefix, bits, rangeFamily, name] of RANGES) {
    if (rangeFamily !== kind) continue;
    const one = new net.BlockList();
    one.addSubnet(prefix, bits, rangeFamily);
    if (one.check(ip, kind)) return `${address} is a ${name} address`;
  }
  return `${address} is not a public address`;
}

/** `::ffff:7f00:1` (how URLs and resolvers print a mapped address) as `::ffff:127.0.0.1`. */
function mappedAsDotted(address: string): string {
  const hex = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return address;
  const high = Number.parseInt(hex[1], 16);
  const low = Number.parseInt(hex[2], 16);
  return `::ffff:${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

export class ForbiddenTargetError extends Error {
  readonly code = "EWEBHOOKTARGET";
}

/** Resolves `hostname` and refuses it when any of its addresses is forbidden. */
async function resolveAllowed(hostname: string, policy: TargetPolicy): Promise<ResolvedAddress[]> {
  const addresses = await policy.resolve(hostname);
  if (addresses.length === 0) throw new Error(`${hostname} has no address`);
  if (!policy.allowPrivate) {
    for (const { address } of addresses) {
      const reason = forbiddenAddressReason(address);
      if (reason)
        throw new ForbiddenTargetError(
          `${hostname} resolves to ${address}: ${reason.replace(`${address} `, "")}`,
        );
    }
  }
  return addresses;
}

/**
 * Why `url` cannot be a webhook target, or null: http(s) only, no credentials in it, and (unless
 * private targets are allowed) a host that is or resolves only to public addresses.
 */
export async function webhookUrlProblem(url: string, policy: TargetPolicy): Promise<string | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an absolute http or https URL";
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return "must be an http or https URL";
  if (parsed.username !== "" || parsed.password !== "") return "must not carry credentials (user:password@)";
  if (parsed.hash !== "") return "must not have a fragment";
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (policy.allowPrivate) return null;
  if (net.isIP(host) !== 0) return forbiddenAddressReason(host);
  try {
    await resolveAllowed(host, policy);
  } catch (error) {
    if (error instanceof ForbiddenTargetError) return `is refused: ${error.message}`;
    return `its host ${host} does not resolve`;
  }
  return null;
}

export interface SendOutcome {
  statusCode: number | null;
  /** The first 1 KiB of the response body (UTF-8, lossy). */
  response: string | null;
  error: string | null;
  durationMs: number;
}

export interface SendOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Keep-alive connections to reuse (one set per endpoint); without it, a connection per request. */
  agents?: WebhookAgents;
}

/**
 * Keep-alive agents for one endpoint, at most `maxSockets` connections each. A reused connection
 * was checked when it was opened: every new socket still goes through the request's `lookup` (the
 * host's addresses) and the connect-time peer check below, so pooling skips no SSRF check.
 */
export class WebhookAgents {
  private httpAgent: http.Agent | null = null;
  private httpsAgent: https.Agent | null = null;

  constructor(private readonly maxSockets: number) {}

  for(protocol: string): http.Agent {
    const options = { keepAlive: true, maxSockets: this.maxSockets, maxFreeSockets: this.maxSockets };
    if (protocol === "https:") {
      this.httpsAgent ??= new https.Agent(options);
      return this.httpsAgent;
    }
    this.httpAgent ??= new http.Agent(options);
    return this.httpAgent;
  }

  /** Closes the idle connections (and any still open). */
  destroy(): void {
    this.httpAgent?.destroy();
    this.httpsAgent?.destroy();
  }
}

/** Sockets whose connected peer address passed the check (a pooled socket is not checked twice). */
const checkedSockets = new WeakSet<net.Socket>();

/** POSTs `body` to `url` with `headers`; resolves (never rejects) with what happened. */
export function sendWebhookRequest(
  url: string,
  headers: Record<string, string>,
  body: string,
  policy: TargetPolicy,
  options: SendOptions,
): Promise<SendOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<SendOutcome, "durationMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve({ ...outcome, durationMs: elapsed() });
    };
    const fail = (error: unknown) =>
      finish({ statusCode: null, response: null, error: describeError(error, options.timeoutMs) });

    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return fail(new Error("the URL is not valid"));
    }
    const literal = target.hostname.replace(/^\[|\]$/g, "");
    if (!policy.allowPrivate && net.isIP(literal) !== 0) {
      const reason = forbiddenAddressReason(literal);
      if (reason) return fail(new ForbiddenTargetError(`refused: ${reason}`));
    }
    const client = target.protocol === "https:" ? https : http;
    const payload = Buffer.from(body, "utf8");
    const request = client.request(target, {
      method: "POST",
      agent: options.agents ? options.agents.for(target.protocol) : false,
      headers: { ...headers, "content-length": String(payload.length) },
      lookup: (hostname, lookupOptions, callback) => {
        resolveAllowed(hostname, policy).then(
          (addresses) => {
            const wanted =
              lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : 0;
            const usable = wanted === 0 ? addresses : addresses.filter((a) => a.family === wanted);
            if (usable.length === 0)
              return callback(new Error(`${hostname} has no IPv${wanted} address`), "", 4);
            if (lookupOptions.all)
              return (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, usable);
            callback(null, usable[0].address, usable[0].family);
          },
          (error: Error) => callback(error as NodeJS.ErrnoException, "", 4),
        );
      },
    });
    const timer = setTimeout(() => request.destroy(new TimeoutError()), options.timeoutMs);
    const onAbort = () => request.destroy(new Error("the server is shutting down"));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    request.on("socket", (socket) => {
      const check = () => {
        const peer = socket.remoteAddress ?? "";
        const reason = policy.allowPrivate ? null : forbiddenAddressReason(peer);
        if (reason) request.destroy(new ForbiddenTargetError(`refused at connect: ${reason}`));
        else checkedSockets.add(socket);
      };
      // A new socket is checked once connected; a pooled one was checked then (never a second
      // listener on it). One that is somehow connected yet unchecked is checked now.
      if (checkedSockets.has(socket)) return;
      if (socket.connecting) socket.once("connect", check);
      else check();
    });
    request.on("error", fail);
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      const done = () =>
        finish({
          statusCode: response.statusCode ?? null,
          response: Buffer.concat(chunks).toString("utf8"),
          error: null,
        });
      response.on("data", (chunk: Buffer) => {
        if (kept >= WEBHOOK_RESPONSE_EXCERPT_BYTES) return;
        const part = chunk.subarray(0, WEBHOOK_RESPONSE_EXCERPT_BYTES - kept);
        chunks.push(part);
        kept += part.length;
        if (kept >= WEBHOOK_RESPONSE_EXCERPT_BYTES) {
          done();
          response.destroy();
        }
      });
      response.on("end", done);
      response.on("error", done);
      response.on("close", done);
    });
    request.end(payload);
  });
}

class TimeoutError extends Error {}

function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof TimeoutError) return `no answer within ${timeoutMs / 1000} s`;
  if (error instanceof ForbiddenTargetError) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  return (code && !message.includes(code) ? `${code}: ${message}` : message).slice(0, 500);
}
