// Reads a published bundle (SPEC §4.1): a gzip-compressed tar from an untrusted client. Everything
// happens in one streaming pass, and every limit is checked on the bytes as they inflate, so a bomb
// is stopped where it crosses a limit, in bounded memory, instead of being inflated and measured.
import { createHash } from "node:crypto";
import { createGunzip, type Gunzip } from "node:zlib";
import { extract as createTarExtract, type Extract, type Header } from "tar-stream";
import { comparePathsBytewise } from "./digests.js";
import { type AuditedEntry, TarAudit, TarAuditFailure, typeflagLabel } from "./tar-audit.js";
import type { BundleFile, Issue } from "./types.js";

export interface BundleLimits {
  maxCompressedBytes: number;
  /** Sum of the sizes of all entries' contents. */
  maxTotalBytes: number;
  maxFileBytes: number;
  maxEntries: number;
  /** Content bytes per compressed byte. */
  maxExpansionRatio: number;
}

export interface ReadBundle {
  /** Hex SHA-256 of the archive bytes as uploaded. */
  archiveSha256: string;
  sizeBytes: number;
  /** Regular files only, sorted bytewise by path. */
  files: BundleFile[];
}

/** Thrown for any bundle SPEC §4.1 refuses; `issues` become the envelope's `errors`. */
export class BundleRejectedError extends Error {
  override readonly name = "BundleRejectedError";
  readonly issues: Issue[];

  constructor(issues: Issue[]) {
    super(`bundle rejected: ${issues.map((issue) => issue.msg).join("; ")}`);
    this.issues = issues;
  }
}

const MiB = 1024 * 1024;
const MANIFEST_PATH = "capability.yaml";
const ARCHIVE_LOC = "archive";
const TAR_BLOCK_BYTES = 512;
const INPUT_SLICE_BYTES = 64 * 1024;

// Bundles of a few hundred KiB of repetitive text (generated docs, lock files) compress far beyond
// 100:1 and are harmless; the expansion ratio only applies once the contents pass this floor.
const EXPANSION_RATIO_FLOOR_BYTES = 1 * MiB;

// Tar bytes that are not entry contents: headers, pax and long-name records, padding, end blocks.
// They must be bounded on their own, because a stream of zero blocks is a valid tar that yields no
// entry at all and would otherwise inflate forever. Real archives need about 1.5 KiB per entry; the
// fixed allowance also absorbs what sits in stream buffers between gunzip and the tar parser.
const FRAMING_BYTES_PER_ENTRY = 4 * 1024;
const FRAMING_ALLOWANCE_BYTES = 1 * MiB;

export function bundleLimitsFor(maxCompressedBytes: number): BundleLimits {
  return {
    maxCompressedBytes,
    maxTotalBytes: 4 * maxCompressedBytes,
    maxFileBytes: 25 * MiB,
    maxEntries: 10_000,
    maxExpansionRatio: 100,
  };
}

export async function readBundle(
  source: Buffer | AsyncIterable<Buffer | Uint8Array>,
  limits: BundleLimits,
): Promise<ReadBundle> {
  const knownSize = Buffer.isBuffer(source) ? source.length : null;
  if (knownSize !== null && knownSize > limits.maxCompressedBytes) {
    throw new BundleRejectedError([tooLargeIssue(limits)]);
  }
  const archive = await new ArchiveStream(limits, knownSize).read(source);
  return {
    archiveSha256: archive.sha256,
    sizeBytes: archive.sizeBytes,
    files: validateEntries(archive.entries, archive.issues),
  };
}

interface ArchiveEntry {
  /** The name as stored, for error locations. */
  nameAsRead: string;
  path: string;
  isDirectory: boolean;
  file?: BundleFile;
}

interface ReadArchive {
  sha256: string;
  sizeBytes: number;
  /** Entries whose name and type are acceptable. */
  entries: ArchiveEntry[];
  /** Problems with single entries, collected over the whole archive. */
  issues: Issue[];
}

/**
 * One pass over the archive: compressed bytes → gunzip → tar parser → entry contents, three loops
 * joined by backpressure. Limit and format problems stop all of them at once; problems with single
 * entries are collected and the reading goes on.
 */
