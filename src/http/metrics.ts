// Prometheus metrics: request counts and latency by route and status. A registry per app keeps
// test apps from sharing counters.
//
// The two request metrics are tallied in plain numbers and turned into Prometheus values only when
// /metrics is scraped: prom-client's own counters hash and validate their labels on every
// increment, which cost more than answering a cached binding list.
import type { FastifyInstance } from "fastify";
import { collectDefaultMetrics, Gauge, type Metric, Registry } from "prom-client";

declare module "fastify" {
  interface FastifyInstance {
    metrics: Registry;
  }
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LABELS = ["route", "method", "status"] as const;

interface Tally {
  labels: Record<(typeof LABELS)[number], string>;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  buckets: number[];
}

export class RequestTallies {
  /** All tallies, in the order they appeared (the order /metrics lists them). */
  private readonly tallies: Tally[] = [];
  /**
   * route → method → status: lookups by strings the router and the parser reuse (their hashes are
   * cached) and by a small integer, so counting a request builds no key.
   */
  private readonly index = new Map<string, Map<string, Map<number, Tally>>>();

  record(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.index.get(route);
    if (!byMethod) {
      byMethod = new Map();
      this.index.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (!byStatus) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    let tally = byStatus.get(status);
    if (!tally) {
      tally = {
        labels: { route, method, status: String(status) },
        count: 0,
        sum: 0,
        buckets: new Array(LATENCY_BUCKETS.length + 1).fill(0),
      };
      byStatus.set(status, tally);
      this.tallies.push(tally);
    }
    tally.count++;
    tally.sum += seconds;
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]) bucket++;
    tally.buckets[bucket]++;
  }

  counter(): Metric {
    return this.metric(
      "capstan_http_requests_total",
      "HTTP requests by route template, method and status",
      "counter",
      () => this.tallies.map((t) => ({ labels: t.labels, value: t.count })),
    );
  }

  histogram(): Metric {
    const name = "capstan_http_request_duration_seconds";
    return this.metric(name, "HTTP request latency by route template, method and status", "histogram", () =>
      this.tallies.flatMap((t) => {
        let cumulative = 0;
        const buckets = [...LATENCY_BUCKETS, "+Inf"].map((le, i) => {
          cumulative += t.buckets[i];
          return { metricName: `${name}_bucket`, labels: { le, ...t.labels }, value: cumulative };
        });
        return [
          ...buckets,
          { metricName: `${name}_sum`, labels: t.labels, value: t.sum },
          { metricName: `${name}_count`, labels: t.labels, value: t.count },
        ];
      }),
    );
  }

  /** The shape prom-client's registry reads from a metric when it renders /metrics. */
  private metric(name: string, help: string, type: "counter" | "histogram", values: () => unknown[]): Metric {
    const read = () => ({ name, help, type, aggregator: "sum", values: values() });
    return {
      name,
      help,
      type,
      aggregator: "sum",
      get: async () => read(),
      reset: () => {},
    } as unknown as Metric;
  }
}

/** Registers /metrics' registry and the request tallies; the fast lane records into the same tallies. */
export function registerMetrics(app: FastifyInstance, heldWatches?: () => number): RequestTallies {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (heldWatches) {
    new Gauge({
      name: "capstan_resolved_watches_held",
      help: "Resolved-set requests held until a change (Prefer: wait, SPEC §12)",
      registers: [registry],
      collect() {
        this.set(heldWatches());
      },
    });
  }
  const tallies = new RequestTallies();
  registry.registerMetric(tallies.counter());
  registry.registerMetric(tallies.histogram());
  app.decorate("metrics", registry);
  app.addHook("onResponse", (request, reply, done) => {
    // The route template, never the raw URL: ids in paths would explode the label space.
    tallies.record(
      request.routeOptions.url ?? "unmatched",
      request.method,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
  return tallies;
}
