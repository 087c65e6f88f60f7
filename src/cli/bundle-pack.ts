// Deterministic bundles (SPEC §9 `pack`): the same files always give the same bytes, whatever the
// machine, the checkout time or the user, so `artifact_sha256` only changes when content does.
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { pack as createTarPack, type Header as TarHeader } from "tar-stream";
import { buildFileManifest, comparePathsBytewise, runtimeDigestOf, sha256Hex } from "../domain/digests.js";
import type { FileManifestEntry } from "../domain/types.js";
import { CliError } from "./cli-errors.js";
import { readCapabilityDir } from "./read-capability-dir.js";

export interface PackedBundle {
  archive: Buffer;
  /** Hex SHA-256 of `archive`: the server's `artifact_sha256`. */
  sha256: string;
  /** Computed exactly as the server does from the files it unpacks. */
  runtimeDigest: string;
  fileManifest: FileManifestEntry[];
}

// Version-control metadata is never part of a capability, and can be large.
const IGNORED_DIRECTORIES = new Set([".git", ".hg", ".svn"]);

const EPOCH = new Date(0);
const FILE_MODE = 0o644;
const DIRECTORY_MODE = 0o755;
// Byte 9 of a gzip header names the compressing OS; fixing it keeps the bytes platform-independent.
const GZIP_OS_BYTE = 9;
const GZIP_OS_UNIX = 3;

/** The capability's files as `validate`, `pack` and `push` all see them. */
export async function readCapabilitySource(dir: string): Promise<Map<string, Buffer>> {
  const info = await stat(dir).catch(() => null);
  if (info === null || !info.isDirectory()) throw new CliError(`${dir} is not a directory`);
  const files = await readCapabilityDir(dir);
  for (const path of files.keys()) {
    if (path.split("/").some((segment) => IGNORED_DIRECTORIES.has(segment))) files.delete(path);
  }
  return files;
}

export async function packBundle(files: ReadonlyMap<string, Buffer>): Promise<PackedBundle> {
  const tar = await tarOf(files);
  const archive = gzipSync(tar, { level: 9 });
  archive[GZIP_OS_BYTE] = GZIP_OS_UNIX;
  const fileManifest = buildFileManifest(
    [...files].map(([path, content]) => ({
      path,
      content,
      size: content.length,
      sha256: sha256Hex(content),
    })),
  );
  return {
    archive,
    sha256: createHash("sha256").update(archive).digest("hex"),
    runtimeDigest: runtimeDigestOf(fileManifest),
    fileManifest,
  };
}

/** Entries sorted bytewise, each directory right before its contents; no owner names, no times. */
async function tarOf(files: ReadonlyMap<string, Buffer>): Promise<Buffer> {
  const tar = createTarPack();
  const chunks: Buffer[] = [];
  tar.on("data", (chunk) => {
    chunks.push(chunk as Buffer);
  });
  const ended = new Promise<void>((resolve, reject) => {
    tar.on("end", resolve);
    tar.on("error", reject);
  });
  // A directory's name ends in "/", which sorts it right before its own entries in bytewise order.
  const entries: [string, Buffer | null][] = [
    ...directoriesOf(files).map((directory): [string, null] => [`${directory}/`, null]),
    ...files,
  ];
  entries.sort(([a], [b]) => comparePathsBytewise(a, b));
  for (const [name, content] of entries) {
    if (content === null) tar.entry(header(name, "directory", DIRECTORY_MODE, 0));
    else tar.entry(header(name, "file", FILE_MODE, content.length), content);
  }
  tar.finalize();
  await ended;
  return Buffer.concat(chunks);
}

function header(
  name: string,
  type: "file" | "directory",
  mode: number,
  size: number,
): Partial<TarHeader> & { name: string } {
  return { name, type, mode, size, mtime: EPOCH, uid: 0, gid: 0, uname: "", gname: "" };
}

function directoriesOf(files: ReadonlyMap<string, Buffer>): string[] {
  const directories = new Set<string>();
  for (const path of files.keys()) {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
      directories.add(path.slice(0, slash));
    }
  }
  return [...directories];
}
