// The web console (SPEC §10): the static files of `web/dist`, served by the API's own process.
// No route is registered for them: the console answers from the not-found path, so the route table,
// the OpenAPI document and the authorization matrix stay the API's alone, and an unknown API URL
// still gets the 404 envelope.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** Everything the console fetches comes from this origin; nothing inline may run. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Radix's scroll lock writes a <style> element whose content it computes (the scrollbar's width),
  // so no hash can allow it; styles cannot run code, and scripts stay strictly same-origin.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

const IMMUTABLE = "public, max-age=31536000, immutable";

/** Paths that belong to the API: an unknown URL under them is a 404 envelope, never the console. */
const API_PREFIXES = ["/api", "/docs", "/openapi.json", "/healthz", "/readyz", "/metrics", "/v0"];

/** A last segment such as `favicon.ico`: a file that is not there, not a client route. */
const FILE_LIKE = /\.[A-Za-z][A-Za-z0-9]*$/;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

interface ConsoleFile {
  body: Buffer;
  type: string;
  cacheControl: string;
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Capstan</title></head>
<body><h1>Capstan</h1>
<p>The web console is not built. Run <code>npm run build</code> (or <code>npm start</code>, which builds it),
then reload. The API is at <a href="/docs">/docs</a>.</p></body></html>
`;

/**
 * Where the built console lives: `web/dist` next to the package root, whether this module runs from
 * `src/http` (tsx) or from the compiled `dist/src/http`.
 */
export function findConsoleDir(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const candidate = path.join(dir, "web", "dist");
    if (existsSync(path.join(candidate, "index.html"))) return candidate;
    dir = path.dirname(dir);
  }
  return null;
}

/**
 * The files are read once, at start: the build is small (a few hundred KiB) and never changes under
 * a running server; `npm run dev` serves the console from Vite instead.
 */
function loadFiles(dir: string): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && statSync(path.join(dir, child)).isFile()) {
        const ext = path.extname(entry.name).toLowerCase();
        files.set(`/${child}`, {
          body: readFileSync(path.join(dir, child)),
          type: CONTENT_TYPES[ext] ?? "application/octet-stream",
          // Vite names everything under assets/ by its content hash.
          cacheControl: child.startsWith("assets/") ? IMMUTABLE : "no-cache",
        });
      }
    }
  };
  walk("");
  return files;
}

export type ConsoleFallback = (request: FastifyRequest, reply: FastifyReply) => FastifyReply | null;

declare module "fastify" {
  interface FastifyInstance {
    /** Answers a request no route matched with the console, or returns null (then: 404 envelope). */
    consoleFallback: ConsoleFallback;
  }
}

function acceptsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === "string" && (accept.includes("text/html") || accept.includes("*/*"));
}

/** `dir` = the built console (`web/dist`), or null to serve a note saying how to build it. */
export function registerConsole(app: FastifyInstance, dir: string | null): void {
  const files = dir === null ? new Map<string, ConsoleFile>() : loadFiles(dir);
  const index: ConsoleFile = files.get("/index.html") ?? {
    body: Buffer.from(NOT_BUILT),
    type: "text/html; charset=utf-8",
    cacheControl: "no-cache",
  };

  const send = (reply: FastifyReply, file: ConsoleFile) =>
    reply
      .code(200)
      .headers(CONSOLE_HEADERS)
      .header("cache-control", file.cacheControl)
      .type(file.type)
      .send(file.body);

  app.decorate("consoleFallback", (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== "GET" && request.method !== "HEAD") return null;
    const pathname = request.url.split("?")[0];
    if (API_PREFIXES.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`))) return null;
    if (pathname === "/" || pathname === "/index.html") return send(reply, index);
    const file = files.get(pathname);
    if (file) return send(reply, file);
    // A missing asset must not come back as HTML (a browser would run it as a broken script), and a
    // client that did not ask for a page gets the envelope like any unknown URL.
    if (pathname.startsWith("/assets/") || FILE_LIKE.test(pathname) || !acceptsHtml(request)) return null;
    return send(reply, index);
  });
}
