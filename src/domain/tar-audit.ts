// A second, strict reading of the tar headers of a bundle, beside tar-stream's. A published bundle
// is later unpacked by GNU tar, bsdtar or Python's tarfile, and tar-stream silently reads some
// archives differently from them: it ignores a global pax header (`path=../../evil` applied to
// every later entry by GNU tar), treats an old-GNU `N` record as a long name (Python unpacks it as
// a file), reads on past the end-of-archive blocks, and parses pax sizes with parseInt. So every
// header is read here too, on the same bytes, in one pass, and anything that is not read the same
// way by all of them is refused: the server must never accept an archive it understood otherwise.
import type { Issue } from "./types.js";

const BLOCK = 512;
/**
 * Pax and GNU long-name data. Paths over 4 KiB are refused later with a clear `bundle.path` (they
 * cost little: the framing limit of bundle-reader.ts bounds all headers together).
 */
export const MAX_EXTENDED_HEADER_BYTES = 1024 * 1024;

/** An entry as GNU tar, bsdtar and Python's tarfile all read it. */
export interface AuditedEntry {
  /** Typeflag byte as written: "0", "5", "2", …, or "\0" (an old-style regular file). */
  typeflag: string;
  /** Effective name: pax `path`, else GNU long name, else ustar prefix/name (latin1 for raw bytes). */
  name: string;
  size: number;
  /** The ustar name beside a pax `path` or GNU long name, which an extractor ignoring them would use. */
  fallbackName: string | null;
}

/** A problem that makes the rest of the archive unreadable the same way by every extractor. */
export class TarAuditFailure extends Error {
  override readonly name = "TarAuditFailure";
  constructor(
    message: string,
    readonly issueType: "bundle.format" | "bundle.limits" = "bundle.format",
  ) {
    super(message);
  }
}

// Pax records that name or size the entry are checked below; these others change nothing about
// where or what it is. Anything else (GNU.sparse.*, hdrcharset, vendor records) is refused.
const HARMLESS_PAX_KEYS = new Set([
  "mtime",
  "atime",
  "ctime",
  "uid",
  "gid",
  "uname",
  "gname",
  "comment",
  "SCHILY.dev",
  "SCHILY.ino",
  "SCHILY.nlink",
  "LIBARCHIVE.creationtime",
]);
const HARMLESS_PAX_PREFIXES = ["SCHILY.xattr.", "LIBARCHIVE.xattr."];

const USTAR_MAGIC = Buffer.from("ustar\u000000", "latin1");
const GNU_MAGIC = Buffer.from("ustar  \u0000", "latin1");

/** Typeflags whose header describes the next entry instead of being one. */
const TYPE_LABELS: Record<string, string> = {
  g: "a global extended (pax) header",
  K: "a GNU long link name",
  N: "an old GNU long name record",
  S: "a GNU sparse file",
  V: "a volume header",
  M: "a multi-volume continuation",
  D: "a GNU dump directory",
  X: "a Solaris extended header",
  I: "an inode-only entry",
};

type Pending = { kind: "pax"; records: Map<string, Buffer> } | { kind: "long-name"; name: string };

export class TarAudit {
  /** Bytes of the tar stream seen so far. */
  private offset = 0;
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Data bytes still to skip (entry contents and padding). */
  private skip = 0;
  /** Extended header data being collected, with its padding to skip afterwards. */
  private extended: { type: "x" | "L"; data: Buffer; fill: number; padding: number } | null = null;
  private pending: Pending | null = null;
  private ended = false;
  private readonly entries = new Map<number, AuditedEntry>();

  /** `issues` collects problems of single entries; archive-wide ones are thrown. */
  constructor(private readonly issues: Issue[]) {}

