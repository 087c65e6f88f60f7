// Shared by the tests and the benchmarks (test/helpers/capability-bundles.ts re-exports it).
// Capability bundles for registry tests: small valid archives built in memory, and the publish
// request that sends them (raw body or multipart).
import type { LightMyRequestResponse } from "fastify";
import { bearer, type TestApp } from "./app-harness.js";
import { buildTarGz, type TarEntry } from "./tar-builder.js";

export interface BundleSpec {
  name?: string;
  version?: string;
  description?: string;
  keywords?: string[];
  author?: string;
  license?: string;
  /** README.md content; null leaves the file out. */
  readme?: string | null;
  /** Extra manifest lines, appended as written. */
  manifestExtra?: string;
  /** Extra files by path. */
  files?: Record<string, string | Buffer>;
  /** Changes the agent's text: same version, different content. */
  salt?: string;
}

export function capabilityManifest(spec: BundleSpec = {}): string {
  const lines = [
    "schema: 1",
    `name: ${spec.name ?? "demo"}`,
    `version: "${spec.version ?? "1.0.0"}"`,
    `description: ${JSON.stringify(spec.description ?? "A capability for registry tests")}`,
    `author: ${JSON.stringify(spec.author ?? "Capstan Tests")}`,
    `license: ${spec.license ?? "MIT"}`,
    `keywords: ${JSON.stringify(spec.keywords ?? ["testing"])}`,
  ];
  if (spec.manifestExtra) lines.push(spec.manifestExtra);
  return `${lines.join("\n")}\n`;
}

/** The entries of a valid bundle: manifest, one agent, a README unless left out, extra files. */
export function capabilityEntries(spec: BundleSpec = {}): TarEntry[] {
  const entries: TarEntry[] = [
    { name: "capability.yaml", content: capabilityManifest(spec) },
    {
      name: "agents/helper.md",
      content: `---\nname: helper\ndescription: Helps.\n---\nYou help.${spec.salt ? ` ${spec.salt}` : ""}\n`,
    },
  ];
  const readme = spec.readme === undefined ? `# ${spec.name ?? "demo"}\nRead me.\n` : spec.readme;
  if (readme !== null) entries.push({ name: "README.md", content: readme });
  for (const [name, content] of Object.entries(spec.files ?? {})) entries.push({ name, content });
  return entries;
}

export function capabilityBundle(spec: BundleSpec = {}): Buffer {
  return buildTarGz(capabilityEntries(spec));
}

export interface PublishOptions {
  key?: string;
  org?: string;
  /** Query string without `?`, e.g. `public=true`. */
  query?: string;
  contentType?: string;
}

export function publishBundle(
  t: TestApp,
  bundle: Buffer,
  options: PublishOptions = {},
): Promise<LightMyRequestResponse> {
  const query = options.query ? `?${options.query}` : "";
  return t.app.inject({
    method: "POST",
    url: `/api/v1/org/${options.org ?? "default"}/capabilities${query}`,
    headers: {
      ...bearer(options.key ?? t.adminKey),
      "content-type": options.contentType ?? "application/gzip",
    },
    payload: bundle,
  });
}

/** A multipart/form-data body holding `content` as the file field `field`. */
export function multipartBody(field: string, content: Buffer): { body: Buffer; contentType: string } {
  const boundary = "----capstan-test-boundary";
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="bundle.tar.gz"\r\n` +
      "Content-Type: application/gzip\r\n\r\n",
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    body: Buffer.concat([head, content, tail]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

/** Publishes a valid bundle and returns its artifact detail; fails the test on any other status. */
export async function publishOk(t: TestApp, spec: BundleSpec = {}, options: PublishOptions = {}) {
  const res = await publishBundle(t, capabilityBundle(spec), options);
  if (res.statusCode !== 201) throw new Error(`publish answered ${res.statusCode}: ${res.body}`);
  return res.json();
}
