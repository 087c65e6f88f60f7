// Prometheus metrics: request counts and latency by route and status. A registry per app keeps
// test apps from sharing counters.
import type { FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

declare module "fastify" {
  interface FastifyInstance {
    metrics: Registry;
  }
}

export function registerMetrics(app: FastifyInstance): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "capstan_http_requests_total",
    help: "HTTP requests by route template, method and status",
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "capstan_http_request_duration_seconds",
    help: "HTTP request latency by route template, method and status",
    labelNames: ["route", "method", "status"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.decorate("metrics", registry);
  // Labelled children are looked up once per (route, method, status), not on every response:
  // resolving labels costs more than the increment itself on the hot path.
  const children = new Map<string, { count: () => void; observe: (seconds: number) => void }>();
  app.addHook("onResponse", (request, reply, done) => {
    // The route template, never the raw URL: ids in paths would explode the label space.
    const route = request.routeOptions.url ?? "unmatched";
    const key = `${request.method} ${reply.statusCode} ${route}`;
    let child = children.get(key);
    if (!child) {
      const labels = { route, method: request.method, status: String(reply.statusCode) };
      const counter = requests.labels(labels);
      const histogram = latency.labels(labels);
      child = { count: () => counter.inc(), observe: (seconds) => histogram.observe(seconds) };
      children.set(key, child);
    }
    child.count();
    child.observe(reply.elapsedTime / 1000);
    done();
  });
}