class ArchiveStream {
  private readonly archiveHash = createHash("sha256");
  private compressedBytes = 0;
  private lastNonZeroCompressedOffset = -1;
  private decompressedBytes = 0;
  private contentBytes = 0;
  private entryCount = 0;
  /** Offset in the tar stream just past the last entry's data. */
  private lastEntryEnd = 0;
  private readonly entries: ArchiveEntry[] = [];
  private readonly issues: Issue[] = [];
  /** Reads the same tar bytes as tar-stream, strictly, as GNU tar and Python's tarfile do. */
  private readonly audit = new TarAudit(this.issues);
  private failure: unknown = null;

  constructor(
    private readonly limits: BundleLimits,
    private readonly knownCompressedSize: number | null,
  ) {}

  async read(source: Buffer | AsyncIterable<Buffer | Uint8Array>): Promise<ReadArchive> {
    const gunzip = createGunzip();
    // latin1 maps every byte to one code point, so the raw name bytes can be recovered and checked
    // for valid UTF-8; tar-stream's default utf-8 would silently replace invalid sequences.
    const tar = createTarExtract({ filenameEncoding: "latin1" } as Parameters<typeof createTarExtract>[0]);
    let signalFailure = () => {};
    const failed = new Promise<void>((resolve) => {
      signalFailure = resolve;
    });
    const fail = (error: unknown) => {
      this.failure ??= error;
      gunzip.destroy();
      tar.destroy();
      signalFailure();
    };
    gunzip.on("error", (error) => fail(formatError("the archive is not valid gzip", error)));
    tar.on("error", (error) => fail(formatError("the archive is not a valid tar", error)));

    const pumping = Promise.all([
      // The upload itself can fail too (a multipart body cut short): that is an unreadable archive.
      this.pumpCompressed(source, gunzip).catch((error) =>
        fail(formatError("the upload ended before the archive could be read", error)),
      ),
      this.pumpDecompressed(gunzip, tar).catch((error) =>
        fail(formatError("the archive is not valid gzip", error)),
      ),
      this.consumeEntries(tar).catch((error) => fail(formatError("the archive is not a valid tar", error))),
    ]);
    // Not waiting for the source on failure: a client that stalls mid-upload must not hold a rejection.
    await Promise.race([pumping, failed]);
    if (this.failure !== null) throw this.failure;

    this.checkStreamEnds(gunzip);
    return {
      sha256: this.archiveHash.digest("hex"),
      sizeBytes: this.compressedBytes,
      entries: this.entries,
      issues: this.issues,
    };
  }

  private async pumpCompressed(source: Buffer | AsyncIterable<Buffer | Uint8Array>, gunzip: Gunzip) {
    for await (const chunk of compressedChunks(source)) {
      if (this.failure !== null) return;
      this.meterCompressed(chunk);
      if (!gunzip.write(chunk)) await drainedOrClosed(gunzip);
    }
    if (this.failure === null) gunzip.end();
  }

