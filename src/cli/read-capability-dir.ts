// Reads a capability directory into the in-memory shape the domain validates (and `pack` archives).
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Every regular file below `dir`, keyed by its `/`-separated path relative to `dir`, dotfiles
 * included. Symbolic links (and sockets, FIFOs…) are skipped: a bundle may hold only regular files,
 * and following a link could pull in files from outside the directory.
 */
export async function readCapabilityDir(
  dir: string,
  skip: SkipPath = () => false,
): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  await collect(dir, "", files, skip);
  return files;
}

/**
 * Says whether to leave out a path (relative, `/`-separated); a directory left out is not read at
 * all, so a `node_modules` or `.git` costs nothing.
 */
export type SkipPath = (path: string, isDirectory: boolean) => boolean;

async function collect(
  root: string,
  prefix: string,
  files: Map<string, Buffer>,
  skip: SkipPath,
): Promise<void> {
  const entries = await readdir(join(root, prefix), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!skip(path, true)) await collect(root, path, files, skip);
    } else if (entry.isFile() && !skip(path, false)) files.set(path, await readFile(join(root, path)));
  }
}
