// Fetches a bundle from its signed URL and checks it against the digest the API announced, before
// anyone unpacks or saves it.
import { createHash } from "node:crypto";
import { type ApiClient, withoutQuery } from "./api-client.js";
import { CliError } from "./cli-errors.js";

/** The server's default CAPSTAN_MAX_BUNDLE_BYTES: what a client expects a bundle to stay under. */
export const DEFAULT_MAX_BUNDLE_BYTES = 52_428_800;

export interface DownloadOptions {
  onProgress?: (receivedBytes: number, totalBytes: number | null) => void;
  signal?: AbortSignal;
  /** Stop reading past this size: a server (or a proxy) must not fill the disk or the memory. */
  maxBytes: number;
}

/** `expectedDigest` is `sha256:<hex>` (or bare hex); a mismatch is an error, never a warning. */
export async function downloadVerified(
  api: ApiClient,
  url: string,
  expectedDigest: string,
  options: DownloadOptions,
): Promise<Buffer> {
  // The body fails with a NetworkError when it stalls or breaks off (see ApiClient.download).
  const response = await api.download(url, options.signal);
  const declared = Number(response.headers.get("content-length"));
  const total = Number.isFinite(declared) && declared > 0 ? declared : null;
  const hash = createHash("sha256");
  const chunks: Buffer[] = [];
  let received = 0;
  if (response.body !== null) {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.length;
      if (received > options.maxBytes) {
        throw new CliError(`the bundle at ${withoutQuery(url)} is larger than ${options.maxBytes} bytes`);
      }
      hash.update(chunk);
      chunks.push(Buffer.from(chunk));
      options.onProgress?.(received, total);
    }
  }
  const actual = hash.digest("hex");
  const expected = expectedDigest.replace(/^sha256:/, "").toLowerCase();
  if (actual !== expected) {
    throw new CliError(
      `digest mismatch for ${withoutQuery(url)}: expected sha256:${expected}, got sha256:${actual}`,
    );
  }
  return Buffer.concat(chunks);
}
