// Builds tar and tar.gz archives byte by byte, so tests can craft the hostile entries a real packer
// refuses to write (`../` names, invalid UTF-8, devices, duplicates) as well as ordinary bundles.
// Output is deterministic: mtime 0, uid/gid 0, mode 0644 (files) or 0755 (directories) by default.
import { constants, crc32, deflateRawSync, gzipSync } from "node:zlib";

export type TarEntryType =
  | "file"
  | "directory"
  | "symlink"
  | "link"
  | "char"
  | "block"
  | "fifo"
  | "contiguous";

export interface TarEntry {
  /** Written as given (a Buffer for raw bytes). Names over 100 bytes go into a pax `path` record. */
  name: string | Buffer;
  type?: TarEntryType;
  content?: Buffer | string;
  linkname?: string;
  /** Seconds since the epoch; overrides the archive-wide mtime. */
  mtime?: number;
  mode?: number;
  /** Size written in the header, when it should differ from the content's (a lying header). */
  declaredSize?: number;
  /** Records of a pax extended header written just before the entry, e.g. `{ path: "a\0b" }`. */
  pax?: Record<string, string | Buffer>;
  /** A GNU long-name (`L`) record written just before the entry (after any pax header). */
  gnuLongName?: string | Buffer;
  /** Raw extended records written just before the entry, e.g. `{ typeflag: "K", data: "target" }`. */
  extended?: { typeflag: string; data: string | Buffer }[];
  /** Typeflag byte written as is, overriding `type` (e.g. "S", "V", "\0"). */
  typeflag?: string;
  /** Header magic: POSIX ustar (default) or GNU (`ustar  \0`). */
  format?: "ustar" | "gnu";
  /** The ustar prefix field (bytes 345–500). */
  prefix?: string | Buffer;
}

export interface TarOptions {
  /** Default mtime of every entry, in seconds. */
  mtime?: number;
  /** Leave out the two zero blocks that end an archive. */
  omitEndOfArchive?: boolean;
  /** Pax global header records written first. */
  globalPax?: Record<string, string | Buffer>;
  /** Bytes written after the end-of-archive blocks. */
  trailing?: Buffer;
  /** zlib level for buildTarGz; 1 packs large test bundles several times faster. */
  gzipLevel?: number;
}

const BLOCK = 512;

const TYPE_FLAGS: Record<TarEntryType | "pax" | "global-pax", string> = {
  file: "0",
  link: "1",
  symlink: "2",
  char: "3",
  block: "4",
  directory: "5",
  fifo: "6",
  contiguous: "7",
  pax: "x",
  "global-pax": "g",
};

export function buildTarGz(entries: TarEntry[], opts: TarOptions = {}): Buffer {
  return gzipSync(buildTar(entries, opts), { level: opts.gzipLevel ?? constants.Z_DEFAULT_COMPRESSION });
}

export function buildTar(entries: TarEntry[], opts: TarOptions = {}): Buffer {
  const blocks: Buffer[] = [];
  if (opts.globalPax) blocks.push(...paxBlocks("pax_global_header", opts.globalPax, "global-pax"));
  for (const entry of entries) blocks.push(...entryBlocks(entry, opts));
  if (!opts.omitEndOfArchive) blocks.push(Buffer.alloc(2 * BLOCK));
  if (opts.trailing) blocks.push(opts.trailing);
  return Buffer.concat(blocks);
}

function entryBlocks(entry: TarEntry, opts: TarOptions): Buffer[] {
  const content = Buffer.from(entry.content ?? "");
  const name = Buffer.from(entry.name);
  const pax = { ...entry.pax };
  if (name.length > 100 && pax.path === undefined) pax.path = name;
  const blocks = Object.keys(pax).length > 0 ? paxBlocks("pax_header", pax, "pax") : [];
  if (entry.gnuLongName !== undefined) {
    const data = Buffer.concat([Buffer.from(entry.gnuLongName), Buffer.alloc(1)]);
    blocks.push(
      tarHeader({ name: "././@LongLink", typeflag: "L", size: data.length, format: "gnu" }),
      padToBlock(data),
    );
  }
  for (const { typeflag, data } of entry.extended ?? []) {
    const bytes = Buffer.from(data);
    blocks.push(
      tarHeader({ name: "././@Extended", typeflag, size: bytes.length, format: entry.format }),
      padToBlock(bytes),
    );
  }
  const header = tarHeader({
    name: name.subarray(0, 100),
    type: entry.type ?? "file",
    typeflag: entry.typeflag,
    size: entry.declaredSize ?? content.length,
    mode: entry.mode,
    mtime: entry.mtime ?? opts.mtime,
    linkname: entry.linkname,
    format: entry.format,
    prefix: entry.prefix,
  });
  return [...blocks, header, padToBlock(content)];
}

