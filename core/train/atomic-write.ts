import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Hooks into {@link writeFileAtomic}; tests use `beforeRename` to simulate a crash between write and rename. */
export interface AtomicWriteHooks {
  /** Called after the temporary file is written and synced, before it replaces the target. */
  readonly beforeRename?: (tempPath: string) => void;
}

/**
 * Writes `chunks` to `path` so that a reader sees either the previous file or the complete new one, never a torn
 * write: temp file in the same folder, fsync, rename over the target, fsync the folder (so the rename itself
 * survives a power loss). On failure the temp file is removed and the previous file is left as it was.
 */
export function writeFileAtomic(path: string, chunks: readonly Uint8Array[], hooks: AtomicWriteHooks = {}): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(temp, 'w');
    try {
      for (const chunk of chunks) {
        let written = 0;
        while (written < chunk.byteLength) written += writeSync(fd, chunk, written, chunk.byteLength - written);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    hooks.beforeRename?.(temp);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  syncDirectory(dirname(path));
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
