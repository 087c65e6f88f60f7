import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` (repository root) runs the API on 8080 and this dev server on 5173, which forwards
// the API's paths to it; the console then talks to one origin, as in production.
const api = process.env.CAPSTAN_API_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // A module-preload polyfill would be an inline script; the CSP forbids those.
    modulePreload: { polyfill: false },
    sourcemap: false,
    chunkSizeWarningLimit: 700,
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: { "/api": api, "/docs": api, "/openapi.json": api, "/healthz": api },
  },
});
