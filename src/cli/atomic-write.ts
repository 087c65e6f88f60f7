// Files that other programs read (archives, capabilities.env, resolved.json) are replaced in one
// step: written beside the target, then renamed over it, so a reader sees the old or the new file,
// never half of one. The data is flushed before the rename, so that after a power cut the name
// points at the old content or the complete new one, not at an empty file.
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { CliError } from "./cli-errors.js";

export async function writeFileAtomically(file: string, data: Buffer | string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`,
  );
  try {
    const handle = await open(temporary, "wx");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(`cannot write ${file}: ${(error as Error).message}`);
  }
}