  private async pumpDecompressed(gunzip: Gunzip, tar: Extract) {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (this.failure !== null) return;
      this.decompressedBytes += chunk.length;
      this.checkFraming();
      // Before tar-stream sees the bytes: its entries are then checked against the audit's.
      auditing(() => this.audit.write(chunk));
      if (!tar.write(chunk)) await drainedOrClosed(tar);
    }
    if (this.failure === null) tar.end(null);
  }

  private async consumeEntries(tar: Extract) {
    for await (const entry of tar) {
      await this.readEntry(entry.header, entry.offset, entry as AsyncIterable<Buffer>);
    }
  }

  private async readEntry(header: Header, headerOffset: number, content: AsyncIterable<Buffer>) {
    this.entryCount += 1;
    if (this.entryCount > this.limits.maxEntries) {
      throw limitsError(ARCHIVE_LOC, `the archive has more than ${this.limits.maxEntries} entries`);
    }
    const name = decodeEntryName(header);
    // tar-stream never feeds a directory's data to its stream: reading it would wait forever.
    const isDirectory = header.type === "directory";
    const size = isDirectory ? 0 : header.size;
    if (size > this.limits.maxFileBytes) {
      throw limitsError(
        name.asRead,
        `${quote(name.asRead)} is ${size} bytes, over the ${this.limits.maxFileBytes}-byte limit per file`,
      );
    }
    if (this.contentBytes + size > this.limits.maxTotalBytes) {
      throw limitsError(
        ARCHIVE_LOC,
        `the archive holds more than ${this.limits.maxTotalBytes} bytes once unpacked`,
      );
    }
    this.lastEntryEnd = headerOffset + TAR_BLOCK_BYTES + roundUpToBlock(size);

    const audited = this.audit.entryAt(headerOffset);
    const accepted = this.readAlike(header, name, audited)
      ? this.admitEntry(name, header.type, audited)
      : null;
    const isFile = accepted !== null && !isDirectory;
    const hash = createHash("sha256");
    const chunks: Buffer[] = [];
    if (!isDirectory) {
      for await (const chunk of content) {
        this.contentBytes += chunk.length;
        this.checkExpansion();
        if (isFile) {
          hash.update(chunk);
          chunks.push(chunk);
        }
      }
    }
    if (accepted === null || accepted.path === "") return;
    if (isFile) {
      const data = Buffer.concat(chunks);
      accepted.file = { path: accepted.path, size: data.length, sha256: hash.digest("hex"), content: data };
    }
    this.entries.push(accepted);
  }

  /**
   * Whether tar-stream read this entry as the audit did (name, size, kind); records an issue when
   * not. They differ only on archives that tar programs themselves disagree about.
   */
  private readAlike(header: Header, name: EntryName, audited: AuditedEntry | undefined): boolean {
    const where = name.asRead;
    if (
      audited === undefined ||
      audited.name !== header.name ||
      (header.type !== "directory" && audited.size !== header.size)
    ) {
      const msg = `${quote(where)} is read differently by different tar programs; repack the bundle`;
      this.issues.push(issue("bundle.format", where, msg));
      return false;
    }
    // GNU tar unpacks a regular file whose name ends in "/" as a directory, tarfile only when its
    // typeflag is NUL, and tar-stream never (it meant to, but keeps the type it decoded first).
    if (header.type === "file" && audited.name.endsWith("/")) {
      const msg = `${quote(where)} is a regular file whose name ends in "/"`;
      this.issues.push(issue("bundle.entry_type", where, msg));
      return false;
    }
    // An extractor that ignores pax records or GNU long names unpacks the entry under this name.
    const fallbackProblem = audited.fallbackName === null ? null : fallbackNameProblem(audited.fallbackName);
    if (fallbackProblem !== null) {
      const msg = `${quote(where)} is also stored under the name ${quote(audited.fallbackName!)}, which ${fallbackProblem}`;
      this.issues.push(issue("bundle.path", where, msg));
      return false;
    }
    return true;
  }

  /** Records the entry's name and type problems; returns the entry when it has none. */
  private admitEntry(
    name: EntryName,
    type: Header["type"] | null,
    audited: AuditedEntry | undefined,
  ): ArchiveEntry | null {
    const isDirectory = type === "directory";
    const problem = pathProblem(name, isDirectory);
    if (problem !== null)
      this.issues.push(issue("bundle.path", name.asRead, `${quote(name.asRead)} ${problem}`));
    if (type !== "file" && !isDirectory) {
      const label =
        (type !== null && REFUSED_TYPE_LABELS[type]) ||
        (audited && typeflagLabel(audited.typeflag)) ||
        "an entry of an unsupported type";
      this.issues.push(
        issue(
          "bundle.entry_type",
          name.asRead,
          `${quote(name.asRead)} is ${label}; only regular files and directories are allowed`,
        ),
      );
      return null;
    }
    if (problem !== null) return null;
    return { nameAsRead: name.asRead, path: normalisePath(name.asRead), isDirectory };
  }

  private meterCompressed(chunk: Buffer) {
    this.archiveHash.update(chunk);
    const lastNonZero = lastNonZeroIndex(chunk);
    if (lastNonZero >= 0) this.lastNonZeroCompressedOffset = this.compressedBytes + lastNonZero;
    this.compressedBytes += chunk.length;
    if (this.compressedBytes > this.limits.maxCompressedBytes) {
      throw new BundleRejectedError([tooLargeIssue(this.limits)]);
    }
  }

  private checkFraming() {
    const framingBytes = this.decompressedBytes - this.contentBytes;
    if (framingBytes > FRAMING_ALLOWANCE_BYTES + FRAMING_BYTES_PER_ENTRY * this.entryCount) {
      throw limitsError(
        ARCHIVE_LOC,
        `the archive inflates to ${framingBytes} bytes of tar headers and padding`,
      );
    }
  }

  private checkExpansion() {
    if (this.contentBytes <= EXPANSION_RATIO_FLOOR_BYTES) return;
    // While streaming only the compressed bytes read so far are known; they are what the bytes
    // inflated so far came from.
    const compressedBytes = this.knownCompressedSize ?? this.compressedBytes;
    const ratio = this.limits.maxExpansionRatio;
    if (this.contentBytes > compressedBytes * ratio) {
      throw limitsError(ARCHIVE_LOC, `the archive expands more than ${ratio}:1`);
    }
  }

  private checkStreamEnds(gunzip: Gunzip) {
    auditing(() => this.audit.finish());
    // Node's gunzip stops at a zero byte after a gzip member and ignores the rest. gzip(1) accepts
    // trailing zero padding too, but anything else after it is garbage.
    if (this.lastNonZeroCompressedOffset >= gunzip.bytesWritten) {
      throw formatError("the archive has data after the end of the gzip stream");
    }
    // tar-stream accepts a tar cut off right after an entry; the end-of-archive block proves it was not.
    if (this.decompressedBytes < this.lastEntryEnd + TAR_BLOCK_BYTES) {
      throw formatError("the tar archive has no end-of-archive marker: it is truncated or not a tar");
    }
  }
}

