// Deterministic bundles (SPEC §9 `pack`): the same files always give the same bytes, whatever the
// machine, the checkout time or the user, so `artifact_sha256` only changes when content does.
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { pack as createTarPack, type Header as TarHeader } from "tar-stream";
import {
  capabilityIgnoreMatcher,
  type ExcludedPath,
  type SecretLookingFile,
  secretLookingFiles,
} from "../domain/bundle-files.js";
import { buildFileManifest, comparePathsBytewise, runtimeDigestOf, sha256Hex } from "../domain/digests.js";
import { IGNORE_FILE, IgnoreWorkExceeded } from "../domain/ignore-rules.js";
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

const EPOCH = new Date(0);
const FILE_MODE = 0o644;
const DIRECTORY_MODE = 0o755;
// Byte 9 of a gzip header names the compressing OS; fixing it keeps the bytes platform-independent.
const GZIP_OS_BYTE = 9;
const GZIP_OS_UNIX = 3;

export interface CapabilitySource {
  /** What goes into the bundle. */
  files: Map<string, Buffer>;
  /** What was left out (a directory once, as `dir/`), with the rule that did it. */
  excluded: ExcludedPath[];
  /** Included files that look like secrets. */
  secrets: SecretLookingFile[];
}

/**
 * The capability's files as `validate`, `pack` and `push` all see them: the built-in ignore rules
 * and the directory's `.capstanignore` applied (src/domain/ignore-rules.ts, as the server does).
 */
export async function readCapabilitySelection(dir: string): Promise<CapabilitySource> {
  const info = await stat(dir).catch(() => null);
  if (info === null || !info.isDirectory()) throw new CliError(`${dir} is not a directory`);
  const ignoreFile = await readFile(path.join(dir, IGNORE_FILE)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw new CliError(`cannot read ${path.join(dir, IGNORE_FILE)}: ${error.message}`);
  });
  const matcher = capabilityIgnoreMatcher(ignoreFile);
  const excluded: ExcludedPath[] = [];
  const leaveOut = (file: string, isDirectory: boolean): boolean => {
    const match = matcher.match(file, isDirectory);
    if (!match.ignored || match.rule === null) return false;
    excluded.push({
      path: isDirectory ? `${file}/` : file,
      rule: match.rule.pattern,
      source: match.rule.source,
    });
    return true;
  };
  const files = await readCapabilityDir(dir, (file, isDirectory) => {
    try {
      return leaveOut(file, isDirectory);
    } catch (error) {
      if (!(error instanceof IgnoreWorkExceeded)) throw error;
      throw new CliError(
        `${path.join(dir, IGNORE_FILE)} costs too much to apply to this directory (over ${error.limit} steps): use fewer rules, or fewer "**" in them`,
      );
    }
  });
  // The rules over the limits are reported by the validator's bundle.ignore_rules warning.
  return { files, excluded, secrets: secretLookingFiles(files) };
}

/** The files that go into the bundle (see readCapabilitySelection). */
export async function readCapabilitySource(dir: string): Promise<Map<string, Buffer>> {
  return (await readCapabilitySelection(dir)).files;
}

/**
 * Leaves the archive being written out of its own content (and the default-named archive of an
 * earlier `pack` run in the directory): `outputs` are absolute paths.
 */
export function excludeOutputs(source: CapabilitySource, dir: string, outputs: string[]): void {
  for (const output of outputs) {
    const relative = path.relative(dir, output);
    if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative)) continue;
    const file = relative.split(path.sep).join("/");
    if (!source.files.delete(file)) continue;
    source.excluded.push({ path: file, rule: file, source: "output file" });
    source.secrets = source.secrets.filter((secret) => secret.path !== file);
  }
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