export interface TarHeaderFields {
  name: string | Buffer;
  type?: TarEntryType | "pax" | "global-pax";
  size?: number;
  mode?: number;
  mtime?: number;
  linkname?: string;
  /** Raw typeflag byte, overriding `type`. */
  typeflag?: string;
  format?: "ustar" | "gnu";
  prefix?: string | Buffer;
}

/** One 512-byte ustar (or GNU) header. */
export function tarHeader(fields: TarHeaderFields): Buffer {
  const type = fields.type ?? "file";
  const header = Buffer.alloc(BLOCK);
  Buffer.from(fields.name).copy(header, 0, 0, 100);
  writeOctal(header, 100, 8, fields.mode ?? (type === "directory" ? 0o755 : 0o644));
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeSize(header, fields.size ?? 0);
  writeOctal(header, 136, 12, fields.mtime ?? 0);
  header.write(fields.typeflag ?? TYPE_FLAGS[type], 156, "latin1");
  if (fields.linkname) header.write(fields.linkname, 157, 100, "utf8");
  header.write(fields.format === "gnu" ? "ustar  \u0000" : "ustar\u000000", 257, "latin1");
  if (fields.prefix !== undefined) Buffer.from(fields.prefix).copy(header, 345, 0, 155);
  header.write("root", 265, "latin1");
  header.write("root", 297, "latin1");
  writeOctal(header, 329, 8, 0);
  writeOctal(header, 337, 8, 0);
  // The checksum is computed with its own field filled with spaces.
  header.fill(" ", 148, 156);
  let checksum = 0;
  for (const byte of header) checksum += byte;
  header.write(`${checksum.toString(8).padStart(6, "0")}\u0000 `, 148, "latin1");
  return header;
}

function paxBlocks(
  name: string,
  records: Record<string, string | Buffer>,
  type: "pax" | "global-pax",
): Buffer[] {
  const body = Buffer.concat(
    Object.entries(records).map(([key, value]) => paxRecord(key, Buffer.from(value))),
  );
  return [tarHeader({ name, type, size: body.length }), padToBlock(body)];
}

/** `<length> <key>=<value>\n`, where the length counts its own digits. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from("\n")]);
  let length = rest.length + 1;
  while (String(length).length + rest.length !== length) length += 1;
  return Buffer.concat([Buffer.from(String(length)), rest]);
}

function padToBlock(data: Buffer): Buffer {
  const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return Buffer.concat([data, Buffer.alloc(padding)]);
}

function writeOctal(header: Buffer, offset: number, width: number, value: number) {
  header.write(`${value.toString(8).padStart(width - 1, "0")}\u0000`, offset, "latin1");
}

function writeSize(header: Buffer, size: number) {
  if (size < 8 ** 11) {
    writeOctal(header, 124, 12, size);
    return;
  }
  // GNU base-256: sizes of 8 GiB and more do not fit 11 octal digits.
  header[124] = 0x80;
  let rest = size;
  for (let offset = 135; offset > 124; offset--) {
    header[offset] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}

export interface RepeatedChunk {
  chunk: Buffer;
  times: number;
}

/**
 * A gzip stream of `chunk` repeated `times`, for each part in order, built without ever holding the
 * inflated bytes: each distinct chunk is compressed once with a full flush (which leaves no
 * back-reference into earlier data), so its deflate blocks can be repeated as they are. Zeros
 * compress about 1000:1, so 4 GiB of them come to about 4 MB.
 */
export function gzipRepeatedChunks(parts: RepeatedChunk[]): Buffer {
  const gzipHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  const body: Buffer[] = [];
  const compressed = new Map<Buffer, Buffer>();
  let crc = 0;
  let totalBytes = 0;
  for (const { chunk, times } of parts) {
    let blocks = compressed.get(chunk);
    if (blocks === undefined) {
      blocks = deflateRawSync(chunk, { level: 9, finishFlush: constants.Z_FULL_FLUSH });
      compressed.set(chunk, blocks);
    }
    for (let i = 0; i < times; i++) {
      body.push(blocks);
      crc = crc32(chunk, crc);
    }
    totalBytes += chunk.length * times;
  }
  const finalBlock = deflateRawSync(Buffer.alloc(0));
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(totalBytes % 2 ** 32, 4);
  return Buffer.concat([gzipHeader, ...body, finalBlock, trailer]);
}