/** Duplicates, the top-level prefix and the manifest: checks that need the whole list of entries. */
function validateEntries(entries: ArchiveEntry[], entryIssues: Issue[]): BundleFile[] {
  const issues = [...entryIssues, ...findDuplicates(entries)];
  const prefix = topLevelPrefix(entries);
  const files = entries.flatMap((entry) =>
    entry.file ? [{ ...entry.file, path: entry.file.path.slice(prefix.length) }] : [],
  );
  if (!files.some((file) => file.path === MANIFEST_PATH)) {
    issues.push(issue("bundle.no_manifest", ARCHIVE_LOC, `the archive has no ${MANIFEST_PATH} at its root`));
  }
  if (issues.length > 0) throw new BundleRejectedError(issues);
  return files.sort((a, b) => comparePathsBytewise(a.path, b.path));
}

function findDuplicates(entries: ArchiveEntry[]): Issue[] {
  const issues: Issue[] = [];
  const byPath = new Map<string, ArchiveEntry>();
  const byFoldedPath = new Map<string, ArchiveEntry>();
  for (const entry of entries) {
    // macOS stores names decomposed (NFD) and compares them normalised: café.txt written twice,
    // once with é and once with e + U+0301, would unpack onto one file there.
    const normalised = entry.path.normalize("NFC");
    const folded = foldedPath(entry.path);
    const same = byPath.get(normalised);
    const other = byFoldedPath.get(folded);
    if (same !== undefined) {
      const msg =
        same.path === entry.path
          ? `${quote(entry.path)} appears more than once`
          : `${quote(entry.path)} is another Unicode spelling of ${quote(same.path)}`;
      issues.push(duplicateIssue(entry, msg));
    } else if (other !== undefined) {
      // Case-insensitive file systems (macOS, Windows) would unpack both onto one file.
      issues.push(
        duplicateIssue(entry, `${quote(entry.path)} differs from ${quote(other.path)} only in letter case`),
      );
    } else {
      byPath.set(normalised, entry);
      byFoldedPath.set(folded, entry);
    }
  }
  // A path used as a file cannot also be a directory: "a" and "a/b" cannot both be unpacked.
  for (const [entry, file] of entriesInsideFiles(entries)) {
    issues.push(
      duplicateIssue(entry, `${quote(entry.path)} lies inside ${quote(file.path)}, which is a file`),
    );
  }
  return issues;
}

