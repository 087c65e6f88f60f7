// Limits on what one client can hold open (issue #12): Node times out a request's headers but not
// its body, so 300 connections each trickling a declared 1 MB body a byte at a time were held open
// indefinitely. Two guards, on the node:http server itself, so they cover every request (the fast
// lane's, Fastify's, and bodies nobody reads that Node drains to reuse the connection):
//
// - A request body must keep up a minimum average rate once its grace period is over: after
//   `bodyTimeoutMs`, it must have delivered `bodyMinBytesPerSecond` for every further second. A
//   50 MiB bundle on a slow but honest link is never cut; a trickle is, within a bounded time. Time
//   the server itself spends not reading (the body waits unread in its buffer) is not counted.
// - At most `maxConnectionsPerClient` open connections per socket peer; one more is answered 429 and
//   closed at once. Peers named by CAPSTAN_TRUST_PROXY are exempt: a proxy carries many clients.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { AppError } from "../errors.js";
import type { ProxyTrust } from "./client-address.js";
import { answerOnSocket } from "./error-handler.js";

export interface ConnectionLimits {
  /** The grace period of a request body before the minimum rate applies. */
  bodyTimeoutMs: number;
  /** The average rate a body must keep up after its grace period. */
  bodyMinBytesPerSecond: number;
  /** The largest body any route accepts: with the grace period, it bounds how long any body may take. */
  maxBodyBytes: number;
  /** Open connections per socket peer; 0 = no limit. */
  maxConnectionsPerClient: number;
}

interface WatchedBody {
  request: IncomingMessage;
  response: ServerResponse;
  socket: Socket;
  startedAt: number;
  /** Socket bytes read when the headers were in: what came after is body. */
  startBytes: number;
  lastCheckAt: number;
  /** Time the body sat unread in the server's buffer: the server was the slow one then. */
  serverMs: number;
}

export function guardConnections(
  server: Server,
  limits: ConnectionLimits,
  trust: ProxyTrust | false,
  log: Logger,
  clock: () => number = performance.now.bind(performance),
): void {
  if (limits.maxConnectionsPerClient > 0)
    limitConnectionsPerClient(server, limits.maxConnectionsPerClient, trust);
  watchBodies(server, limits, log, clock);
}

function limitConnectionsPerClient(server: Server, limit: number, trust: ProxyTrust | false): void {
  const open = new Map<string, number>();
  server.on("connection", (socket: Socket) => {
    const peer = socket.remoteAddress;
    if (peer === undefined || (trust !== false && trust(peer, 0))) return;
    const count = open.get(peer) ?? 0;
    if (count >= limit) {
      // Answered before the request is read: the client learns why, and when to retry. A client that
      // has already sent its request may see only the connection close.
      answerOnSocket(
        socket,
        "429 Too Many Requests",
        new AppError(
          "usage_limit_exceeded_error",
          `Too many open connections from this address (at most ${limit})`,
        ),
        { "Retry-After": "1" },
      );
      socket.destroy();
      return;
    }
    open.set(peer, count + 1);
    socket.once("close", () => {
      const left = (open.get(peer) ?? 1) - 1;
      if (left > 0) open.set(peer, left);
      else open.delete(peer);
    });
  });
}

function watchBodies(server: Server, limits: ConnectionLimits, log: Logger, clock: () => number): void {
  const watched = new Set<WatchedBody>();
  const msPerByte = 1000 / limits.bodyMinBytesPerSecond;
  // Even the largest body accepted, at exactly the minimum rate, is done by then.
  const longestMs = limits.bodyTimeoutMs + limits.maxBodyBytes * msPerByte;
  // Checked a few times per grace period, and at least once a second.
  const checkEveryMs = Math.min(1000, Math.max(10, Math.floor(limits.bodyTimeoutMs / 4)));
  let ticker: NodeJS.Timeout | null = null;
  let lastTickAt = 0;

  const check = () => {
    const now = clock();
    // A check far later than due means this process was not running (a long task, a GC pause, the
    // machine overloaded): it read nothing meanwhile, through no fault of its clients.
    const stalledMs =
      lastTickAt > 0 && now - lastTickAt > 2 * checkEveryMs ? now - lastTickAt - checkEveryMs : 0;
    lastTickAt = now;
    for (const body of watched) {
      if (body.request.complete || body.socket.destroyed) {
        watched.delete(body);
        continue;
      }
      const sinceLastCheck = now - body.lastCheckAt;
      body.lastCheckAt = now;
      if (body.request.readableLength > 0) {
        body.serverMs += sinceLastCheck;
        continue;
      }
      body.serverMs += Math.min(stalledMs, sinceLastCheck);
      const clientMs = now - body.startedAt - body.serverMs;
      const received = body.socket.bytesRead - body.startBytes;
      if (clientMs > limits.bodyTimeoutMs + received * msPerByte || clientMs > longestMs) {
        watched.delete(body);
        cut(body, received, log);
      }
    }
    if (watched.size === 0 && ticker !== null) {
      clearInterval(ticker);
      ticker = null;
    }
  };

  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    // Most requests (every GET the fast lane answers) have no body: they cost one header lookup.
    const length = request.headers["content-length"];
    const hasBody =
      (length !== undefined && length !== "0") || request.headers["transfer-encoding"] !== undefined;
    if (!hasBody || request.complete) return;
    const now = clock();
    const socket = request.socket;
    watched.add({
      request,
      response,
      socket,
      startedAt: now,
      startBytes: socket.bytesRead,
      lastCheckAt: now,
      serverMs: 0,
    });
    if (ticker === null) {
      lastTickAt = now;
      ticker = setInterval(check, checkEveryMs);
      ticker.unref();
    }
  });
  server.on("close", () => {
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
    watched.clear();
  });
}

function cut(body: WatchedBody, received: number, log: Logger): void {
  log.info(
    { remoteAddress: body.socket.remoteAddress, method: body.request.method, receivedBytes: received },
    "request body too slow; connection closed",
  );
  if (!body.response.headersSent) {
    answerOnSocket(
      body.socket,
      "400 Bad Request",
      new AppError("invalid_error", "The request body was not received in time (too slow)"),
    );
  }
  body.socket.destroy();
}