  /** The entry whose own header starts at this tar offset (as tar-stream reports it). */
  entryAt(offset: number): AuditedEntry | undefined {
    return this.entries.get(offset);
  }

  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.ended) {
        for (let i = at; i < chunk.length; i++) {
          if (chunk[i] !== 0) {
            throw new TarAuditFailure("the archive has data after its end-of-archive blocks");
          }
        }
        this.offset += chunk.length - at;
        return;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        this.offset += n;
        continue;
      }
      if (this.extended !== null) {
        const ext = this.extended;
        const n = Math.min(ext.data.length - ext.fill, chunk.length - at);
        chunk.copy(ext.data, ext.fill, at, at + n);
        ext.fill += n;
        at += n;
        this.offset += n;
        if (ext.fill === ext.data.length) this.endExtended();
        continue;
      }
      const n = Math.min(BLOCK - this.headerFill, chunk.length - at);
      chunk.copy(this.header, this.headerFill, at, at + n);
      this.headerFill += n;
      at += n;
      this.offset += n;
      if (this.headerFill === BLOCK) {
        this.headerFill = 0;
        this.readHeader(this.offset - BLOCK);
      }
    }
  }

  private endExtended(): void {
    const ext = this.extended!;
    this.extended = null;
    this.skip = ext.padding;
    this.pending = ext.type === "x" ? { kind: "pax", records: parsePax(ext.data) } : longName(ext.data);
  }

  /** At the end of the stream: nothing may be left half read. */
  finish(): void {
    if (this.ended) return;
    if (this.headerFill > 0 || this.extended !== null || this.skip > 0 || this.pending !== null) {
      throw new TarAuditFailure("the tar archive ends in the middle of an entry: it is truncated");
    }
  }

  private readHeader(offset: number): void {
    const header = this.header;
    if (header.every((byte) => byte === 0)) {
      if (this.pending !== null)
        throw new TarAuditFailure("the archive ends with an extended header and no entry");
      // GNU tar and tarfile stop at the first zero block; tar-stream reads on past it.
      this.ended = true;
      return;
    }
    if (octalField(header, 148, 8) !== checksumOf(header)) {
      throw new TarAuditFailure(`the tar header at byte ${offset} has a wrong checksum`);
    }
    const magic = header.subarray(257, 265);
    const isUstar = magic.equals(USTAR_MAGIC);
    if (!isUstar && !magic.equals(GNU_MAGIC)) {
      throw new TarAuditFailure(`the tar header at byte ${offset} is neither ustar, pax nor GNU`);
    }
    // In GNU headers this area holds incremental-backup times, which tarfile would read as a
    // name prefix and tar-stream ignores; plain GNU archives leave it empty.
    if (!isUstar && header.subarray(345, 500).some((byte) => byte !== 0)) {
      throw new TarAuditFailure(`the GNU tar header at byte ${offset} uses incremental or sparse fields`);
    }
    const size = sizeField(header);
    if (size === null) throw new TarAuditFailure(`the tar header at byte ${offset} has an unreadable size`);
    const typeflag = String.fromCharCode(header[156]);

    if (typeflag === "x" || typeflag === "L") {
      if (this.pending !== null) {
        throw new TarAuditFailure(`the entry at byte ${offset} has several extended headers`);
      }
      if (size > MAX_EXTENDED_HEADER_BYTES) {
        throw new TarAuditFailure(
          `the extended header at byte ${offset} is over ${MAX_EXTENDED_HEADER_BYTES} bytes`,
          "bundle.limits",
        );
      }
      this.extended = { type: typeflag, data: Buffer.alloc(size), fill: 0, padding: padding(size) };
      if (size === 0) this.endExtended();
      return;
    }
    if ("gKN".includes(typeflag)) {
      // tar-stream consumes these without reporting an entry: this is their only chance to be seen.
      this.issues.push(
        entryIssue("bundle.entry_type", `byte ${offset}`, `the archive holds ${TYPE_LABELS[typeflag]}`),
      );
      this.skip = size + padding(size);
      return;
    }

    const ustarName = ustarNameOf(header, isUstar);
    const entry = this.entryFrom(offset, typeflag, ustarName, size);
    this.entries.set(offset, entry);
    // tar-stream never skips a directory's data, so a directory with data would desynchronise it.
    const isDirectory = typeflag === "5" || (typeflag === "\u0000" && entry.name.endsWith("/"));
    if (isDirectory && entry.size !== 0) {
      throw new TarAuditFailure(`the directory entry at byte ${offset} claims ${entry.size} bytes of data`);
    }
    this.skip = entry.size + padding(entry.size);
  }

  private entryFrom(offset: number, typeflag: string, ustarName: string, size: number): AuditedEntry {
    const pending = this.pending;
    this.pending = null;
    if (pending === null) return { typeflag, name: ustarName, size, fallbackName: null };
    if (pending.kind === "long-name") return { typeflag, name: pending.name, size, fallbackName: ustarName };
    let name = ustarName;
    let fallbackName: string | null = null;
    for (const [key, value] of pending.records) {
      if (key === "path") {
        if (value.length === 0)
          throw new TarAuditFailure(`the pax header at byte ${offset} has an empty path`);
        name = value.toString("utf8");
        fallbackName = ustarName;
      } else if (key === "size") {
        const text = value.toString("latin1");
        if (!/^[0-9]{1,15}$/.test(text) || Number(text) !== size) {
          throw new TarAuditFailure(`the pax size of the entry at byte ${offset} differs from its header`);
        }
      } else if (key === "linkpath") {
        // Only links have one, and links are refused on their own.
      } else if (
        !HARMLESS_PAX_KEYS.has(key) &&
        !HARMLESS_PAX_PREFIXES.some((prefix) => key.startsWith(prefix))
      ) {
        const shown = key.length > 60 ? `${key.slice(0, 60)}…` : key;
        this.issues.push(
          entryIssue(
            "bundle.entry_type",
            name,
            `the pax header of ${JSON.stringify(name.slice(0, 300))} has an unsupported record ${JSON.stringify(shown)}`,
          ),
        );
      }
    }
    return { typeflag, name, size, fallbackName };
  }
}