/**
 * Each entry whose path goes on below a file's path (letter case ignored), with the outermost such
 * file. Sorted, the entries below `f` directly follow `f/`, so each file costs one binary search
 * plus the entries it holds, however deep the paths are.
 */
function entriesInsideFiles(entries: ArchiveEntry[]): Map<ArchiveEntry, ArchiveEntry> {
  const sorted = entries
    .map((entry) => ({ entry, folded: foldedPath(entry.path) }))
    .sort((a, b) => (a.folded < b.folded ? -1 : a.folded > b.folded ? 1 : 0));
  const inside = new Map<ArchiveEntry, ArchiveEntry>();
  // In sorted order an outer file comes before the files inside it, so the first one found stays.
  for (const { entry: file, folded } of sorted) {
    if (file.isDirectory) continue;
    const prefix = `${folded}/`;
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (sorted[middle].folded < prefix) low = middle + 1;
      else high = middle;
    }
    for (let i = low; i < sorted.length && sorted[i].folded.startsWith(prefix); i++) {
      if (!inside.has(sorted[i].entry)) inside.set(sorted[i].entry, file);
    }
  }
  // In the order the archive holds them, as the other problems are reported.
  return new Map(entries.filter((entry) => inside.has(entry)).map((entry) => [entry, inside.get(entry)!]));
}

/** The form in which case-insensitive, normalising file systems compare names. */
function foldedPath(path: string): string {
  return path.normalize("NFC").toLowerCase().normalize("NFC");
}

/** `dir/` when everything lives in one top-level directory holding the manifest, else "". */
function topLevelPrefix(entries: ArchiveEntry[]): string {
  const filePaths = new Set(entries.flatMap((entry) => (entry.file ? [entry.file.path] : [])));
  if (filePaths.has(MANIFEST_PATH)) return "";
  const topLevelNames = new Set(entries.map((entry) => entry.path.split("/")[0]));
  if (topLevelNames.size !== 1) return "";
  const [top] = topLevelNames;
  return !filePaths.has(top) && filePaths.has(`${top}/${MANIFEST_PATH}`) ? `${top}/` : "";
}

