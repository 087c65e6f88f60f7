// Shared by the tests and the benchmarks (test/helpers/webhook-receiver.ts re-exports it).
// A webhook endpoint on 127.0.0.1 that records every request it gets. It can answer with another
// status, or hold requests without answering (a slow endpoint), and be stopped and started again
// on the same port (an endpoint that goes away for a while).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

export interface ReceivedMessage {
  headers: http.IncomingHttpHeaders;
  /** The raw body, exactly as sent (what the signature covers). */
  body: string;
  /** performance.now() when the body had arrived. */
  receivedAt: number;
}

export interface ReceiverOptions {
  /** Listen on this port (a restart keeps the endpoint's URL); default: a free one. */
  port?: number;
  /** The answer: status and body; default 204 with no body. `null`: never answer. */
  respond?: (message: ReceivedMessage) => { status: number; body?: string } | null;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  readonly messages: ReceivedMessage[];
  /** Resolves once `count` messages have arrived in all (rejects after `timeoutMs`, a safety net). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: ReceiverOptions = {}): Promise<WebhookReceiver> {
  const messages: ReceivedMessage[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const held = new Set<http.ServerResponse>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const message: ReceivedMessage = {
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        receivedAt: performance.now(),
      };
      messages.push(message);
      for (const waiter of [...waiters]) {
        if (messages.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
      const answer = options.respond ? options.respond(message) : { status: 204 };
      if (answer === null) {
        held.add(response);
        return;
      }
      response.writeHead(answer.status, { "content-type": "text/plain" });
      response.end(answer.body ?? "");
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    messages,
    waitFor(count, timeoutMs = 60_000) {
      if (messages.length >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${messages.length} of ${count} webhook messages arrived`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    close() {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