/** Label of an entry type that tar-stream reports as an entry of unknown type. */
export function typeflagLabel(typeflag: string): string | undefined {
  return TYPE_LABELS[typeflag];
}

/** `<length> <key>=<value>\n` records, read strictly: tar-stream stops quietly at a bad one. */
function parsePax(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const lengthText = space === -1 ? "" : data.toString("latin1", at, space);
    const length = /^[1-9][0-9]{0,6}$/.test(lengthText) ? Number(lengthText) : 0;
    const end = at + length;
    if (length === 0 || end > data.length || data[end - 1] !== 0x0a) {
      throw new TarAuditFailure("the archive has a malformed pax header");
    }
    const record = data.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw new TarAuditFailure("the archive has a malformed pax header");
    const key = record.toString("utf8", 0, equals);
    if (records.has(key)) throw new TarAuditFailure(`the archive has a pax header with ${key} twice`);
    records.set(key, record.subarray(equals + 1));
    at = end;
  }
  return records;
}

function longName(data: Buffer): Pending {
  const nul = data.indexOf(0);
  const name = data.toString("latin1", 0, nul === -1 ? data.length : nul);
  if (name === "") throw new TarAuditFailure("the archive has an empty GNU long name");
  return { kind: "long-name", name };
}

function ustarNameOf(header: Buffer, isUstar: boolean): string {
  const name = cString(header, 0, 100);
  const prefix = isUstar ? cString(header, 345, 155) : "";
  return prefix === "" ? name : `${prefix}/${name}`;
}

function cString(buffer: Buffer, start: number, length: number): string {
  const end = buffer.indexOf(0, start);
  return buffer.toString("latin1", start, end === -1 || end > start + length ? start + length : end);
}

/** An octal number field as GNU tar reads it (leading spaces, then digits, then NULs or spaces). */
function octalField(header: Buffer, start: number, length: number): number | null {
  const text = header
    .toString("latin1", start, start + length)
    .replace(/^ +/, "")
    .replace(/[ \u0000]+$/, "");
  if (text === "") return 0;
  return /^[0-7]+$/.test(text) ? Number.parseInt(text, 8) : null;
}

/** Octal, or GNU base-256 (first byte 0x80) for sizes of 8 GiB and more. */
function sizeField(header: Buffer): number | null {
  if (header[124] === 0x80) {
    let size = 0;
    for (let i = 125; i < 136; i++) size = size * 256 + header[i];
    return size;
  }
  return octalField(header, 124, 12);
}

function checksumOf(header: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += header[i];
  return sum;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function entryIssue(type: string, where: string, msg: string): Issue {
  return { loc: ["bundle", where.length <= 300 ? where : `${where.slice(0, 300)}…`], msg, type };
}