interface EntryName {
  /** The name as stored, decoded as UTF-8 (invalid bytes shown as U+FFFD). */
  asRead: string;
  isUtf8: boolean;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decodeEntryName(header: Header): EntryName {
  const pax = header.pax as Record<string, string> | null | undefined;
  if (typeof pax?.path === "string" && pax.path !== "") {
    // tar-stream decodes pax records as UTF-8 itself, turning invalid bytes into U+FFFD: that
    // character is the only trace of them left.
    return { asRead: header.name, isUtf8: !header.name.includes("\uFFFD") };
  }
  const bytes = Buffer.from(header.name, "latin1");
  try {
    return { asRead: strictUtf8.decode(bytes), isUtf8: true };
  } catch {
    return { asRead: bytes.toString("utf8"), isUtf8: false };
  }
}

// C0 controls (NUL included), DEL and C1 controls.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
const DRIVE_LETTER = /^[A-Za-z]:/;
/**
 * What a runtime can unpack: Linux's PATH_MAX and NAME_MAX, in bytes. Longer names could never be
 * written to disk, and unbounded ones (a PAX record can be a megabyte) would cost the server.
 */
const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;

/** Why the name is refused (completing "<name> …"), or null when it is acceptable. */
function pathProblem(name: EntryName, isDirectory: boolean): string | null {
  const text = name.asRead;
  if (!name.isUtf8) return "is not valid UTF-8";
  if (CONTROL_CHARACTER.test(text)) return "contains a NUL or control character";
  if (text.includes("\\")) return "contains a backslash";
  if (text.startsWith("/") || DRIVE_LETTER.test(text)) return "is an absolute path";
  if (Buffer.byteLength(text) > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  const segments = text.split("/");
  if (segments.includes("..")) return "contains a '..' segment";
  if (segments.some((segment) => Buffer.byteLength(segment) > MAX_NAME_BYTES)) {
    return `has a file or directory name longer than ${MAX_NAME_BYTES} bytes`;
  }
  // "./" is how `tar -C dir .` names the root directory; only a file cannot be the root.
  if (normalisePath(text) === "" && !isDirectory) return "does not name a file";
  return null;
}

/**
 * Why the ustar name stored beside a pax path or GNU long name would unpack outside the target, or
 * null. Not a full pathProblem: writers cut that name at 100 bytes, even inside a UTF-8 character.
 */
function fallbackNameProblem(latin1Name: string): string | null {
  if (/[\u0000-\u001f\u007f]/.test(latin1Name)) return "contains a NUL or control character";
  if (latin1Name.includes("\\")) return "contains a backslash";
  if (latin1Name.startsWith("/") || DRIVE_LETTER.test(latin1Name)) return "is an absolute path";
  if (latin1Name.split("/").includes("..")) return "contains a '..' segment";
  return null;
}

/** Runs a step of the tar audit, turning its failures into rejections. */
function auditing(step: () => void): void {
  try {
    step();
  } catch (error) {
    if (error instanceof TarAuditFailure)
      throw new BundleRejectedError([issue(error.issueType, ARCHIVE_LOC, error.message)]);
    throw error;
  }
}

/** Drops a leading `./` (and any `.` segment), repeated and trailing slashes. */
function normalisePath(name: string): string {
  return name
    .split("/")
    .filter((segment) => segment !== "" && segment !== ".")
    .join("/");
}

const REFUSED_TYPE_LABELS: Partial<Record<Header["type"], string>> = {
  symlink: "a symbolic link",
  link: "a hard link",
  "character-device": "a character device",
  "block-device": "a block device",
  fifo: "a FIFO",
  "contiguous-file": "a contiguous file",
};

async function* compressedChunks(source: Buffer | AsyncIterable<Buffer | Uint8Array>): AsyncIterable<Buffer> {
  if (Buffer.isBuffer(source)) {
    // Slices keep backpressure meaningful: gunzip inflates one slice at a time.
    for (let offset = 0; offset < source.length; offset += INPUT_SLICE_BYTES) {
      yield source.subarray(offset, offset + INPUT_SLICE_BYTES);
    }
    return;
  }
  for await (const chunk of source) {
    yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

interface DrainableStream {
  once(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/** Waits for a backpressured stream; a destroyed one never drains, so closing ends the wait too. */
function drainedOrClosed(stream: DrainableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.once("drain", done);
    stream.once("close", done);
  });
}

function lastNonZeroIndex(chunk: Buffer): number {
  for (let index = chunk.length - 1; index >= 0; index--) {
    if (chunk[index] !== 0) return index;
  }
  return -1;
}

function roundUpToBlock(size: number): number {
  return Math.ceil(size / TAR_BLOCK_BYTES) * TAR_BLOCK_BYTES;
}

function issue(type: string, where: string, msg: string): Issue {
  return { loc: ["bundle", shortened(where)], msg, type };
}

function duplicateIssue(entry: ArchiveEntry, msg: string): Issue {
  return issue("bundle.duplicate", entry.nameAsRead, msg);
}

function quote(text: string): string {
  return JSON.stringify(shortened(text));
}

/** An entry name as errors show it: a refused name may be megabytes long. */
function shortened(text: string): string {
  return text.length <= 300 ? text : `${text.slice(0, 300)}…`;
}

function tooLargeIssue(limits: BundleLimits): Issue {
  return issue(
    "bundle.too_large",
    ARCHIVE_LOC,
    `the archive is larger than ${limits.maxCompressedBytes} bytes`,
  );
}

function limitsError(where: string, msg: string): BundleRejectedError {
  return new BundleRejectedError([issue("bundle.limits", where, msg)]);
}

/** Our own rejections pass through; any stream error becomes a `bundle.format` issue. */
function formatError(msg: string, cause?: unknown): BundleRejectedError {
  if (cause instanceof BundleRejectedError) return cause;
  const reason = cause instanceof Error ? `: ${cause.message}` : "";
  return new BundleRejectedError([issue("bundle.format", ARCHIVE_LOC, `${msg}${reason}`)]);
}
