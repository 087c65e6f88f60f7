// V8 settings for a long-running server process, applied by serve() before it builds the app.
import v8 from "node:v8";

/**
 * Turns off V8's allocation-site pretenuring. V8 watches where objects are allocated and, when most
 * objects from one place outlive a minor GC, allocates all later ones from that place directly in
 * the old generation. After a stretch of requests through Fastify (cache misses, say), it had marked
 * a few dozen places that way, and from then on the young objects those old ones point to survived
 * every minor GC with them: 25–45% of the young generation survived each scavenge instead of 0.1%,
 * and the cached binding list cost twice the CPU per request (65–70 µs instead of 30–35 µs, p99
 * 20–25 ms instead of 6–7 ms). Which process fell into this was a matter of chance and history, so
 * throughput differed twofold between two starts of the same server. Nearly every object a server
 * makes lives for one request or for the whole process, so it has little to gain from the guess.
 * Measured with bench/bindings.ts; docs/decisions.md, "The fast lane".
 */
export function tuneHeapForServing(): void {
  v8.setFlagsFromString("--no-allocation-site-pretenuring");
}
